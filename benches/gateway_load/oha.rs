//! Runs the load tool oha as a subprocess, bounded in time, and reads its JSON summary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How one load run is shaped.
#[derive(Clone, Copy)]
pub enum Load {
    /// `connections` clients, each sending its next request as soon as the last one answered.
    Closed { connections: usize },
    /// A fixed arrival rate spread over `connections`; latency is measured from each request's
    /// scheduled send time (oha's --latency-correction), so a stall is not hidden.
    Rate { per_sec: u32, connections: usize },
}

/// What a run measured.
pub struct Outcome {
    pub ok: u64,
    pub failed: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The oha binary: $OHA, else on PATH, else cargo's bin directory.
pub fn find() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("OHA") {
        return Ok(PathBuf::from(p));
    }
    if Command::new("oha")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return Ok(PathBuf::from("oha"));
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    if let Some(p) = home.map(|h| h.join("bin/oha")).filter(|p| p.exists()) {
        return Ok(p);
    }
    bail!("the load tool oha is missing: install it with `cargo install oha --locked` (or set OHA)")
}

/// One run of `duration` against `url`, each request a random line of `bodies`.
pub fn run(
    oha: &Path,
    url: &str,
    bearer: &str,
    bodies: &Path,
    load: Load,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let mut cmd = Command::new(oha);
    cmd.args(["--no-tui", "--output-format", "json", "-m", "POST"])
        .args(["-T", "application/json"])
        .args(["-H", &format!("Authorization: Bearer {bearer}")])
        .arg("-Z")
        .arg(bodies)
        .args(["-t", "30s", "-w"])
        .args(["-z", &format!("{}ms", duration.as_millis())]);
    match load {
        Load::Closed { connections } => {
            cmd.args(["-c", &connections.to_string()]);
        }
        Load::Rate {
            per_sec,
            connections,
        } => {
            cmd.args(["-c", &connections.to_string()]).args([
                "-q",
                &per_sec.to_string(),
                "--latency-correction",
            ]);
        }
    }
    cmd.arg(url).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().context("starting oha")?;
    let output = wait_bounded(child, duration + Duration::from_secs(60))?;
    if !output.status.success() {
        bail!(
            "oha failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&output.stdout)
}

/// Waits for `child`, killing it when `limit` has passed.
fn wait_bounded(
    mut child: std::process::Child,
    limit: Duration,
) -> anyhow::Result<std::process::Output> {
    let deadline = Instant::now() + limit;
    // Drain the pipes on threads so a large summary cannot block the child.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).map(|_| b)
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).map(|_| b)
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            bail!("oha did not finish within {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().expect("reader thread")?,
        stderr: err.join().expect("reader thread")?,
    })
}

fn parse(json: &[u8]) -> anyhow::Result<Outcome> {
    let v: serde_json::Value = serde_json::from_slice(json).context("oha's JSON summary")?;
    let statuses = v["statusCodeDistribution"]
        .as_object()
        .context("statusCodeDistribution")?;
    let mut ok = 0;
    let mut failed = 0;
    for (code, n) in statuses {
        let n = n.as_u64().unwrap_or(0);
        if code == "200" {
            ok += n;
        } else {
            failed += n;
        }
    }
    if let Some(errors) = v["errorDistribution"].as_object() {
        failed += errors.values().filter_map(|n| n.as_u64()).sum::<u64>();
    }
    let number = |path: &[&str]| -> anyhow::Result<f64> {
        let mut x = &v;
        for key in path {
            x = &x[*key];
        }
        x.as_f64()
            .with_context(|| format!("oha summary field {}", path.join(".")))
    };
    Ok(Outcome {
        ok,
        failed,
        rps: number(&["summary", "requestsPerSec"])?,
        p50_ms: number(&["metrics", "latency_ms", "p50"])?,
        p99_ms: number(&["metrics", "latency_ms", "p99"])?,
    })
}
