//! `sluice scan`: text in, entities out.
//!
//! For people tuning rules and for evaluating detection over thousands of records in one process
//! (`--jsonl`). Matched values are not printed unless `--show-values` is given: scan output tends to
//! end up in CI logs and tickets, where raw PII must not.

use std::io::{BufRead, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::text_input::{Pieces, DEFAULT_PIECE};
use crate::detect::{DetectConfig, Entity, Pipeline};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// File to scan; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Input is JSON Lines: one {"id": ..., "text": ...} per line; output one {"id", "entities"} per line.
    #[arg(long)]
    pub jsonl: bool,
    /// Print the text as a cloud model would receive it under a `redact` decision: every entity
    /// (and every other occurrence of its value) replaced by a numbered placeholder.
    #[arg(long)]
    pub redact: bool,
    /// Placeholder template for --redact: {type} is the entity type, {n} numbers values per type.
    #[arg(long, default_value = crate::redact::format::DEFAULT_TEMPLATE, value_parser = crate::redact::PlaceholderFormat::parse)]
    pub placeholder: crate::redact::PlaceholderFormat,
    /// Skip the NER model (regex and dictionaries only).
    #[arg(long)]
    pub no_ner: bool,
    /// Rule pack directory (default: rules).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Show which rule or model label produced each entity and the context words that raised it.
    #[arg(long)]
    pub explain: bool,
    /// Include the matched values in the output.
    #[arg(long)]
    pub show_values: bool,
    /// Replace invalid UTF-8 with U+FFFD (with a warning) instead of failing.
    #[arg(long)]
    pub lossy: bool,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = DetectConfig::default();
    if let Some(r) = &args.rules {
        cfg.rules = r.clone();
    }
    cfg.ner = !args.no_ner;
    let pipeline = Pipeline::from_config(&cfg).context("loading detectors")?;
    let input: Box<dyn Read> = match &args.input {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => {
            Box::new(std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?)
        }
    };
    let out = std::io::stdout().lock();
    let mut out = BufWriter::new(out);
    let code = if args.jsonl {
        scan_jsonl(&pipeline, input, &mut out)?
    } else {
        scan_text(&pipeline, input, &args, &mut out)?
    };
    out.flush()?;
    Ok(code)
}

#[derive(Serialize)]
struct Reported<'a> {
    #[serde(flatten)]
    entity: &'a Entity,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

fn scan_text(
    pipeline: &Pipeline,
    input: Box<dyn Read>,
    args: &ScanArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let mut pieces = Pieces::new(input, DEFAULT_PIECE, args.lossy);
    let mut offset = 0usize;
    let mut all = Vec::new();
    // One mapping for the whole input, so numbering is stable across pieces.
    let mut pseudonyms = crate::redact::Pseudonyms::new(args.placeholder.clone());
    while let Some(piece) = pieces.next_piece()? {
        let entities = pipeline.scan(&piece)?;
        if args.redact {
            let redacted = crate::redact::pseudonymize_text(&mut pseudonyms, &piece, &entities);
            out.write_all(redacted.as_bytes())?;
        } else {
            let values = args
                .show_values
                .then(|| piece.chars().collect::<Vec<char>>());
            for e in entities {
                let value = values.as_ref().map(|v| v[e.start..e.end].iter().collect());
                let shifted = Entity {
                    start: e.start + offset,
                    end: e.end + offset,
                    ..e
                };
                match args.format {
                    Format::Text => write_text_line(out, &shifted, value.as_deref(), args.explain)?,
                    Format::Jsonl => {
                        serde_json::to_writer(
                            &mut *out,
                            &Reported {
                                entity: &shifted,
                                value,
                            },
                        )?;
                        out.write_all(b"\n")?;
                    }
                    Format::Json => all.push((shifted, value)),
                }
            }
        }
        offset += piece.chars().count();
    }
    if pieces.replaced {
        eprintln!("sluice: warning: input had invalid UTF-8; bad bytes were replaced with U+FFFD (offsets count the replacements)");
    }
    if args.format == Format::Json && !args.redact {
        let reported: Vec<Reported> = all
            .iter()
            .map(|(e, v)| Reported {
                entity: e,
                value: v.clone(),
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "entities": reported }))?;
        out.write_all(b"\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_text_line(
    out: &mut impl Write,
    e: &Entity,
    value: Option<&str>,
    explain: bool,
) -> std::io::Result<()> {
    write!(
        out,
        "{}..{}\t{}\t{:.2}",
        e.start, e.end, e.entity_type, e.score
    )?;
    if let Some(v) = value {
        write!(out, "\t{v:?}")?;
    }
    if explain {
        write!(out, "\t{}:{}", e.detector.as_str(), e.rule_id)?;
        if e.validated {
            write!(out, " validated")?;
        }
        if !e.context.is_empty() {
            write!(out, " context=[{}]", e.context.join(", "))?;
        }
        if let Some(decoded) = e.decoded {
            write!(out, " decoded={}", decoded.as_str())?;
        }
    }
    writeln!(out)
}

#[derive(Deserialize)]
struct JsonlRecord {
    id: serde_json::Value,
    text: String,
}

/// One record per line; a bad line is reported on stderr (by line number, never its content) and
/// the exit code says some records failed.
fn scan_jsonl(
    pipeline: &Pipeline,
    input: Box<dyn Read>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let reader = std::io::BufReader::new(input);
    let mut failed = 0usize;
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: JsonlRecord = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!(
                    "sluice: line {}: not a {{\"id\", \"text\"}} JSON object: {}",
                    i + 1,
                    json_error_kind(&e)
                );
                failed += 1;
                continue;
            }
        };
        match pipeline.scan(&record.text) {
            Ok(entities) => {
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({ "id": record.id, "entities": entities }),
                )?;
            }
            Err(e) => {
                failed += 1;
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({ "id": record.id, "error": e.to_string() }),
                )?;
            }
        }
        out.write_all(b"\n")?;
    }
    if failed > 0 {
        eprintln!("sluice: {failed} record(s) failed");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// What kind of JSON error, without serde_json's message, which can quote the input (maybe PII).
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "wrong fields or types",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}
