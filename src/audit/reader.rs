//! Reading the log back in chain order, line by line, with each line's file and line number.
//!
//! Lines are read with a length cap ([`MAX_LINE_BYTES`]) so a hostile or damaged file cannot make a
//! reader allocate without bound.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::files::list_log_files;
use super::record::{StoredRecord, MAX_LINE_BYTES};

/// Where a line is: file and 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One line as read.
pub enum Line<'a> {
    /// A line ending in a newline (the newline removed).
    Complete(&'a [u8]),
    /// Bytes at the end of the file with no newline after them.
    Torn(usize),
    /// A line longer than any record the writer produces.
    TooLong,
}

/// Reads a file's lines one at a time.
pub struct LineReader {
    reader: BufReader<File>,
    line: u64,
    buf: Vec<u8>,
}

impl LineReader {
    pub fn open(path: &Path) -> std::io::Result<LineReader> {
        Ok(LineReader {
            reader: BufReader::with_capacity(256 * 1024, File::open(path)?),
            line: 0,
            buf: Vec::with_capacity(4096),
        })
    }

    /// The next line and its 1-based number.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let n = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            Ok(Some((self.line, Line::Complete(&self.buf))))
        } else if self.buf.len() > MAX_LINE_BYTES {
            Ok(Some((self.line, Line::TooLong)))
        } else {
            Ok(Some((self.line, Line::Torn(self.buf.len()))))
        }
    }
}

/// A line that could not be read as a record.
#[derive(Debug, Clone)]
pub struct ReadError {
    pub location: Option<Location>,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ReadError {}

impl ReadError {
    /// A record whose body does not parse as its kind's (the reader does not check bodies;
    /// `verify` does, and says more).
    pub fn unparsable_body(
        location: &Location,
        kind: super::record::Kind,
        error: &serde_json::Error,
    ) -> ReadError {
        ReadError {
            location: Some(location.clone()),
            message: format!("{kind} body does not parse ({error}); run `sluice audit verify`"),
        }
    }
}

/// Visits every record of the log in `dir` in order, without checking the chain (that is
/// [`super::verify`]'s job). A torn last line is skipped; any other unreadable line is an error.
pub fn read_records(
    dir: &Path,
    mut visit: impl FnMut(&Location, &StoredRecord) -> ControlFlow<()>,
) -> Result<(), ReadError> {
    let files = list_log_files(dir).map_err(|e| ReadError {
        location: None,
        message: e.to_string(),
    })?;
    if files.is_empty() {
        return Err(ReadError {
            location: None,
            message: format!("no audit log files (log-NNNNNN.jsonl) in {}", dir.display()),
        });
    }
    for (_, path) in files {
        let io_error = |e: std::io::Error| ReadError {
            location: None,
            message: format!("{}: {e}", path.display()),
        };
        let mut reader = LineReader::open(&path).map_err(io_error)?;
        while let Some((number, line)) = reader.next_line().map_err(io_error)? {
            let location = Location {
                file: path.clone(),
                line: number,
            };
            let bytes = match line {
                Line::Complete(bytes) => bytes,
                Line::Torn(_) => break,
                Line::TooLong => {
                    return Err(ReadError {
                        location: Some(location),
                        message: "line too long to be a record".into(),
                    })
                }
            };
            let record = StoredRecord::parse(bytes).map_err(|e| ReadError {
                location: Some(location.clone()),
                message: format!("not a valid record ({e}); run `sluice audit verify`"),
            })?;
            if visit(&location, &record).is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}
