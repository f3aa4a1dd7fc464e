//! Where checkpoints must be, so that deleting one is caught.
//!
//! A checkpoint's signature proves the records before it, but nothing proves a checkpoint that is
//! gone: delete every checkpoint after some record, rewrite what follows and recompute the hashes,
//! and the rewritten records merely look "not signed yet". So the log itself says where its
//! checkpoints are. Every writer signs a checkpoint right after its shutdown record. A writer whose
//! startup record declares `strict_checkpoints` also signs right after that startup record and as
//! soon as `checkpoint_every_records` submitted records ([`Kind::is_submitted`]) are unsigned.
//! Records after the last checkpoint are then acceptable only while the log is open (no shutdown
//! since its last startup) and, under a strict writer, only up to its cadence. Submitted records
//! exist only while a writer runs: between a startup record and its shutdown record.
//!
//! A `recovered` record may stand where a checkpoint was due: the writer cut an unfinished write
//! there (a crash or a failed write), and a later checkpoint covers the cut. It cannot excuse a
//! missing final checkpoint, since the shutdown record then stays unsigned.

use super::body::{Body, Startup};
use super::reader::Location;
use super::record::Kind;
use super::verify::Failure;

/// A writer's run, as its startup record declares it.
struct Run {
    startup: Location,
    strict: bool,
    every: u64,
    /// Where it shut down, once it has.
    shut_down: Option<(Location, u64)>,
}

/// A record after which the next one must be a checkpoint.
enum Due {
    Startup(Location, u64),
    Shutdown(Location, u64),
}

/// Follows the run structure of a log, record by record, and says where a checkpoint is missing.
#[derive(Default)]
pub(crate) struct Cadence {
    run: Option<Run>,
    due: Option<Due>,
    /// Submitted records since the last checkpoint.
    submitted: u64,
    /// The last checkpoint's covered seq, for messages.
    last_checkpoint: Option<u64>,
    /// The first submitted record beyond a strict run's cadence. Reported at the next record
    /// unless that is a checkpoint whose own failure says more (records inserted before it).
    overdue: Option<Failure>,
    /// A shutdown record that no checkpoint follows yet.
    unsigned_shutdown: Option<(Location, u64)>,
    /// The first strict startup record: a later one that is not strict is a downgrade.
    first_strict: Option<Location>,
    /// Startup records that do not declare strict checkpoints (logs written before them).
    unchecked: Vec<(Location, u64, String)>,
}

/// What the cadence says about a log that passed.
pub(crate) struct CadenceSummary {
    /// The checkpoint interval of the writer that has the log open, if it is open and strict.
    pub open_strict_every: Option<u64>,
    /// True if the last writer shut down (nothing may be unsigned).
    pub closed: bool,
    pub warnings: Vec<String>,
}

fn failure(location: &Location, seq: u64, message: String) -> Failure {
    Failure {
        location: Some(location.clone()),
        seq: Some(seq),
        message,
    }
}

impl Cadence {
    /// Takes the next record (already checked for its chain links, body and, for a checkpoint,
    /// signature) and fails if it shows that a checkpoint was removed or a record added.
    pub(crate) fn record(
        &mut self,
        kind: Kind,
        body: &Body,
        seq: u64,
        location: &Location,
    ) -> Result<(), Failure> {
        if kind != Kind::Checkpoint {
            if let Some(overdue) = self.overdue.take() {
                return Err(overdue);
            }
        }
        match (self.due.take(), kind) {
            (None, _) | (Some(_), Kind::Checkpoint | Kind::Recovered) => {}
            (Some(Due::Startup(at, at_seq)), _) => {
                return Err(failure(
                    location,
                    seq,
                    format!(
                        "a {kind} record follows the startup record at {at} (seq {at_seq}), whose writer signs a checkpoint right after it (strict_checkpoints): a checkpoint was removed"
                    ),
                ))
            }
            (Some(Due::Shutdown(at, at_seq)), _) => {
                return Err(failure(
                    location,
                    seq,
                    format!(
                        "a {kind} record follows the shutdown record at {at} (seq {at_seq}), where its writer signs the final checkpoint: a checkpoint was removed"
                    ),
                ))
            }
        }
        match body {
            Body::Startup(startup) => self.startup(startup, seq, location)?,
            Body::Shutdown(_) => {
                let Some(run) = self.run.as_mut().filter(|r| r.shut_down.is_none()) else {
                    return Err(failure(
                        location,
                        seq,
                        "a shutdown record with no writer running (no startup record since the last shutdown): it was added".into(),
                    ));
                };
                run.shut_down = Some((location.clone(), seq));
                self.unsigned_shutdown = Some((location.clone(), seq));
                self.due = Some(Due::Shutdown(location.clone(), seq));
            }
            Body::Checkpoint(_) => {
                self.submitted = 0;
                self.unsigned_shutdown = None;
                self.last_checkpoint = Some(seq.saturating_sub(1));
                if let Some(overdue) = self.overdue.take() {
                    return Err(overdue);
                }
            }
            _ if kind.is_submitted() => self.submitted(kind, seq, location)?,
            _ => {}
        }
        Ok(())
    }

    fn startup(&mut self, startup: &Startup, seq: u64, location: &Location) -> Result<(), Failure> {
        if startup.strict_checkpoints {
            self.first_strict.get_or_insert_with(|| location.clone());
            self.due = Some(Due::Startup(location.clone(), seq));
        } else if let Some(first) = &self.first_strict {
            return Err(failure(
                location,
                seq,
                format!(
                    "this startup record does not declare strict checkpoints, but the one at {first} does: either a sluice older than that writer was started on this log, or this record was rewritten to hide removed checkpoints"
                ),
            ));
        } else {
            self.unchecked
                .push((location.clone(), seq, startup.sluice_version.clone()));
        }
        self.run = Some(Run {
            startup: location.clone(),
            strict: startup.strict_checkpoints,
            every: startup.checkpoint_every_records,
            shut_down: None,
        });
        Ok(())
    }

    fn submitted(&mut self, kind: Kind, seq: u64, location: &Location) -> Result<(), Failure> {
        let run = match &self.run {
            None => {
                return Err(failure(
                    location,
                    seq,
                    format!("a {kind} record before the log's first startup record: no writer was running, so it was added"),
                ))
            }
            Some(Run {
                shut_down: Some((at, at_seq)),
                ..
            }) => {
                return Err(failure(
                    location,
                    seq,
                    format!("a {kind} record after the clean shutdown at {at} (seq {at_seq}) and before the next startup record: no writer was running, so it was added"),
                ))
            }
            Some(run) => run,
        };
        self.submitted += 1;
        if run.strict && self.submitted > run.every && self.overdue.is_none() {
            let since = match self.last_checkpoint {
                Some(covered) => format!("the checkpoint covering seq {covered}"),
                None => "the start of the log".into(),
            };
            self.overdue = Some(failure(
                location,
                seq,
                format!(
                    "{} submitted records since {since}, but this log declares a checkpoint every {} records (startup record at {}): a checkpoint was removed here, or records were inserted",
                    self.submitted, run.every, run.startup
                ),
            ));
        }
        Ok(())
    }

    /// Checks the end of the log; `torn_tail` says whether its last line was incomplete.
    pub(crate) fn finish(self, torn_tail: bool) -> Result<CadenceSummary, Failure> {
        if let Some(overdue) = self.overdue {
            return Err(overdue);
        }
        let torn = if torn_tail {
            " (the log's last line is incomplete: if sluice stopped while writing it, start sluice once so that it cuts that line and records the cut; otherwise the line was cut to hide the checkpoint)"
        } else {
            ""
        };
        if let Some(Due::Startup(at, seq)) = &self.due {
            return Err(failure(
                at,
                *seq,
                format!("the log ends with this startup record, but its writer signs a checkpoint right after it (strict_checkpoints): the checkpoint was removed{torn}"),
            ));
        }
        if let Some((at, seq)) = &self.unsigned_shutdown {
            return Err(failure(
                at,
                *seq,
                format!("the log was shut down here, but no checkpoint follows it: its final checkpoint was removed{torn}"),
            ));
        }
        let mut warnings = Vec::new();
        if let Some((at, seq, version)) = self.unchecked.first() {
            let more = match self.unchecked.len() {
                1 => String::new(),
                n => format!(" (and {} later startup records)", n - 1),
            };
            warnings.push(format!(
                "{at} (seq {seq}): this startup record{more} predates strict_checkpoints (written by sluice {version}): a checkpoint removed from inside such a run is caught only at its shutdown record or against an anchor"
            ));
        }
        let open = self.run.as_ref().filter(|r| r.shut_down.is_none());
        Ok(CadenceSummary {
            open_strict_every: open.filter(|r| r.strict).map(|r| r.every),
            closed: self.run.is_some() && open.is_none(),
            warnings,
        })
    }
}
