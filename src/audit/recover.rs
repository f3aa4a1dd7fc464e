//! Start-up recovery: find where the log really ends and cut what a crash left half-written.
//!
//! A group commit is one `write` of many lines followed by an fsync; a crash can leave a prefix of
//! it: whole lines and then a torn one. Every acknowledged record was fsynced, so anything after the
//! last newline was never acknowledged and is cut (its size and SHA-256 go into a `recovered`
//! record). A last complete line that does not hold a valid record is not a torn write: the log
//! refuses to open and names the line, because cutting it could destroy evidence.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::body::{Body, Recovered, RecoveryCause};
use super::error::AuditError;
use super::files::{list_log_files, log_file_name, sync_dir, Modes};
use super::record::{StoredRecord, MAX_LINE_BYTES};

/// Where a file's complete lines end and what its last complete line is.
#[derive(Debug)]
pub(crate) struct Tail {
    /// Length of the file up to and including its last newline.
    pub good_len: u64,
    /// The last complete line (without its newline) and its byte offset.
    pub last_line: Option<(u64, Vec<u8>)>,
}

/// Scans backwards from `len` for the last complete line, reading only the end of the file.
pub(crate) fn scan_tail(file: &mut File, len: u64) -> std::io::Result<Tail> {
    let mut window = len.min(64 * 1024);
    loop {
        let start = len - window;
        let mut buf = vec![0u8; window as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        let Some(last_nl) = buf.iter().rposition(|b| *b == b'\n') else {
            if start == 0 {
                return Ok(Tail {
                    good_len: 0,
                    last_line: None,
                });
            }
            window = grow(window, len);
            continue;
        };
        let line_start = match buf[..last_nl].iter().rposition(|b| *b == b'\n') {
            Some(p) => p + 1,
            None if start == 0 => 0,
            None => {
                window = grow(window, len);
                continue;
            }
        };
        return Ok(Tail {
            good_len: start + last_nl as u64 + 1,
            last_line: Some((start + line_start as u64, buf[line_start..last_nl].to_vec())),
        });
    }
}

fn grow(window: u64, len: u64) -> u64 {
    window.saturating_mul(4).min(len)
}

/// The first line of a file, if it has a complete one.
pub(crate) fn read_first_line(path: &Path) -> Result<Option<Vec<u8>>, AuditError> {
    let file = File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut reader = BufReader::new(file).take(MAX_LINE_BYTES as u64 + 1);
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| AuditError::io(path, e))?;
    if line.pop() == Some(b'\n') {
        Ok(Some(line))
    } else {
        Ok(None)
    }
}

/// The 1-based line number of the line starting at byte `offset`, for error messages.
fn line_number_at(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else { return 0 };
    let mut reader = BufReader::new(file).take(offset);
    let mut newlines = 0u64;
    let mut chunk = [0u8; 64 * 1024];
    while let Ok(n) = reader.read(&mut chunk) {
        if n == 0 {
            break;
        }
        newlines += chunk[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    newlines + 1
}

/// The state the writer continues from.
#[derive(Debug)]
pub(crate) struct Resume {
    pub file_index: u64,
    pub file_path: PathBuf,
    pub file: File,
    pub durable_len: u64,
    /// The last good record; `None` for a new log.
    pub last: Option<StoredRecord>,
    /// The first record of the current file (gives the log id and the file's day).
    pub first: Option<StoredRecord>,
    /// What was cut, to be recorded once the chain is known.
    pub recovered: Option<Recovered>,
}

/// Finds the end of the log in `dir`, cutting a torn tail, and opens the file to continue.
pub(crate) fn resume(dir: &Path, modes: &Modes) -> Result<Resume, AuditError> {
    let mut files = list_log_files(dir)?;
    let mut cut_bytes = 0u64;
    let mut cut_hash = Sha256::new();
    let mut removed_file = None;
    while let Some((index, path)) = files.pop() {
        let mut file = modes.open_append(&path)?;
        let len = file.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        let tail = scan_tail(&mut file, len).map_err(|e| AuditError::io(&path, e))?;
        let torn = len - tail.good_len;
        if torn > 0 {
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(tail.good_len))
                .and_then(|_| file.by_ref().take(torn).read_to_end(&mut bytes))
                .map_err(|e| AuditError::io(&path, e))?;
            cut_hash.update(&bytes);
            cut_bytes += torn;
        }
        let Some((line_start, line)) = tail.last_line else {
            if files.is_empty() {
                truncate(&mut file, &path, 0)?;
                return Ok(Resume {
                    file_index: index,
                    file_path: path,
                    file,
                    durable_len: 0,
                    last: None,
                    first: None,
                    recovered: recovered(cut_bytes, cut_hash, index, 0, removed_file),
                });
            }
            drop(file);
            fs::remove_file(&path).map_err(|e| AuditError::io(&path, e))?;
            sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;
            removed_file = Some(log_file_name(index));
            continue;
        };
        let corrupt = |message: String| AuditError::Corrupt {
            file: path.clone(),
            line: line_number_at(&path, line_start),
            message,
        };
        let last = StoredRecord::parse(&line).map_err(|e| {
            corrupt(format!(
                "the last complete record does not parse ({e}); this is not a torn write, so sluice will not cut it: run `sluice audit verify` and inspect the file"
            ))
        })?;
        if last.computed_hash() != last.hash {
            return Err(corrupt(
                "the last complete record's hash does not match its contents; run `sluice audit verify` and inspect the file".into(),
            ));
        }
        if torn > 0 {
            truncate(&mut file, &path, tail.good_len)?;
        }
        let first = read_first_line(&path)?
            .map(|l| StoredRecord::parse(&l))
            .transpose()
            .map_err(|e| AuditError::Corrupt {
                file: path.clone(),
                line: 1,
                message: format!("the file's first record does not parse ({e})"),
            })?;
        let last_seq = last.seq;
        return Ok(Resume {
            file_index: index,
            file_path: path,
            file,
            durable_len: tail.good_len,
            last: Some(last),
            first,
            recovered: recovered(cut_bytes, cut_hash, index, last_seq, removed_file),
        });
    }
    let path = dir.join(log_file_name(1));
    let file = modes.open_append(&path)?;
    sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;
    Ok(Resume {
        file_index: 1,
        file_path: path,
        file,
        durable_len: 0,
        last: None,
        first: None,
        recovered: None,
    })
}

fn truncate(file: &mut File, path: &Path, len: u64) -> Result<(), AuditError> {
    file.set_len(len)
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(path, e))
}

fn recovered(
    cut_bytes: u64,
    cut_hash: Sha256,
    index: u64,
    last_good_seq: u64,
    removed_file: Option<String>,
) -> Option<Recovered> {
    (cut_bytes > 0 || removed_file.is_some()).then(|| Recovered {
        cause: RecoveryCause::TornTail,
        file: log_file_name(index),
        cut_bytes,
        cut_sha256: hex::encode(cut_hash.finalize()),
        last_good_seq,
        removed_file,
    })
}

/// The log id named by a file's first record (its genesis or rotated record).
pub(crate) fn log_id_of(first: &StoredRecord, path: &Path) -> Result<String, AuditError> {
    let bad = |message: String| AuditError::Corrupt {
        file: path.to_path_buf(),
        line: 1,
        message,
    };
    match Body::parse(first.kind, &first.body) {
        Ok(Body::Genesis(g)) => Ok(g.log_id),
        Ok(Body::Rotated(r)) => Ok(r.log_id),
        Ok(_) => Err(bad(format!(
            "a log file must start with a genesis or rotated record, found {}",
            first.kind
        ))),
        Err(e) => Err(bad(format!(
            "the file's first record body does not parse ({e})"
        ))),
    }
}

/// Opens an existing file for appending without creating it (used to re-open after a failure).
pub(crate) fn reopen(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(content: &[u8]) -> Tail {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(content).unwrap();
        scan_tail(&mut f, content.len() as u64).unwrap()
    }

    #[test]
    fn finds_last_complete_line() {
        let t = tail_of(b"one\ntwo\nthr");
        assert_eq!(t.good_len, 8);
        assert_eq!(t.last_line, Some((4, b"two".to_vec())));
        let t = tail_of(b"only\n");
        assert_eq!(t.last_line, Some((0, b"only".to_vec())));
        let t = tail_of(b"torn");
        assert_eq!((t.good_len, t.last_line), (0, None));
        let t = tail_of(b"");
        assert_eq!((t.good_len, t.last_line), (0, None));
    }

    #[test]
    fn long_lines_grow_the_window() {
        let long = vec![b'x'; 300_000];
        let mut content = b"first\n".to_vec();
        content.extend_from_slice(&long);
        content.push(b'\n');
        content.extend_from_slice(&vec![b'y'; 200_000]);
        let t = tail_of(&content);
        assert_eq!(t.good_len, 6 + 300_001);
        assert_eq!(t.last_line, Some((6, long)));
    }
}
