//! `sluice audit`: verify, search, count and summarize the audit log, and create its keys.
//!
//! Exit codes: 0 success, 1 the log failed verification, 2 the command itself failed (bad
//! arguments, unreadable files).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::audit::body::Action;
use crate::audit::config::{AuditConfig, DEFAULT_DIR};
use crate::audit::keys::{
    generate_fingerprint_key, generate_signing_key, load_verifying_key, write_public_key,
};
use crate::audit::query::{self, parse_time_bound, Filter, Format};
use crate::audit::record::Kind;
use crate::audit::verify::{load_anchor_file, verify_log, VerifyOptions};
use crate::audit::{report, stats};

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Take the log directory, the trusted public key, the anchors file and the key paths from
    /// this sluice.toml (its relative paths are relative to the file), from any directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check every hash, link, sequence number, file and checkpoint signature; exit 1 at the first
    /// bad record (named by file and line).
    Verify(VerifyArgs),
    /// List records, filtered, as a table, JSON lines or CSV.
    Show(ShowArgs),
    /// Count decisions by day, action, client and entity type.
    Stats(StatsArgs),
    /// A plain summary for evidence: requests, PHI requests and where they went, chain status.
    Report(ReportArgs),
    /// Spend per client, route rule and backend at the prices in `[costs]` (needs --config);
    /// what the local tier saved, and the daily volume at which it pays for itself.
    Costs(CostsArgs),
    /// Create the checkpoint signing key and the fingerprint key (mode 0600, never overwritten).
    Keygen(KeygenArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// A public key trusted to sign checkpoints (PEM from `keygen`); repeatable. Without it,
    /// signatures are checked only against the key the log declares itself.
    #[arg(long = "pubkey", value_name = "FILE")]
    pub pubkeys: Vec<PathBuf>,
    /// A checkpoint held outside the log (an anchors file, or checkpoint records copied from the
    /// log); repeatable. The log must match it and reach it, which catches a truncated tail.
    #[arg(long = "anchor", value_name = "CHECKPOINT")]
    pub anchors: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The log directory, or several (one per replica: each is its own chain, verified and
    /// reported on its own; `--anchor` checkpoints go to the log they belong to) [default:
    /// `[audit] dir` of --config, else `audit`].
    pub dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, clap::Args)]
pub struct WindowArgs {
    /// Only records at or after this time (2025-06-01, 2025-06-01T13:00, or RFC 3339; UTC).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Only records before this time; a bare date includes that whole day.
    #[arg(long, value_parser = parse_until)]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The log directory (default: `[audit] dir` of --config, else `audit`).
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only decisions of this client (and their outcomes).
    #[arg(long)]
    pub client: Option<String>,
    /// Only decisions with this action: allow, redact, local, block.
    #[arg(long, value_parser = parse_action)]
    pub action: Option<Action>,
    /// Only decisions whose request held this entity type (e.g. US_SSN).
    #[arg(long)]
    pub entity: Option<String>,
    /// Only decisions where this policy rule fired or this detector rule matched.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only records of this kind (decision, outcome, checkpoint, ...); repeatable.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Vec<Kind>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print at most this many records.
    #[arg(long)]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The log directory (default: `[audit] dir` of --config, else `audit`).
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only decisions of this client.
    #[arg(long)]
    pub client: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The log directory (default: `[audit] dir` of --config, else `audit`).
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Text for people; JSON or CSV (plain ASCII) for evidence systems. Every format leads with
    /// the chain's verification result.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

#[derive(Debug, clap::Args)]
pub struct CostsArgs {
    /// The log directory (default: `[audit] dir` of --config, else `audit`).
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub window: WindowArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatsFormat,
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the ed25519 checkpoint signing key (PKCS#8 PEM) [default: `[audit]
    /// signing_key` of --config, else .sluice/audit-signing.pem].
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// Where to write its public key, for verifiers [default: `[audit] public_key`, else
    /// .sluice/audit-signing.pub.pem].
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Where to write the HMAC fingerprint key [default: `[audit] fingerprint_key`, else
    /// .sluice/audit-fingerprint.key].
    #[arg(long)]
    pub fingerprint_key: Option<PathBuf>,
    /// Create only the files that are missing and succeed if all exist (for scripts).
    #[arg(long)]
    pub if_missing: bool,
}

/// Where `keygen` writes, once defaults are applied.
struct KeygenPaths {
    signing_key: PathBuf,
    public_key: PathBuf,
    fingerprint_key: PathBuf,
    if_missing: bool,
}

fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_bound(s, false)
}

fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_bound(s, true)
}

fn parse_action(s: &str) -> Result<Action, String> {
    Action::parse(s).ok_or_else(|| format!("`{s}` is not an action (allow, redact, local, block)"))
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    execute(args, &mut out)
}

/// Runs a subcommand, printing to `out`.
pub fn execute(args: AuditArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let loaded = match &args.config {
        Some(path) => Some(crate::config::Config::load(path)?),
        None => None,
    };
    let configured = loaded.as_ref().map(|c| &c.audit);
    let prices = loaded.as_ref().and_then(|c| c.costs.as_ref());
    let result = match args.command {
        AuditCommand::Verify(a) => verify(a, configured, out),
        AuditCommand::Show(a) => show(a, configured, out),
        AuditCommand::Stats(a) => stats_cmd(a, configured, out),
        AuditCommand::Report(a) => report_cmd(a, configured, prices, out),
        AuditCommand::Costs(a) => costs_cmd(a, configured, prices, out),
        AuditCommand::Keygen(a) => keygen(a, configured, out),
    };
    match result {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

/// The log directory: the one named on the command line, else the configuration's, else the
/// default. It must exist.
fn log_dir(dir: Option<PathBuf>, configured: Option<&AuditConfig>) -> anyhow::Result<PathBuf> {
    let dir = dir
        .or_else(|| configured.map(|c| c.dir.clone()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    anyhow::ensure!(
        dir.is_dir(),
        "{} is not a directory (pass the audit log directory, or --config sluice.toml to use its `[audit] dir`; the default is `{DEFAULT_DIR}`)",
        dir.display()
    );
    Ok(dir)
}

/// The keys and anchors to verify against: those given, plus, with --config, the configured
/// public key and anchors file when they exist.
fn verify_options(
    trust: &TrustArgs,
    configured: Option<&AuditConfig>,
) -> anyhow::Result<VerifyOptions> {
    let mut pubkeys = trust.pubkeys.clone();
    let mut anchors = trust.anchors.clone();
    if let Some(c) = configured {
        if c.public_key.is_file() {
            pubkeys.push(c.public_key.clone());
        }
        let anchors_file = c.anchors_path();
        if anchors_file.is_file() {
            anchors.push(anchors_file);
        }
    }
    let mut options = VerifyOptions::default();
    for path in &pubkeys {
        options.trusted_keys.push(load_verifying_key(path)?);
    }
    for path in &anchors {
        options
            .anchors
            .extend(load_anchor_file(path, true).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    Ok(options)
}

fn verify(
    args: VerifyArgs,
    configured: Option<&AuditConfig>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let options = verify_options(&args.trust, configured)?;
    if args.dirs.len() <= 1 {
        let dir = log_dir(args.dirs.into_iter().next(), configured)?;
        return Ok(match verify_log(&dir, &options) {
            Ok(summary) => {
                write!(out, "{summary}")?;
                ExitCode::SUCCESS
            }
            Err(failure) => {
                writeln!(out, "FAIL: {failure}")?;
                ExitCode::from(1)
            }
        });
    }
    // Several replicas' logs: each chain on its own, with the anchors that name it.
    let (mut passed, mut failed) = (0, 0);
    let mut claimed = vec![false; options.anchors.len()];
    for dir in &args.dirs {
        let dir = log_dir(Some(dir.clone()), None)?;
        let id = first_log_id(&dir);
        let mine = VerifyOptions {
            trusted_keys: options.trusted_keys.clone(),
            anchors: options
                .anchors
                .iter()
                .enumerate()
                .filter(|(_, a)| Some(&a.checkpoint.log_id) == id.as_ref())
                .map(|(i, a)| {
                    claimed[i] = true;
                    a.clone()
                })
                .collect(),
        };
        writeln!(out, "== {} ==", dir.display())?;
        match verify_log(&dir, &mine) {
            Ok(summary) => {
                passed += 1;
                write!(out, "{summary}")?
            }
            Err(failure) => {
                failed += 1;
                writeln!(out, "FAIL: {failure}")?;
            }
        }
    }
    for (anchor, _) in options.anchors.iter().zip(&claimed).filter(|(_, c)| !**c) {
        failed += 1;
        writeln!(
            out,
            "FAIL: anchor {} belongs to log {}, which is none of the logs given (a replica's log is missing)",
            anchor.source, anchor.checkpoint.log_id
        )?;
    }
    writeln!(
        out,
        "{} log(s): {passed} verified, {failed} failure(s)",
        args.dirs.len()
    )?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The `log_id` of a log's genesis record, if its first record is one.
fn first_log_id(dir: &std::path::Path) -> Option<String> {
    let mut id = None;
    let _ = crate::audit::reader::read_records(dir, |_, record| {
        if let Ok(crate::audit::Body::Genesis(g)) =
            crate::audit::Body::parse(record.kind, &record.body)
        {
            id = Some(g.log_id);
        }
        std::ops::ControlFlow::Break(())
    });
    id
}

/// An entity type named on the command line, as the catalog spells it; an unknown one is an
/// error that suggests the nearest (an empty table would read as "no such requests").
fn entity_type(name: String) -> anyhow::Result<String> {
    let upper = name.to_ascii_uppercase();
    if crate::detect::catalog::is_entity_type(&upper) {
        return Ok(upper);
    }
    // "SSN" means US_SSN more surely than any spelling distance says.
    let by_part = crate::detect::catalog::ENTITY_TYPES
        .iter()
        .map(|(t, _)| *t)
        .find(|t| t.split('_').any(|part| part == upper));
    let hint = by_part
        .or_else(|| crate::detect::catalog::nearest_entity_type(&name))
        .map(|t| format!("; did you mean {t}?"))
        .unwrap_or_default();
    anyhow::bail!("`{name}` is not an entity type{hint}")
}

fn show(
    args: ShowArgs,
    configured: Option<&AuditConfig>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let entity = args.entity.map(entity_type).transpose()?;
    let filter = Filter {
        since: args.window.since,
        until: args.window.until,
        client: args.client,
        action: args.action,
        entity,
        rule: args.rule,
        kinds: args.kind,
    };
    let dir = log_dir(args.dir, configured)?;
    query::show(&dir, &filter, args.format, args.limit, out)?;
    Ok(ExitCode::SUCCESS)
}

fn stats_cmd(
    args: StatsArgs,
    configured: Option<&AuditConfig>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let filter = Filter {
        since: args.window.since,
        until: args.window.until,
        client: args.client,
        ..Filter::default()
    };
    let stats = stats::collect(&log_dir(args.dir, configured)?, &filter)?;
    match args.format {
        StatsFormat::Table => stats::print_table(&stats, out)?,
        StatsFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&stats)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The report; with `[costs]` prices (from `--config`), its spend section too.
fn report_cmd(
    args: ReportArgs,
    configured: Option<&AuditConfig>,
    prices: Option<&crate::audit::costs::CostConfig>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let options = verify_options(&args.trust, configured)?;
    let dir = log_dir(args.dir, configured)?;
    let (since, until) = (args.window.since, args.window.until);
    let mut report = report::build(&dir, since, until, &options);
    if let Some(prices) = prices {
        report = report.with_costs(crate::audit::costs::compute(&dir, since, until, prices)?);
    }
    match args.format {
        ReportFormat::Text => write!(out, "{report}")?,
        ReportFormat::Json => writeln!(out, "{}", report.to_json_text())?,
        ReportFormat::Csv => write!(out, "{}", report.to_csv())?,
    }
    Ok(if report.verification.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn costs_cmd(
    args: CostsArgs,
    configured: Option<&AuditConfig>,
    prices: Option<&crate::audit::costs::CostConfig>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let prices = prices.context(
        "costs need prices: pass --config sluice.toml with a [costs] section (README, \"Spend and break-even\")",
    )?;
    let dir = log_dir(args.dir, configured)?;
    let report = crate::audit::costs::compute(&dir, args.window.since, args.window.until, prices)?;
    match args.format {
        StatsFormat::Table => write!(out, "{report}")?,
        StatsFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn keygen(
    args: KeygenArgs,
    configured: Option<&AuditConfig>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let defaults = configured.cloned().unwrap_or_default();
    let args = KeygenPaths {
        signing_key: args.signing_key.unwrap_or(defaults.signing_key),
        public_key: args.public_key.unwrap_or(defaults.public_key),
        fingerprint_key: args.fingerprint_key.unwrap_or(defaults.fingerprint_key),
        if_missing: args.if_missing,
    };
    let files = [&args.signing_key, &args.public_key, &args.fingerprint_key];
    if !args.if_missing {
        if let Some(existing) = files.iter().find(|p| p.exists()) {
            anyhow::bail!(
                "{} already exists; refusing to overwrite a key (use --if-missing to create only missing files)",
                existing.display()
            );
        }
    }
    if args.signing_key.exists() {
        writeln!(
            out,
            "signing key:     {} (exists, kept)",
            args.signing_key.display()
        )?;
        if !args.public_key.exists() {
            let made = write_public_key(&args.signing_key, &args.public_key)?;
            writeln!(
                out,
                "public key:      {} ({})",
                made.path.display(),
                made.key_id
            )?;
        }
    } else {
        let made = generate_signing_key(&args.signing_key, &args.public_key)
            .context("creating the signing key")?;
        writeln!(
            out,
            "signing key:     {} ({}, mode 0600)",
            made.path.display(),
            made.key_id
        )?;
        writeln!(out, "public key:      {}", args.public_key.display())?;
    }
    if args.fingerprint_key.exists() {
        writeln!(
            out,
            "fingerprint key: {} (exists, kept)",
            args.fingerprint_key.display()
        )?;
    } else {
        let made = generate_fingerprint_key(&args.fingerprint_key)
            .context("creating the fingerprint key")?;
        writeln!(
            out,
            "fingerprint key: {} ({}, mode 0600)",
            made.path.display(),
            made.key_id
        )?;
    }
    writeln!(
        out,
        "Keep the private keys outside the audit directory and back them up. Verifiers need only the public key:\n  sluice audit verify --pubkey {}",
        args.public_key.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
