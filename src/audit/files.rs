//! The log directory: file names, permissions, durable creation.
//!
//! Files are `log-000001.jsonl`, `log-000002.jsonl`, ... (the number is the file's position in the
//! chain, so a missing file shows as a gap), `anchors.jsonl` and the lock file `.lock`. Records hold
//! no raw PII, but they are still evidence: files are 0600 and the directory 0700, or 0640/0750
//! owned by a configured group that may read them.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::AuditError;

pub const ANCHORS_FILE: &str = "anchors.jsonl";
pub const LOCK_FILE: &str = ".lock";
const LOG_PREFIX: &str = "log-";
const LOG_SUFFIX: &str = ".jsonl";

/// The name of the log file at `index` (1-based).
pub fn log_file_name(index: u64) -> String {
    format!("{LOG_PREFIX}{index:06}{LOG_SUFFIX}")
}

/// The index of a log file name, if it is one.
pub fn log_file_index(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(LOG_PREFIX)?.strip_suffix(LOG_SUFFIX)?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|i| *i > 0)
}

/// The log files in `dir`, in chain order.
pub fn list_log_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| AuditError::io(dir, e))? {
        let entry = entry.map_err(|e| AuditError::io(dir, e))?;
        if let Some(index) = entry.file_name().to_str().and_then(log_file_index) {
            files.push((index, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// Permissions and ownership for what the writer creates.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    pub file: u32,
    pub dir: u32,
    pub gid: Option<u32>,
}

impl Modes {
    pub fn new(group: Option<&str>) -> Result<Modes, AuditError> {
        match group {
            None => Ok(Modes {
                file: 0o600,
                dir: 0o700,
                gid: None,
            }),
            Some(name) => Ok(Modes {
                file: 0o640,
                dir: 0o750,
                gid: Some(group_id(name)?),
            }),
        }
    }

    /// Creates the directory if needed and sets its mode and group.
    pub fn prepare_dir(&self, dir: &Path) -> Result<(), AuditError> {
        fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(self.dir))
            .map_err(|e| AuditError::io(dir, e))?;
        if let Some(gid) = self.gid {
            std::os::unix::fs::chown(dir, None, Some(gid)).map_err(|e| AuditError::io(dir, e))?;
        }
        Ok(())
    }

    /// Applies mode and group to an open file (whatever the umask did at creation).
    pub fn apply(&self, file: &File) -> std::io::Result<()> {
        file.set_permissions(fs::Permissions::from_mode(self.file))?;
        if let Some(gid) = self.gid {
            std::os::unix::fs::fchown(file, None, Some(gid))?;
        }
        Ok(())
    }

    /// Opens `path` for appending, creating it if needed, with this mode.
    pub fn open_append(&self, path: &Path) -> Result<File, AuditError> {
        let file = OpenOptions::new()
            .append(true)
            .read(true)
            .create(true)
            .mode(self.file)
            .open(path)
            .map_err(|e| AuditError::io(path, e))?;
        self.apply(&file).map_err(|e| AuditError::io(path, e))?;
        Ok(file)
    }
}

/// fsyncs a directory, making file creations and removals in it durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn group_id(name: &str) -> Result<u32, AuditError> {
    let not_found = || AuditError::Config(format!("group `{name}` does not exist"));
    let cname = CString::new(name).map_err(|_| not_found())?;
    let mut group: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: every pointer is valid for the call; getgrnam_r writes only into `group` and `buf`.
    let rc = unsafe {
        libc::getgrnam_r(
            cname.as_ptr(),
            &mut group,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return Err(not_found());
    }
    Ok(group.gr_gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_and_parse() {
        assert_eq!(log_file_name(1), "log-000001.jsonl");
        assert_eq!(log_file_index("log-000001.jsonl"), Some(1));
        assert_eq!(log_file_index("log-1234567.jsonl"), Some(1_234_567));
        assert_eq!(log_file_index("log-000000.jsonl"), None);
        assert_eq!(log_file_index("log-1.jsonl"), None);
        assert_eq!(log_file_index("anchors.jsonl"), None);
        assert_eq!(log_file_index("log-00000a.jsonl"), None);
    }

    #[test]
    fn unknown_group_is_a_config_error() {
        let err = Modes::new(Some("no-such-group-sluice")).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
        assert_eq!(Modes::new(Some("root")).unwrap().gid, Some(0));
    }
}
