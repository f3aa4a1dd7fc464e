//! The tamper-evident audit log: every decision the gateway makes, hash-chained, fsynced before the
//! request goes anywhere, signed at checkpoints, and never holding a raw value.
//!
//! Writing: [`AuditLog::open`] with an [`AuditConfig`], then [`AuditLog::append`] an [`Event`]
//! (built with [`EntityEvidence`] for the entities) and await its [`Receipt`]. Reading: [`verify`],
//! [`query`], [`stats`] and [`report`] back the `sluice audit` commands. The on-disk format is
//! documented in audit/README.md so that a reviewer can verify a log without sluice.

pub mod body;
mod cadence;
pub mod chain;
pub mod checkpoint;
pub mod clock;
pub mod config;
pub mod costs;
pub mod error;
pub mod evidence;
pub mod files;
pub mod fingerprint;
pub mod keys;
pub mod lock;
pub mod log;
pub mod query;
pub mod reader;
pub mod record;
mod recover;
pub mod report;
pub mod stats;
pub mod verify;
mod writer;

pub use body::{
    Action, Attempt, BackendRef, Body, DecisionRecord, EscalationNote, Event, OutcomeRecord,
    PolicyLoaded, PolicyRef, PolicyRejected, RefusedRecord, SkippedDetector,
};
pub use chain::ChainHash;
pub use checkpoint::Checkpoint;
pub use clock::{Clock, SystemClock};
pub use config::AuditConfig;
pub use error::AuditError;
pub use evidence::{EntityEvidence, EntitySummary, Evidence};
pub use fingerprint::{Fingerprint, Fingerprinter};
pub use log::AuditLog;
pub use record::Kind;
pub use writer::Receipt;
