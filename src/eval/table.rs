//! The human-readable form of a [`Report`]: one table per view, figures as percentages.
//!
//! Only figures, entity types, kinds and template names are printed: this runs in CI logs and,
//! on real corpora, anywhere.

use std::io::Write;

use super::run::{Report, TypeReport};

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.1}", 100.0 * v))
}

fn row(out: &mut dyn Write, name: &str, r: &TypeReport) -> std::io::Result<()> {
    let f = &r.figures;
    let c = &r.counts;
    writeln!(
        out,
        "{name:<24} {:>6} {:>7} {:>7} {:>7} {:>7} | {:>6} {:>7} {:>7} {:>7}",
        c.gold_entities,
        pct(f.char_recall),
        pct(f.typed_char_recall),
        pct(f.entity_recall),
        pct(f.char_precision),
        c.detected_entities,
        pct(f.entity_precision),
        pct(f.entity_f2),
        if c.gold_entities > 0 {
            (c.gold_entities - c.gold_entities_found).to_string()
        } else {
            "-".into()
        },
    )
}

pub fn print(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.setup;
    writeln!(
        out,
        "corpus {} ({} records, sha256 {}), NER {}, policies {}",
        s.corpus,
        s.records,
        s.corpus_sha256.get(..12).unwrap_or(&s.corpus_sha256),
        s.ner_model.as_deref().unwrap_or("off"),
        s.policies.join("+")
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>6} {:>7} {:>7} {:>7} {:>7} | {:>6} {:>7} {:>7} {:>7}",
        "type", "gold", "chR%", "typR%", "entR%", "chP%", "found", "entP%", "F2%", "missed"
    )?;
    row(out, "ALL", &report.overall)?;
    for (ty, r) in &report.types {
        row(out, ty, r)?;
    }
    writeln!(out)?;
    writeln!(out, "by kind:")?;
    for (kind, r) in &report.kinds {
        row(out, kind, r)?;
    }
    let c = &report.cleared;
    writeln!(out)?;
    writeln!(
        out,
        "cleared prompts: {}; decided other than allow: {} ({}%); with a spurious entity: {} ({}%)",
        c.prompts,
        c.not_allowed,
        pct(c.false_alarm_rate),
        c.with_spurious_entity,
        pct(c.spurious_entity_rate)
    )?;
    let actions: Vec<String> = c.actions.iter().map(|(a, n)| format!("{a} {n}")).collect();
    writeln!(out, "  actions: {}", actions.join(", "))?;
    let mut spurious: Vec<(&String, &u64)> = c.spurious_types.iter().collect();
    spurious.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let spurious: Vec<String> = spurious.iter().map(|(t, n)| format!("{t} {n}")).collect();
    writeln!(out, "  spurious entities: {}", spurious.join(", "))?;
    for (group, g) in &c.groups {
        writeln!(
            out,
            "  {group:<28} {:>5} prompts, {:>4} not allowed ({}%)",
            g.prompts,
            g.not_allowed,
            pct(super::score::ratio(g.not_allowed, g.prompts))
        )?;
    }
    let d = &report.decisions;
    writeln!(
        out,
        "labelled records: {}; decided less strictly than their gold entities: {} ({}%), more strictly: {}",
        d.records,
        d.under_protected,
        pct(d.under_protected_rate),
        d.over_protected
    )?;
    if report.scan_errors > 0 {
        writeln!(
            out,
            "scan errors: {} (counted as finding nothing)",
            report.scan_errors
        )?;
    }
    if !report.misses.is_empty() {
        writeln!(out)?;
        writeln!(out, "most missed (template, type: missed/total):")?;
        for m in &report.misses {
            writeln!(
                out,
                "  {:<40} {:<22} {}/{}",
                m.template, m.entity_type, m.missed, m.total
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "scan time {:.1} s, {:.0} texts/s",
        report.timing.scan_seconds, report.timing.texts_per_second
    )?;
    writeln!(
        out,
        "chR: gold characters covered by any detection; typR: by a detection of the same type; \
         entR: gold entities at least half covered; chP: detected characters inside gold spans; \
         entP: detections at least half inside gold; F2 weighs recall 4x (README, \"Evaluating detection\")."
    )
}
