//! How far two models' findings on the same text agree: entity by entity (same type and span),
//! character by character (covered, and as which type), and on the planted values (covered or not).

use std::collections::BTreeMap;
use std::ops::Range;

use sluice::detect::Finding;

/// Entity counts of one type.
#[derive(Default)]
pub struct TypeCount {
    pub reference: usize,
    pub candidate: usize,
    pub same: usize,
}

/// Agreement of a candidate model with a reference model, summed over texts.
#[derive(Default)]
pub struct Agreement {
    pub texts: usize,
    /// Texts whose findings are identical in type and span.
    pub identical_texts: usize,
    pub reference: usize,
    pub candidate: usize,
    /// Findings of both with the same type and span.
    pub same: usize,
    /// Characters covered by either model, and those covered by only one or as different types.
    pub covered_either: usize,
    pub covered_reference: usize,
    pub covered_candidate: usize,
    pub covered_differently: usize,
    /// Characters of planted values, and those each model covers (as any type).
    pub planted: usize,
    pub planted_reference: usize,
    pub planted_candidate: usize,
    /// The largest score difference on a finding both share.
    pub max_score_diff: f32,
    pub by_type: BTreeMap<String, TypeCount>,
}

/// The findings at or above `min_score`, in text order.
fn kept(findings: &[Finding], min_score: f32) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = findings.iter().filter(|f| f.score >= min_score).collect();
    v.sort_by(|a, b| (a.start, a.end, &a.entity_type).cmp(&(b.start, b.end, &b.entity_type)));
    v
}

/// The type covering each character of `text` (by char index), per the findings.
fn coverage<'f>(text: &str, findings: &[&'f Finding]) -> Vec<Option<&'f str>> {
    let mut by_byte: Vec<Option<&str>> = vec![None; text.len()];
    for f in findings {
        by_byte[f.start..f.end].fill(Some(f.entity_type.as_str()));
    }
    text.char_indices().map(|(i, _)| by_byte[i]).collect()
}

fn char_range(text: &str, bytes: &Range<usize>) -> Range<usize> {
    text[..bytes.start].chars().count()..text[..bytes.end].chars().count()
}

impl Agreement {
    /// Adds one text: findings below `min_score` are left out, as the pipeline's merge does.
    pub fn add(
        &mut self,
        text: &str,
        planted: &[Range<usize>],
        reference: &[Finding],
        candidate: &[Finding],
        min_score: f32,
    ) {
        let (r, c) = (kept(reference, min_score), kept(candidate, min_score));
        let key = |f: &Finding| (f.start, f.end, f.entity_type.clone());
        self.texts += 1;
        self.reference += r.len();
        self.candidate += c.len();
        let mut same = 0;
        for f in &r {
            self.by_type
                .entry(f.entity_type.clone())
                .or_default()
                .reference += 1;
            if let Some(g) = c.iter().find(|g| key(g) == key(f)) {
                same += 1;
                self.by_type.entry(f.entity_type.clone()).or_default().same += 1;
                self.max_score_diff = self.max_score_diff.max((f.score - g.score).abs());
            }
        }
        for f in &c {
            self.by_type
                .entry(f.entity_type.clone())
                .or_default()
                .candidate += 1;
        }
        self.same += same;
        if same == r.len() && same == c.len() {
            self.identical_texts += 1;
        }

        let (rc, cc) = (coverage(text, &r), coverage(text, &c));
        for (a, b) in rc.iter().zip(&cc) {
            self.covered_either += usize::from(a.is_some() || b.is_some());
            self.covered_reference += usize::from(a.is_some());
            self.covered_candidate += usize::from(b.is_some());
            self.covered_differently += usize::from(a != b);
        }
        for span in planted {
            for i in char_range(text, span) {
                self.planted += 1;
                self.planted_reference += usize::from(rc[i].is_some());
                self.planted_candidate += usize::from(cc[i].is_some());
            }
        }
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * part as f64 / whole as f64)
    }
}

/// One markdown table row: texts, identical texts, entities of each, same type+span (of the
/// union), characters covered by each, characters covered differently (of those covered by
/// either), planted coverage of each.
pub fn row(name: &str, a: &Agreement) -> String {
    let union = a.reference + a.candidate - a.same;
    format!(
        "| {name} | {} | {} | {} | {} | {} ({}) | {} / {} | {} ({}) | {} | {} |",
        a.texts,
        percent(a.identical_texts, a.texts),
        a.reference,
        a.candidate,
        a.same,
        percent(a.same, union),
        a.covered_reference,
        a.covered_candidate,
        a.covered_differently,
        percent(a.covered_differently, a.covered_either),
        percent(a.planted_reference, a.planted),
        percent(a.planted_candidate, a.planted),
    )
}

pub const HEADER: &str =
    "| texts | n | identical | q4 entities | int8 entities | same type+span (of union) \
| chars covered q4 / int8 | covered differently (of either) | planted chars found q4 | int8 |\n\
|---|---|---|---|---|---|---|---|---|---|";
