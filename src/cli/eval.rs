//! `sluice eval`: detection figures on a labelled corpus, and the gate against recorded ones.
//!
//! It builds the pipeline and the policy set exactly as `sluice serve` would from a sluice.toml
//! (relative paths resolved against the config's directory), so the figures are those of the
//! deployment being evaluated. Output names types, kinds, templates and ids, never text.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::detect::Pipeline;
use crate::eval::baseline::Baseline;
use crate::eval::run::{evaluate, Setup};
use crate::eval::{corpus, table};
use crate::policy::PolicyStore;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The labelled corpus (JSON Lines, see tests/eval/README.md).
    #[arg(long, default_value = "tests/eval/corpus.jsonl")]
    pub corpus: PathBuf,
    /// The gateway configuration whose [detect] and [policies] are evaluated.
    #[arg(long, default_value = "sluice.toml")]
    pub config: PathBuf,
    /// Use this NER graph instead of the config's `ner_model`.
    #[arg(long, conflicts_with = "no_ner")]
    pub ner_model: Option<PathBuf>,
    /// Skip the NER model (regex and dictionaries only).
    #[arg(long)]
    pub no_ner: bool,
    /// Write the full report as JSON here.
    #[arg(long)]
    pub json_out: Option<PathBuf>,
    /// Compare with these recorded figures; exit 1 on a regression beyond their tolerances.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Record this run's figures as the --baseline file (keeping its tolerances).
    #[arg(long, requires = "baseline")]
    pub write_baseline: bool,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(&args.config)?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    config.detect.resolve_paths(base);
    if args.no_ner {
        config.detect.ner = false;
    }
    if let Some(model) = &args.ner_model {
        config.detect.ner_model = Some(model.clone());
    }
    let policy_dir = base.join(&config.policies.dir);
    let store = PolicyStore::open(&policy_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let snapshot = store.snapshot();
    let set = config.policies.default_set.clone();
    snapshot
        .check_set(&set)
        .map_err(|e| anyhow::anyhow!("[policies] default_set: {e}"))?;

    let bytes = std::fs::read(&args.corpus)
        .with_context(|| format!("cannot read the corpus {}", args.corpus.display()))?;
    let records = corpus::parse(&args.corpus.display().to_string(), &bytes)?;
    let loading = Instant::now();
    let pipeline = Pipeline::from_config(&config.detect).context("loading detectors")?;
    eprintln!(
        "sluice eval: {} records, detectors loaded in {:.1} s",
        records.len(),
        loading.elapsed().as_secs_f64()
    );
    let setup = Setup {
        corpus: args.corpus.display().to_string(),
        corpus_sha256: hex::encode(Sha256::digest(&bytes)),
        records: records.len() as u64,
        ner: config.detect.ner,
        ner_model: config.detect.ner.then(|| ner_model_name(&config)),
        policies: set.clone(),
    };
    let report = evaluate(
        &records,
        setup,
        |text| pipeline.scan(text),
        |entities| snapshot.decide(&set, Ok::<_, ()>(entities)),
    );

    let mut out = std::io::stdout().lock();
    table::print(&report, &mut out)?;
    if let Some(path) = &args.json_out {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut json = serde_json::to_string_pretty(&report)?;
        json.push('\n');
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let Some(path) = &args.baseline else {
        return Ok(ExitCode::SUCCESS);
    };
    if args.write_baseline {
        let previous = path.exists().then(|| Baseline::load(path)).transpose()?;
        Baseline::record(&report, previous.as_ref()).write(path)?;
        println!("baseline recorded in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let regressions = Baseline::load(path)?.regressions(&report)?;
    if regressions.is_empty() {
        println!("no regression against {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "sluice eval: detection regressed against {}:",
        path.display()
    );
    for r in &regressions {
        eprintln!("  - {r}");
    }
    eprintln!("(if the change is intended, re-record with `make eval-baseline` and say why in the commit)");
    Ok(ExitCode::from(1))
}

/// The graph's file name: what tells an int8 model from the default one in a baseline.
fn ner_model_name(config: &Config) -> String {
    let path = config.detect.ner_model.clone().unwrap_or_else(|| {
        config
            .detect
            .ner_model_dir
            .join(crate::detect::ner::DEFAULT_MODEL_FILE)
    });
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
