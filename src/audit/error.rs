//! Errors of the audit log, worded for the operator who has to act on them.
//!
//! Append errors are `Clone` in spirit (a failed group commit answers every submitter in the batch),
//! so the variants a submitter can see carry messages, not `io::Error`s. No variant ever carries a
//! value from a request: entity values are fingerprinted before they reach this module.

use std::path::PathBuf;

/// Everything that can go wrong opening, writing or reading the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file or directory could not be read, created or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the log's lock file.
    #[error("audit log {} is already open in another process ({holder}); two writers would fork the chain", dir.display())]
    Locked { dir: PathBuf, holder: String },
    /// A key file is missing, malformed or too widely readable.
    #[error("{}: {message}", path.display())]
    Key { path: PathBuf, message: String },
    /// The `[audit]` configuration cannot work.
    #[error("[audit] config: {0}")]
    Config(String),
    /// The existing log is damaged in a way that cutting a torn tail cannot repair.
    #[error("{}:{line}: {message}", file.display())]
    Corrupt {
        file: PathBuf,
        line: u64,
        message: String,
    },
    /// The write or fsync of the batch holding this record failed; the record is not in the log.
    #[error("audit write failed, the record was not written: {0}")]
    Write(String),
    /// An earlier write failed and the log could not yet be brought back to its last durable state.
    #[error("audit log unavailable after a write failure ({0}); records are refused until it can be repaired")]
    Unavailable(String),
    /// The log was shut down (or its writer stopped); nothing more can be appended.
    #[error("audit log is closed")]
    Closed,
    /// An entity type outside the catalog was given to the evidence builder. The offending string is
    /// deliberately not shown: a swapped argument would put the raw value here.
    #[error("unknown entity type given to the audit evidence builder (the string is not shown, it may be a value)")]
    UnknownEntityType,
    /// An entity's code point span does not lie inside the text it was said to come from.
    #[error("entity span {start}..{end} is outside the text ({len} code points)")]
    BadSpan {
        start: usize,
        end: usize,
        len: usize,
    },
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            path: path.into(),
            source,
        }
    }
}
