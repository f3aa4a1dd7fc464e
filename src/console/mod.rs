//! The compliance console: a read-only web view of the audit log at `/console`, for the people who
//! must show what happened to every request (HIPAA 164.312(b) asks for mechanisms that record and
//! examine activity; SOC 2 CC7.2 for monitoring of anomalies).
//!
//! It is served by `sluice serve` when sluice.toml has a `[console]` section, behind an admin key
//! that is not a client key. It reads the log only: through an in-memory [`index`] for the
//! timeline, charts and exports, through the audit module's verifier for the chain's status, and
//! through its report for a period. It never changes the log, except that a failed sign-in is
//! recorded as a `refused` record, like an unknown API key. It does not import the gateway
//! (`server`), the detectors, the policy engine or the backends (tests/tidy.rs checks).

pub mod charts;
pub mod config;
pub mod export;
pub mod index;
pub mod overview;
pub mod pages;
pub mod session;
pub mod web;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::HttpResponse;

pub use config::ConsoleConfig;

use crate::audit::body::API_KEY_FINGERPRINT_TYPE;
use crate::audit::keys::load_verifying_key;
use crate::audit::report::{self, Report};
use crate::audit::verify::{load_anchor_file, verify_log, Failure, Summary, VerifyOptions};
use crate::audit::{AuditConfig, AuditLog};
use index::Index;
use pages::ChainBadge;
use session::Sessions;

/// The console's stylesheet (served, and inlined into a saved report).
pub const STYLESHEET: &str = include_str!("console.css");

/// A verification result and the state of the log it was computed for.
type Verification = (LogState, Arc<Result<Summary, Failure>>);

/// What changes when the log changes: its files' total length and latest modification (an
/// in-place alteration keeps the length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LogState {
    bytes: u64,
    modified: Option<std::time::SystemTime>,
}

pub struct Console {
    sessions: Sessions,
    index: Mutex<Index>,
    dir: PathBuf,
    audit: AuditLog,
    public_key: PathBuf,
    /// An anchors file kept outside the log directory (the verifier reads the one inside).
    external_anchors: Option<PathBuf>,
    last_verification: Mutex<Option<Verification>>,
    page_size: usize,
    secure_cookie: bool,
    /// `[costs]`, for the report's spend section (page and exports).
    costs: Option<crate::audit::costs::CostConfig>,
}

/// The last verification result, if any, and whether the log grew since, as the pages' banner
/// shows it.
pub struct Verified {
    result: Option<Arc<Result<Summary, Failure>>>,
    grown_since: bool,
}

impl Verified {
    pub fn as_badge(&self) -> ChainBadge<'_> {
        match self.result.as_deref() {
            Some(Ok(s)) => ChainBadge::Verified(s, self.grown_since),
            Some(Err(f)) => ChainBadge::Failed(f),
            None => ChainBadge::NotYet,
        }
    }
}

impl Console {
    /// The console for the log `audit` writes. `client_keys` are the sha256 of every client key:
    /// the admin key must be none of them.
    pub fn new(
        config: &ConsoleConfig,
        audit_config: &AuditConfig,
        audit: AuditLog,
        client_keys: &[[u8; 32]],
        costs: Option<crate::audit::costs::CostConfig>,
    ) -> Result<Console, String> {
        let admin = config.admin_key_sha256()?;
        if client_keys.contains(&admin) {
            return Err(
                "[console] the admin key is also a client's API key; give the console its own key"
                    .to_owned(),
            );
        }
        if config.page_size == 0 || config.session_minutes == 0 {
            return Err("[console] page_size and session_minutes must be at least 1".to_owned());
        }
        let anchors = audit_config.anchors_path();
        Ok(Console {
            sessions: Sessions::new(admin, Duration::from_secs(config.session_minutes * 60)),
            index: Mutex::new(Index::new(&audit_config.dir)),
            dir: audit_config.dir.clone(),
            audit,
            public_key: audit_config.public_key.clone(),
            external_anchors: (anchors.parent() != Some(audit_config.dir.as_path()))
                .then_some(anchors),
            last_verification: Mutex::new(None),
            page_size: config.page_size,
            secure_cookie: config.secure_cookie,
            costs,
        })
    }

    /// Indexes and verifies the log in the background, so the first page a reviewer opens is
    /// served from a warm index.
    pub fn warm_up(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let indexer = me.clone();
            let indexed = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let mut index = indexer.index.lock().unwrap_or_else(|e| e.into_inner());
                let result = index.refresh();
                (result, index.records, started.elapsed())
            })
            .await;
            if let Ok((result, records, took)) = indexed {
                match result {
                    Ok(()) => {
                        tracing::info!(target: "sluice::console", records, took_ms = took.as_millis() as u64, "console index built")
                    }
                    Err(e) => {
                        tracing::warn!(target: "sluice::console", error = %e, "console index could not read the log")
                    }
                }
            }
            me.verify().await;
        });
    }

    /// The last verification result, and whether the log grew since.
    pub fn badge(&self) -> Verified {
        let last = self
            .last_verification
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match last {
            Some((state, result)) => Verified {
                result: Some(result),
                grown_since: log_state(&self.dir) != state,
            },
            None => Verified {
                result: None,
                grown_since: true,
            },
        }
    }

    /// Runs `f` on the index brought up to date, in the blocking pool.
    pub async fn with_index<T, F>(self: &Arc<Self>, f: F) -> Result<T, HttpResponse>
    where
        F: FnOnce(&Index, ChainBadge<'_>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let me = self.clone();
        actix_web::web::block(move || {
            let verified = me.badge();
            let mut index = me.index.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = index.refresh() {
                tracing::warn!(target: "sluice::console", error = %e, "console index could not read the log");
            }
            f(&index, verified.as_badge())
        })
        .await
        .map_err(|_| {
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("the console could not read the audit log")
        })
    }

    fn verify_options(&self) -> VerifyOptions {
        let mut options = VerifyOptions::default();
        if self.public_key.is_file() {
            match load_verifying_key(&self.public_key) {
                Ok(key) => options.trusted_keys.push(key),
                Err(e) => {
                    tracing::warn!(target: "sluice::console", error = %e, "the configured public key could not be read")
                }
            }
        }
        if let Some(path) = self.external_anchors.as_ref().filter(|p| p.is_file()) {
            match load_anchor_file(path, true) {
                Ok(anchors) => options.anchors.extend(anchors),
                Err(e) => {
                    tracing::warn!(target: "sluice::console", error = %e, "the anchors file could not be read")
                }
            }
        }
        options
    }

    /// Verifies the whole log, unless it has not changed since the last verification.
    pub async fn verify(self: &Arc<Self>) -> Arc<Result<Summary, Failure>> {
        let state = log_state(&self.dir);
        if let Some((verified, result)) = self
            .last_verification
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if *verified == state {
                return result.clone();
            }
        }
        self.verify_now(state).await
    }

    /// Verifies the whole log now (the verification page: a reviewer asking must get a fresh
    /// answer, whatever the file times say).
    pub async fn verify_fresh(self: &Arc<Self>) -> Arc<Result<Summary, Failure>> {
        self.verify_now(log_state(&self.dir)).await
    }

    async fn verify_now(self: &Arc<Self>, state: LogState) -> Arc<Result<Summary, Failure>> {
        let dir = self.dir.clone();
        let options = self.verify_options();
        let result = actix_web::web::block(move || verify_log(&dir, &options))
            .await
            .unwrap_or_else(|_| {
                Err(Failure {
                    location: None,
                    seq: None,
                    message: "the verifier did not finish".to_owned(),
                })
            });
        let result = Arc::new(result);
        *self
            .last_verification
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((state, result.clone()));
        result
    }

    /// The report for the query's period (it verifies the whole log, as `sluice audit report`).
    pub async fn report(
        self: &Arc<Self>,
        query: &web::FilterQuery,
    ) -> Result<Report, HttpResponse> {
        let (since, until) = query.period().map_err(|e| {
            HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body(e)
        })?;
        let dir = self.dir.clone();
        let options = self.verify_options();
        let prices = self.costs.clone();
        actix_web::web::block(move || {
            let report = report::build(&dir, since, until, &options);
            // Exports carry the spend section too; a log that cannot be priced (unreadable
            // here, but it was just verified) leaves it out rather than failing the report.
            match prices.map(|p| crate::audit::costs::compute(&dir, since, until, &p)) {
                Some(Ok(costs)) => report.with_costs(costs),
                _ => report,
            }
        })
        .await
        .map_err(|_| {
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("the report could not be built")
        })
    }

    /// Records a failed sign-in: the presented key's fingerprint, never the key.
    async fn record_refused_sign_in(&self, req: &actix_web::HttpRequest, key: &str) {
        let fingerprint = self
            .audit
            .fingerprinter()
            .fingerprint(API_KEY_FINGERPRINT_TYPE, key.trim())
            .as_str()
            .to_owned();
        if let Err(e) = self
            .audit
            .append(web::refused_sign_in(req, fingerprint))
            .await
        {
            tracing::error!(target: "sluice::console", error = %e, "a failed console sign-in could not be recorded");
        }
    }
}

fn log_state(dir: &std::path::Path) -> LogState {
    let mut state = LogState {
        bytes: 0,
        modified: None,
    };
    for (_, path) in crate::audit::files::list_log_files(dir).unwrap_or_default() {
        if let Ok(meta) = std::fs::metadata(path) {
            state.bytes += meta.len();
            state.modified = state.modified.max(meta.modified().ok());
        }
    }
    state
}
