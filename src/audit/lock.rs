//! The lock file that keeps a second process from writing the same log (which would fork the
//! chain). `flock` is released by the kernel when the holder exits, so a crash never leaves a
//! stale lock; the holder's pid is written into the file only to name it in the error.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use super::error::AuditError;
use super::files::{Modes, LOCK_FILE};

/// Held for as long as the writer runs; dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(dir: &Path, modes: &Modes) -> Result<DirLock, AuditError> {
        let path = dir.join(LOCK_FILE);
        let mut file = modes.open_append(&path)?;
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut holder = String::new();
                let _ = file.seek(SeekFrom::Start(0));
                let _ = Read::by_ref(&mut file).take(64).read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "pid unknown".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(AuditError::Locked {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            return Err(AuditError::io(&path, err));
        }
        file.set_len(0)
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .map_err(|e| AuditError::io(&path, e))?;
        Ok(DirLock { _file: file })
    }
}
