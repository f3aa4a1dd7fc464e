//! Load benchmark of the gateway: what sluice adds to a cleared chat request, measured with the
//! load tool oha against a fast mock upstream on loopback, directly and through sluice, in the
//! same run (so every sluice figure has a baseline taken under the same machine load).
//!
//! `cargo bench --bench gateway_load` (needs `make models` and `cargo install oha --locked`).
//! GATEWAY_BENCH_SECS sets the length of each run (default 10 s). GATEWAY_BENCH_DETECT holds TOML
//! `key = value` lines that override the shipped `[detect]` settings, to compare them, e.g.
//! `GATEWAY_BENCH_DETECT='ner_model = "models/rampart/model_q4.onnx"'` or `ner_sessions = 1`.
//!
//! Two gateways are started in turn, in this process, with the shipped `[detect]` settings,
//! policies hipaa + soc2, two HTTP workers, the embedded SmolLM2 loaded as the local backend and
//! the audit log (fsync per batch) on the target directory's disk:
//! 1. full detection (regex, dictionaries, NER): c=1 and c=8, closed loop;
//! 2. NER off (`[detect] ner = false`): c=1, c=8, and a fixed 500 requests/s.
//!
//! 3. PHI prompts through `/v1/scan` (detect and decide, nothing forwarded), full detection with
//!    NER only where it can change the decision, then with `[detect] ner_always`: c=1 and c=8.
//! 4. The same cleared prompts through every route (chat completions, Anthropic Messages, the
//!    Responses API, legacy completions, embeddings), each paired with the mock's own endpoint it
//!    is forwarded to: what each front end adds, next to what chat adds. Full detection at c=8,
//!    then NER off at c=1, where the translations are a larger share of what sluice adds.
//!
//! GATEWAY_BENCH_ONLY=routes runs phase 4 alone (to repeat it, e.g. when a route changed).
//! GATEWAY_BENCH_ONLY=routing runs a routing phase alone: NER off, c=1 and c=8, a gateway without
//! task rules and then one with five (`ROUTE_RULES`: a keyword class scanned on every request,
//! the last rule sending everything to the cloud), each paired with the mock: what task routing
//! adds to a request.
//!
//! The scan cache is cut to two entries and every request carries one of 4,096 distinct prompts,
//! so every request is scanned. After each gateway, its metrics must show that every request was
//! allowed to the cloud with status 200, and the mock must have received each one.

mod mock;
mod oha;
mod prompts;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use oha::{Load, Outcome};
use sluice::detect::{DetectConfig, Pipeline};

const CLIENT_KEY: &str = "sk-bench-client-key";
const CLOUD_KEY_ENV: &str = "SLUICE_BENCH_CLOUD_KEY";
const DETECT_ENV: &str = "GATEWAY_BENCH_DETECT";
const WORKERS: usize = 2;
/// Requests sent to each fresh gateway before measuring (NER sessions, connection pools).
const WARMUP: Duration = Duration::from_secs(2);

fn main() -> anyhow::Result<()> {
    if std::env::var_os(mock::MOCK_ENV).is_some() {
        return mock::serve();
    }
    // Set before any thread exists: the gateway reads the upstream key from the environment.
    std::env::set_var(CLOUD_KEY_ENV, "sk-bench-upstream");
    let secs: u64 = match std::env::var("GATEWAY_BENCH_SECS") {
        Ok(s) => s.parse().context("GATEWAY_BENCH_SECS")?,
        Err(_) => 10,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench(Duration::from_secs(secs)))
}

/// One row of the result table.
struct Row {
    case: &'static str,
    load: String,
    direct: Outcome,
    sluice: Outcome,
    load_avg: String,
}

async fn bench(duration: Duration) -> anyhow::Result<()> {
    let oha_bin = oha::find()?;
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let prompts = prompts::prompts();
    let bodies = scratch.path().join("bodies.jsonl");
    std::fs::write(&bodies, prompts::body_lines(&prompts))?;
    let mean_chars = prompts.iter().map(|p| p.chars().count()).sum::<usize>() / prompts.len();

    let mock = mock::MockProcess::spawn()?;
    let rss_before = proc_status_kib("VmRSS")?;
    let mut rows = Vec::new();
    let runner = Runner {
        oha: &oha_bin,
        bodies: &bodies,
        duration,
        mock: &mock,
    };

    let full = [
        ("full detection", Load::Closed { connections: 1 }),
        ("full detection", Load::Closed { connections: 8 }),
    ];
    let no_ner = [
        ("NER off", Load::Closed { connections: 1 }),
        ("NER off", Load::Closed { connections: 8 }),
        (
            "NER off",
            Load::Rate {
                per_sec: 500,
                connections: 8,
            },
        ),
    ];
    if std::env::var("GATEWAY_BENCH_ONLY").is_ok_and(|only| only == "routing") {
        let rows = routing_phase(&runner, scratch.path()).await?;
        print_report(
            &rows,
            mean_chars,
            duration,
            rss_before,
            proc_status_kib("VmHWM")?,
        );
        return Ok(());
    }
    let only_routes = std::env::var("GATEWAY_BENCH_ONLY").is_ok_and(|only| only == "routes");
    let phases: &[(bool, &[(&str, Load)])] = if only_routes {
        &[]
    } else {
        &[(true, &full[..]), (false, &no_ner[..])]
    };
    for &(ner, cases) in phases {
        let audit = AuditDir::new(scratch.path(), if ner { "full" } else { "no-ner" })?;
        let config = gateway_config(&mock.chat_url(), &audit)?;
        let gateway = sluice::server::start(config, pipeline(ner)?).await?;
        let url = format!("http://{}/v1/chat/completions", gateway.addr);
        let forwarded_before = mock.served().await?;
        let mut sent = runner.warm_up(&url).await?;
        for (case, load) in cases {
            let (direct, sluice) = runner.pair(&url, *load).await?;
            sent += sluice.ok;
            rows.push(Row {
                case,
                load: describe(*load),
                direct,
                sluice,
                load_avg: load_average()?,
            });
        }
        check_all_cleared(gateway.addr, sent).await?;
        let forwarded = mock.served().await? - forwarded_before;
        gateway.stop().await?;
        let direct_total: u64 = rows
            .iter()
            .rev()
            .take(cases.len())
            .map(|r| r.direct.ok)
            .sum();
        if forwarded != sent + direct_total {
            bail!("the mock received {forwarded} requests, expected {sent} via sluice + {direct_total} direct");
        }
    }
    let phi_rows = if only_routes {
        Vec::new()
    } else {
        phi_phase(&runner, scratch.path()).await?
    };
    let mut route_rows = Vec::new();
    for (ner, load) in [
        (true, Load::Closed { connections: 8 }),
        (false, Load::Closed { connections: 1 }),
    ] {
        route_rows.extend(routes_phase(&runner, scratch.path(), &prompts, ner, load).await?);
    }
    print_report(
        &rows,
        mean_chars,
        duration,
        rss_before,
        proc_status_kib("VmHWM")?,
    );
    print_phi_report(&phi_rows);
    print_routes_report(&route_rows);
    Ok(())
}

/// Five task rules; none sends a bench prompt anywhere but the cloud, and the keyword class is
/// scanned for every request (the costliest condition).
const ROUTE_RULES: &str = r#"
[routing.keywords]
reflex = ["extract", "classify", "translate", "which language", "summarise", "label", "detect"]

[[routing.rules]]
name = "hinted-local"
when = { task = ["language-detection", "extraction"] }
to = "local"

[[routing.rules]]
name = "tiny-local"
when = { max_prompt_tokens = 1 }
to = "local"

[[routing.rules]]
name = "reflex-keywords"
when = { keywords = ["reflex"] }
to = "cloud"

[[routing.rules]]
name = "tools-cloud"
when = { tools = true }
to = "cloud"

[[routing.rules]]
name = "everything-else"
to = "cloud"
"#;

/// Chat with NER off through a gateway without task rules, then one with [`ROUTE_RULES`].
async fn routing_phase(runner: &Runner<'_>, scratch: &Path) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (case, rules) in [("no task rules", ""), ("5 task rules", ROUTE_RULES)] {
        let audit = AuditDir::new(scratch, &case.replace(' ', "-"))?;
        let mut config = gateway_config(&runner.mock.chat_url(), &audit)?;
        if !rules.is_empty() {
            #[derive(serde::Deserialize)]
            struct Routing {
                routing: Rules,
            }
            #[derive(serde::Deserialize)]
            struct Rules {
                rules: Vec<sluice::route::RouteRuleConfig>,
                keywords: std::collections::BTreeMap<String, sluice::route::KeywordClass>,
            }
            let parsed: Routing = toml::from_str(rules)?;
            config.routing.rules = parsed.routing.rules;
            config.routing.keywords = parsed.routing.keywords;
        }
        let gateway = sluice::server::start(config, pipeline(false)?).await?;
        let url = format!("http://{}/v1/chat/completions", gateway.addr);
        let mut sent = runner.warm_up(&url).await?;
        for load in [
            Load::Closed { connections: 1 },
            Load::Closed { connections: 8 },
        ] {
            let (direct, sluice) = runner.pair(&url, load).await?;
            sent += sluice.ok;
            rows.push(Row {
                case,
                load: describe(load),
                direct,
                sluice,
                load_avg: load_average()?,
            });
        }
        check_all_cleared(gateway.addr, sent).await?;
        gateway.stop().await?;
    }
    Ok(rows)
}

/// The routes of phase 4: path after `/v1/`, and the mock endpoint sluice forwards it to.
const ROUTES: [(&str, &str); 5] = [
    ("chat/completions", "chat/completions"),
    ("messages", "chat/completions"),
    ("responses", "chat/completions"),
    ("completions", "chat/completions"),
    ("embeddings", "embeddings"),
];

/// Cleared prompts through every route of one gateway (NER on or off), each paired with a
/// direct run against the mock endpoint it is forwarded to, under `load`.
async fn routes_phase(
    runner: &Runner<'_>,
    scratch: &Path,
    prompts: &[String],
    ner: bool,
    load: Load,
) -> anyhow::Result<Vec<Row>> {
    let audit = AuditDir::new(scratch, if ner { "routes" } else { "routes-no-ner" })?;
    let config = gateway_config(&runner.mock.chat_url(), &audit)?;
    let gateway = sluice::server::start(config, pipeline(ner)?).await?;
    let mock_base = runner.mock.chat_url().replace("/chat/completions", "");
    let mut rows = Vec::new();
    let mut sent = 0;
    for (route, upstream) in ROUTES {
        let bodies = scratch.join(format!("{}.jsonl", route.replace('/', "-")));
        std::fs::write(&bodies, prompts::route_lines(route, prompts))?;
        let runner = Runner {
            bodies: &bodies,
            ..*runner
        };
        let url = format!("http://{}/v1/{route}", gateway.addr);
        sent += runner.warm_up(&url).await?;
        let direct = runner
            .oha(&format!("{mock_base}/{upstream}"), load, runner.duration)
            .await?;
        let through = runner.oha(&url, load, runner.duration).await?;
        sent += through.ok;
        rows.push(Row {
            case: route,
            load: format!(
                "{}, {}",
                if ner { "full detection" } else { "NER off" },
                describe(load)
            ),
            direct,
            sluice: through,
            load_avg: load_average()?,
        });
    }
    check_all_cleared(gateway.addr, sent).await?;
    gateway.stop().await?;
    Ok(rows)
}

fn print_routes_report(rows: &[Row]) {
    println!();
    println!(
        "Cleared prompts through every route, each against the mock endpoint it is forwarded to:"
    );
    println!("| route | detection, load | direct p50 / p99 ms | sluice p50 / p99 ms | added p50 / p99 ms | added p50 vs chat | sluice req/s | load avg (1/5/15 min) |");
    println!("|---|---|---|---|---|---|---|---|");
    let added = |r: &Row| r.sluice.p50_ms - r.direct.p50_ms;
    let mut chat = f64::NAN;
    for r in rows {
        // Each group of routes starts with chat completions, the baseline of its ratios.
        if r.case == ROUTES[0].0 {
            chat = added(r);
        }
        println!(
            "| /v1/{} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2}x | {:.0} | {} |",
            r.case,
            r.load,
            r.direct.p50_ms,
            r.direct.p99_ms,
            r.sluice.p50_ms,
            r.sluice.p99_ms,
            added(r),
            r.sluice.p99_ms - r.direct.p99_ms,
            added(r) / chat,
            r.sluice.rps,
            r.load_avg,
        );
    }
}

/// One row of the PHI table.
struct PhiRow {
    mode: &'static str,
    load: String,
    outcome: Outcome,
    skipped_share: f64,
    load_avg: String,
}

/// PHI prompts (all decided `local`) judged through `/v1/scan`, which detects and decides as a
/// chat request does but forwards nothing: NER only where it can change the decision (the
/// shipped behaviour), then `[detect] ner_always = true`, in the same run.
async fn phi_phase(runner: &Runner<'_>, scratch: &Path) -> anyhow::Result<Vec<PhiRow>> {
    let phi_bodies = scratch.join("phi.jsonl");
    std::fs::write(&phi_bodies, prompts::scan_lines(&prompts::phi_prompts()))?;
    let runner = Runner {
        bodies: &phi_bodies,
        ..*runner
    };
    let mut rows = Vec::new();
    for (mode, always) in [("NER where needed", false), ("NER always", true)] {
        let audit = AuditDir::new(scratch, if always { "phi-always" } else { "phi" })?;
        let mut config = gateway_config(&runner.mock.chat_url(), &audit)?;
        config.detect.ner_always = always;
        let gateway = sluice::server::start(config, pipeline(true)?).await?;
        let url = format!("http://{}/v1/scan", gateway.addr);
        runner.warm_up(&url).await?;
        for load in [
            Load::Closed { connections: 1 },
            Load::Closed { connections: 8 },
        ] {
            let before = ner_skipped(gateway.addr).await?;
            let outcome = runner.oha(&url, load, runner.duration).await?;
            let skipped = ner_skipped(gateway.addr).await? - before;
            rows.push(PhiRow {
                mode,
                load: describe(load),
                skipped_share: skipped as f64 / outcome.ok.max(1) as f64,
                outcome,
                load_avg: load_average()?,
            });
        }
        gateway.stop().await?;
    }
    Ok(rows)
}

/// The gateway's count of requests decided without NER.
async fn ner_skipped(addr: std::net::SocketAddr) -> anyhow::Result<u64> {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await?
        .text()
        .await?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("sluice_ner_skipped_total "))
        .context("sluice_ner_skipped_total in /metrics")?;
    Ok(line.trim().parse()?)
}

fn print_phi_report(rows: &[PhiRow]) {
    println!();
    println!("PHI prompts on /v1/scan (detect and decide, nothing forwarded; every one is local):");
    println!(
        "| mode | load | p50 / p99 ms | req/s | decided without NER | load avg (1/5/15 min) |"
    );
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.2} / {:.2} | {:.0} | {:.0}% | {} |",
            r.mode,
            r.load,
            r.outcome.p50_ms,
            r.outcome.p99_ms,
            r.outcome.rps,
            100.0 * r.skipped_share,
            r.load_avg,
        );
    }
}

#[derive(Clone, Copy)]
struct Runner<'a> {
    oha: &'a Path,
    bodies: &'a Path,
    duration: Duration,
    mock: &'a mock::MockProcess,
}

impl Runner<'_> {
    async fn warm_up(&self, url: &str) -> anyhow::Result<u64> {
        let o = self
            .oha(url, Load::Closed { connections: 2 }, WARMUP)
            .await?;
        Ok(o.ok)
    }

    /// The same load against the mock, then through sluice.
    async fn pair(&self, url: &str, load: Load) -> anyhow::Result<(Outcome, Outcome)> {
        let direct = self.oha(&self.mock.chat_url(), load, self.duration).await?;
        let sluice = self.oha(url, load, self.duration).await?;
        Ok((direct, sluice))
    }

    async fn oha(&self, url: &str, load: Load, duration: Duration) -> anyhow::Result<Outcome> {
        let (oha, target, bodies) = (
            self.oha.to_path_buf(),
            url.to_owned(),
            self.bodies.to_path_buf(),
        );
        let outcome = tokio::task::spawn_blocking(move || {
            oha::run(&oha, &target, CLIENT_KEY, &bodies, load, duration)
        })
        .await??;
        if outcome.failed > 0 || outcome.ok == 0 {
            bail!(
                "{url}: {} requests failed, {} succeeded",
                outcome.failed,
                outcome.ok
            );
        }
        Ok(outcome)
    }
}

fn describe(load: Load) -> String {
    match load {
        Load::Closed { connections } => format!("c={connections}"),
        Load::Rate {
            per_sec,
            connections,
        } => format!("{per_sec}/s fixed, c={connections}"),
    }
}

/// The shipped `[detect]` section of sluice.toml with the keys GATEWAY_BENCH_DETECT overrides,
/// with NER on or off.
fn pipeline(ner: bool) -> anyhow::Result<Arc<Pipeline>> {
    let repo = repo();
    let shipped: toml::Table = std::fs::read_to_string(repo.join("sluice.toml"))?.parse()?;
    let mut section = shipped
        .get("detect")
        .and_then(|d| d.as_table())
        .context("sluice.toml has no [detect]")?
        .clone();
    section.extend(detect_overrides()?);
    let mut cfg: DetectConfig = toml::Value::Table(section).try_into()?;
    cfg.resolve_paths(&repo);
    cfg.ner = ner;
    Ok(Arc::new(
        Pipeline::from_config(&cfg).context("run `make models` first")?,
    ))
}

fn detect_overrides() -> anyhow::Result<toml::Table> {
    match std::env::var(DETECT_ENV) {
        Ok(lines) => lines
            .parse()
            .with_context(|| format!("{DETECT_ENV}: not TOML `key = value` lines")),
        Err(_) => Ok(toml::Table::new()),
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Audit keys and log directory of one gateway, on the target directory's disk.
struct AuditDir {
    root: PathBuf,
}

impl AuditDir {
    fn new(scratch: &Path, name: &str) -> anyhow::Result<AuditDir> {
        let root = scratch.join(name);
        std::fs::create_dir_all(root.join("keys"))?;
        sluice::audit::keys::generate_signing_key(
            &root.join("keys/signing.pem"),
            &root.join("keys/signing.pub.pem"),
        )?;
        sluice::audit::keys::generate_fingerprint_key(&root.join("keys/fingerprint.key"))?;
        Ok(AuditDir { root })
    }
}

fn gateway_config(
    upstream_chat_url: &str,
    audit: &AuditDir,
) -> anyhow::Result<sluice::config::Config> {
    let base_url = upstream_chat_url.trim_end_matches("/chat/completions");
    let repo = repo();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
workers = {WORKERS}
scan_cache_entries = 2

[policies]
dir = "{repo}/policies"
default_set = ["hipaa", "soc2"]
watch = false

[audit]
dir = "{root}/log"
signing_key = "{root}/keys/signing.pem"
fingerprint_key = "{root}/keys/fingerprint.key"

[[clients]]
name = "bench"
key_sha256 = "{key_sha}"

[backends.local]
kind = "llama"
model = "{repo}/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
slots = 1
queue = 16
ctx = 2048
threads = 2

[backends.cloud]
kind = "openai"
base_url = "{base_url}"
api_key_env = "{CLOUD_KEY_ENV}"
max_retries = 0

[routing]
local = "local"
cloud = "cloud"
fallback_to_local = false

[routing.models."gpt-4o-mini"]
"#,
        repo = repo.display(),
        root = audit.root.display(),
        key_sha = hex::encode(sluice::server::auth::sha256_of(CLIENT_KEY)),
    );
    Ok(sluice::config::Config::parse(&toml)?)
}

/// Every chat request the gateway answered was allowed to the cloud with 200, and there were `sent`.
async fn check_all_cleared(addr: std::net::SocketAddr, sent: u64) -> anyhow::Result<()> {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await?
        .text()
        .await?;
    let mut cleared = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("sluice_requests_total{") else {
            continue;
        };
        let (labels, n) = rest.split_once("} ").context("metrics line")?;
        let n: u64 = n.trim().parse()?;
        let has = |label: &str| labels.split(',').any(|l| l == label);
        if has(r#"action="allow""#) && has(r#"backend="cloud""#) && has(r#"status="200""#) {
            cleared += n;
        } else if n > 0 {
            bail!("not every bench request was cleared: {line}");
        }
    }
    if cleared != sent {
        bail!("the gateway cleared {cleared} requests, oha counted {sent}");
    }
    Ok(())
}

/// A field of /proc/self/status in KiB (the gateway runs in this process; the mock and oha do not).
fn proc_status_kib(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("{field} in /proc/self/status"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

fn load_average() -> anyhow::Result<String> {
    let s = std::fs::read_to_string("/proc/loadavg")?;
    Ok(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

fn print_report(rows: &[Row], mean_chars: usize, duration: Duration, rss_before: u64, hwm: u64) {
    println!();
    println!(
        "gateway_load: {} s per run, prompts of {mean_chars} chars on average, {WORKERS} HTTP workers, {} cores",
        duration.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    if let Ok(overrides) = detect_overrides() {
        if !overrides.is_empty() {
            println!(
                "[detect] overrides ({DETECT_ENV}): {}",
                overrides.to_string().trim().replace('\n', "; ")
            );
        }
    }
    println!(
        "| case | load | direct p50 / p99 ms | sluice p50 / p99 ms | added p50 / p99 ms | direct req/s | sluice req/s | load avg (1/5/15 min) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.0} | {:.0} | {} |",
            r.case,
            r.load,
            r.direct.p50_ms,
            r.direct.p99_ms,
            r.sluice.p50_ms,
            r.sluice.p99_ms,
            r.sluice.p50_ms - r.direct.p50_ms,
            r.sluice.p99_ms - r.direct.p99_ms,
            r.direct.rps,
            r.sluice.rps,
            r.load_avg,
        );
    }
    println!(
        "gateway process RSS: {} MiB before the first gateway, peak (VmHWM) {} MiB",
        rss_before / 1024,
        hwm / 1024
    );
}
