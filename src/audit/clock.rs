//! The wall clock that stamps records and decides daily rotation, replaceable so that a test can
//! cross midnight without waiting for it. Checkpoint intervals use the monotonic clock instead.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's UTC time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
