//! `sluice policy check|test|explain|diff`: the compliance team's tools for policy files.
//!
//! Output names entity types, spans, rule ids and reasons, never the text of an entity: these
//! commands run on real prompts and their output ends up in terminals, CI logs and review threads.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::config::Config;
use crate::detect::{DetectConfig, Entity, Pipeline};
use crate::policy::cases::{self, Outcome};
use crate::policy::diff::{self, DiffReport};
use crate::policy::model::{CaseInput, Policy};
use crate::policy::{self as engine, store, Decision, Diagnostic};

#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// Take the policy directory, the rule packs and the NER model from this sluice.toml (its
    /// relative paths are relative to the file), so the commands work from any directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files; exits 1 if any has an error.
    Check {
        /// Policy files (default: policies/*.toml).
        files: Vec<PathBuf>,
    },
    /// Run the policies' inline test cases (text cases through the real detectors); exits 1 if any fails.
    Test {
        /// Policy files (default: policies/*.toml).
        files: Vec<PathBuf>,
        #[command(flatten)]
        detect: DetectArgs,
    },
    /// Show the entities found in a text, the rules they fire and the resulting action.
    Explain {
        /// A policy name (looked up in --dir) or a policy file; repeat for a policy set.
        #[arg(long = "policy", short = 'p', required = true)]
        policies: Vec<String>,
        /// Where policy names are looked up [default: `[policies] dir` of --config, else
        /// policies].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Read the text from this file ("-" for stdin).
        #[arg(long, conflicts_with = "text")]
        file: Option<PathBuf>,
        /// The text (default: read stdin).
        text: Option<String>,
        /// Print JSON: {"entities": [...], "decision": {...}, "route": {...}}.
        #[arg(long)]
        json: bool,
        /// With --config: the requested model the task routing rules see.
        #[arg(long, default_value = "default")]
        model: String,
        /// With --config: the `x-sluice-task` hint the task routing rules see.
        #[arg(long)]
        task: Option<String>,
        #[command(flatten)]
        detect: DetectArgs,
    },
    /// Judge a corpus under two versions of a policy and list every text whose action changes.
    /// Exits 1 if some change loosens protection.
    Diff {
        /// The policy file before the edit.
        old: PathBuf,
        /// The policy file after the edit.
        new: PathBuf,
        /// A directory of .txt files, or a JSONL file of {"id": ..., "text": ...} lines.
        #[arg(long)]
        corpus: PathBuf,
        #[command(flatten)]
        detect: DetectArgs,
    },
}

/// How `test`, `explain` and `diff` build the detection pipeline.
#[derive(Debug, Clone, clap::Args)]
pub struct DetectArgs {
    /// Directory of regex rule packs (dictionaries in its dictionaries/ subdirectory)
    /// [default: `[detect] rules` of --config, else rules].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Do not run the NER model (names and addresses are then found only by rules).
    #[arg(long)]
    pub no_ner: bool,
}

impl DetectArgs {
    /// The pipeline `[detect]` of the configuration describes (the defaults without one), with
    /// these flags applied.
    fn pipeline(&self, configured: Option<&Config>) -> anyhow::Result<Pipeline> {
        let base = configured.map(|c| c.detect.clone()).unwrap_or_default();
        let cfg = DetectConfig {
            rules: self.rules.clone().unwrap_or(base.rules.clone()),
            ner: base.ner && !self.no_ner,
            ..base
        };
        Pipeline::from_config(&cfg).context("cannot build the detection pipeline")
    }
}

pub fn run(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let configured = match &args.config {
        Some(path) => Some(Config::load(path)?),
        None => None,
    };
    let configured = configured.as_ref();
    let policy_dir = configured.map_or(PathBuf::from("policies"), |c| c.policies.dir.clone());
    let ok = match args.command {
        PolicyCommand::Check { files } => check(&policy_paths(files, &policy_dir)?, &mut out)?,
        PolicyCommand::Test { files, detect } => test(
            &policy_paths(files, &policy_dir)?,
            &detect,
            configured,
            &mut out,
        )?,
        PolicyCommand::Explain {
            policies,
            dir,
            file,
            text,
            json,
            model,
            task,
            detect,
        } => {
            let text = read_input(text, file.as_deref())?;
            let loaded = policies
                .iter()
                .map(|p| load_named(p, dir.as_deref().unwrap_or(&policy_dir)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let routing = match configured {
                Some(c) => Some(Routing {
                    rules: crate::route::RouteRules::compile(&c.routing.rules, &c.routing.keywords)
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                    model,
                    task,
                }),
                None => None,
            };
            let pipeline = detect.pipeline(configured)?;
            explain(&loaded, &text, &pipeline, routing.as_ref(), json, &mut out)?
        }
        PolicyCommand::Diff {
            old,
            new,
            corpus,
            detect,
        } => {
            let old = load_or_report(&old)?;
            let new = load_or_report(&new)?;
            let texts = diff::read_corpus(&corpus)?;
            let pipeline = detect.pipeline(configured)?;
            let report = diff::diff_policies(&old, &new, texts, |t| pipeline.scan(t))?;
            print_diff(&old, &new, &report, &mut out)?;
            report.loosened() == 0
        }
    };
    out.flush()?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The files given, or every `*.toml` in the policy directory.
fn policy_paths(files: Vec<PathBuf>, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !files.is_empty() {
        return Ok(files);
    }
    let found = store::policy_files(dir)
        .with_context(|| format!("no files given and cannot read {}", dir.display()))?;
    if found.is_empty() {
        bail!("no files given and no *.toml in {}", dir.display());
    }
    Ok(found)
}

/// Validates each file as the gateway would load it; prints errors and warnings.
pub fn check(paths: &[PathBuf], out: &mut dyn Write) -> anyhow::Result<bool> {
    let mut ok = true;
    for path in paths {
        match engine::load_file(path).and_then(|p| in_place(path, p)) {
            Ok(p) => {
                print_diagnostics(&p.warnings);
                writeln!(
                    out,
                    "{}: ok ({} {}, {} rules, {} tests)",
                    path.display(),
                    p.name,
                    p.short_version(),
                    p.rules.len(),
                    p.cases.len()
                )?;
            }
            Err(e) => {
                ok = false;
                print_diagnostics(&e.diagnostics);
            }
        }
    }
    Ok(ok)
}

/// The gateway finds a policy by its file name, so `check` insists they match.
fn in_place(path: &Path, p: Policy) -> Result<Policy, engine::PolicyError> {
    store::check_file_name(path, &p)?;
    Ok(p)
}

/// Runs every inline case of each file; text cases are scanned by a pipeline built on first need.
pub fn test(
    paths: &[PathBuf],
    detect: &DetectArgs,
    configured: Option<&Config>,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let mut pipeline: Option<Pipeline> = None;
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in paths {
        // Compiled, not loaded: a failing entity case must be shown as a case, not a load error.
        let policy = match engine::compile(
            path,
            &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        ) {
            Ok(p) => p,
            Err(e) => {
                print_diagnostics(&e.diagnostics);
                failed += 1;
                continue;
            }
        };
        writeln!(
            out,
            "{} ({} {})",
            path.display(),
            policy.name,
            policy.short_version()
        )?;
        for case in &policy.cases {
            if matches!(case.input, CaseInput::Text(_)) && pipeline.is_none() {
                pipeline = Some(detect.pipeline(configured)?);
            }
            let outcome = cases::run(&policy, case, |t| {
                pipeline
                    .as_ref()
                    .expect("built above for text cases")
                    .scan(t)
            });
            let kind = match case.input {
                CaseInput::Text(_) => "text",
                CaseInput::Entities(_) => "entities",
            };
            if outcome.passed() {
                passed += 1;
                writeln!(
                    out,
                    "  ok    {} [{kind}, line {}]",
                    case.name, case.position.line
                )?;
            } else {
                failed += 1;
                writeln!(
                    out,
                    "  FAIL  {} [{kind}, line {}]",
                    case.name, case.position.line
                )?;
                print_case_diff(&outcome, out)?;
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(failed == 0)
}

fn print_case_diff(outcome: &Outcome, out: &mut dyn Write) -> std::io::Result<()> {
    for p in &outcome.problems {
        writeln!(out, "        - {p}")?;
    }
    if !outcome.found.is_empty() {
        writeln!(out, "        found: {}", outcome.found.join(", "))?;
    }
    if let Some(d) = &outcome.decision {
        if d.fired.is_empty() {
            writeln!(out, "        fired: none (default applied)")?;
        }
        for f in &d.fired {
            writeln!(
                out,
                "        fired: {} [{}] {}",
                f.rule,
                f.action,
                triggers(f)
            )?;
        }
    }
    Ok(())
}

/// Scans `text` once and prints entities (types and spans, never values), rules fired and action.
/// The task routing rules of a configuration, and the request they are shown.
pub struct Routing {
    pub rules: crate::route::RouteRules,
    pub model: String,
    pub task: Option<String>,
}

impl Routing {
    /// What routing does with `text` under `action`, as a sentence and as JSON.
    fn describe(&self, text: &str, action: engine::Action) -> (String, serde_json::Value) {
        if !matches!(action, engine::Action::Allow | engine::Action::Redact) {
            return (
                format!("route: task rules are not consulted for a {action} decision"),
                serde_json::json!({"consulted": false}),
            );
        }
        let request: crate::openai::ChatCompletionRequest = serde_json::from_value(
            serde_json::json!({"model": self.model, "messages": [{"role": "user", "content": text}]}),
        )
        .expect("a one-message request is well formed");
        let features = crate::route::Features::of(&request, self.task.as_deref());
        match self.rules.choose(&features) {
            Some(chosen) => (
                format!(
                    "route: task rule {} -> backend {} (about {} prompt tokens)",
                    chosen.rule, chosen.to, features.prompt_tokens
                ),
                serde_json::json!({"consulted": true, "rule": chosen.rule, "backend": chosen.to}),
            ),
            None => (
                format!(
                    "route: no task rule holds (about {} prompt tokens): the model's or the default route",
                    features.prompt_tokens
                ),
                serde_json::json!({"consulted": true, "rule": null}),
            ),
        }
    }
}

pub fn explain(
    policies: &[Policy],
    text: &str,
    pipeline: &Pipeline,
    routing: Option<&Routing>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let scan = pipeline.scan(text);
    let decision = engine::decide(policies, scan.as_deref());
    let route = routing.map(|r| r.describe(text, decision.action));
    if json {
        let entities: &[Entity] = scan.as_deref().unwrap_or(&[]);
        let doc = serde_json::json!({
            "entities": entities,
            "detection_error": scan.as_ref().err().map(ToString::to_string),
            "decision": decision,
            "route": route.as_ref().map(|r| &r.1),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(scan.is_ok());
    }
    match &scan {
        Ok(entities) => {
            writeln!(out, "entities ({}):", entities.len())?;
            for e in entities {
                let validated = if e.validated { ", validated" } else { "" };
                writeln!(
                    out,
                    "  {:<22} {:>6}..{:<6} score {:.2}  {}:{}{validated}",
                    e.entity_type,
                    e.start,
                    e.end,
                    e.score,
                    e.detector.as_str(),
                    e.rule_id
                )?;
            }
        }
        Err(e) => writeln!(out, "detection failed: {e}")?,
    }
    print_decision(&decision, out)?;
    if let Some((sentence, _)) = route {
        writeln!(out, "{sentence}")?;
    }
    Ok(scan.is_ok())
}

fn print_decision(d: &Decision, out: &mut dyn Write) -> std::io::Result<()> {
    for v in &d.policies {
        let short = v.version.get(..12).unwrap_or(&v.version);
        let how = if v.by_default {
            " (default, no rule fired)"
        } else {
            ""
        };
        writeln!(out, "policy {} {short}: {}{how}", v.name, v.action)?;
        for f in d.fired.iter().filter(|f| f.policy == v.name) {
            writeln!(out, "  {} [{}] {}", f.rule, f.action, triggers(f))?;
            writeln!(out, "      {}", f.reason)?;
        }
    }
    for f in d
        .fired
        .iter()
        .filter(|f| !d.policies.iter().any(|v| v.name == f.policy))
    {
        writeln!(out, "  {}/{} [{}] {}", f.policy, f.rule, f.action, f.reason)?;
    }
    if !d.redact_types.is_empty() {
        writeln!(out, "redact: {}", d.redact_types.join(", "))?;
    }
    writeln!(out, "decision: {}", d.action)
}

fn triggers(f: &engine::FiredRule) -> String {
    let parts: Vec<String> = f
        .triggers
        .iter()
        .map(|t| format!("{}×{}", t.entity_type, t.count))
        .collect();
    parts.join(" ")
}

fn print_diff(
    old: &Policy,
    new: &Policy,
    r: &DiffReport,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({} {}) -> {} ({} {})",
        old.source.display(),
        old.name,
        old.short_version(),
        new.source.display(),
        new.name,
        new.short_version()
    )?;
    for c in &r.changes {
        let flag = if c.loosens() { "LOOSER" } else { "stricter" };
        writeln!(
            out,
            "  {flag:<8}  {:<6} -> {:<6}  {}  (old: {}; new: {})",
            c.old.action,
            c.new.action,
            c.id,
            fired_summary(&c.old),
            fired_summary(&c.new)
        )?;
    }
    let stricter = r.changes.len() - r.loosened();
    writeln!(
        out,
        "{} texts, {} changed ({} looser, {stricter} stricter), {} could not be scanned",
        r.texts,
        r.changes.len(),
        r.loosened(),
        r.scan_failures
    )
}

fn fired_summary(d: &Decision) -> String {
    if d.fired.is_empty() {
        return "default".into();
    }
    let ids: Vec<&str> = d.fired.iter().map(|f| &*f.rule).collect();
    ids.join(", ")
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

/// Loads a policy given by name (from `dir`) or by path.
fn load_named(name_or_path: &str, dir: &Path) -> anyhow::Result<Policy> {
    let as_path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || as_path.components().count() > 1 {
        return load_or_report(as_path);
    }
    let path = dir.join(format!("{name_or_path}.toml"));
    if !path.exists() {
        let known: Vec<String> = store::policy_files(dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
            .collect();
        let hint = crate::detect::catalog::nearest(name_or_path, known.iter().map(String::as_str))
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        bail!(
            "no policy `{name_or_path}` in {}{hint}; available: {}",
            dir.display(),
            known.join(", ")
        );
    }
    load_or_report(&path)
}

fn load_or_report(path: &Path) -> anyhow::Result<Policy> {
    engine::load_file(path).map_err(|e| anyhow::anyhow!("{e}\n{}: not loaded", path.display()))
}

fn read_input(text: Option<String>, file: Option<&Path>) -> anyhow::Result<String> {
    match (text, file) {
        (Some(t), _) if t != "-" => Ok(t),
        (_, Some(f)) if f != Path::new("-") => {
            let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
            String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{}: not valid UTF-8", f.display()))
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            String::from_utf8(buf).map_err(|_| anyhow::anyhow!("stdin: not valid UTF-8"))
        }
    }
}
