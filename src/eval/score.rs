//! Scoring detected entities against gold spans: the figures every detection change is judged by.
//!
//! Character level (the primary figures; robust to boundary conventions such as whether "Dr." or
//! a trailing comma belongs to a span):
//! - recall of a gold type: the share of its characters covered by any detected entity, whatever
//!   that entity's type (a phone number found as FAX_NUMBER is still protected);
//! - typed recall: the same, counting only detected entities of the gold span's own type;
//! - precision of a detected type: the share of the characters its entities cover (each
//!   character once) that lie inside some gold span, of any type.
//!
//! Entity level, type-agnostic, by half coverage (so an entity split in two, "Ann" + "Lee" for
//! "Ann Lee", is neither a miss nor two false alarms):
//! - a gold entity is found when detected entities together cover at least half its characters;
//! - a detected entity is correct when at least half its characters lie inside gold spans;
//! - precision = correct / detected, recall = found / gold, F2 = 5PR / (4P + R), which weighs
//!   recall four times as much as precision: a miss leaks, a false alarm only costs a cloud call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A span of either side: code point offsets, end exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span<'a> {
    pub start: usize,
    pub end: usize,
    pub entity_type: &'a str,
}

/// Counts for one entity type: gold-side counts by gold type, detected-side by detected type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeCounts {
    pub gold_entities: u64,
    pub gold_chars: u64,
    pub gold_chars_found: u64,
    pub gold_chars_found_typed: u64,
    pub gold_entities_found: u64,
    pub detected_entities: u64,
    pub detected_chars: u64,
    pub detected_chars_in_gold: u64,
    pub detected_entities_correct: u64,
}

impl TypeCounts {
    fn add(&mut self, o: &TypeCounts) {
        self.gold_entities += o.gold_entities;
        self.gold_chars += o.gold_chars;
        self.gold_chars_found += o.gold_chars_found;
        self.gold_chars_found_typed += o.gold_chars_found_typed;
        self.gold_entities_found += o.gold_entities_found;
        self.detected_entities += o.detected_entities;
        self.detected_chars += o.detected_chars;
        self.detected_chars_in_gold += o.detected_chars_in_gold;
        self.detected_entities_correct += o.detected_entities_correct;
    }
}

/// Running totals over a corpus.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Overall counts; `detected_chars` here is the union over all types (each character once).
    pub overall: TypeCounts,
    pub types: BTreeMap<String, TypeCounts>,
}

impl Tally {
    /// Adds one text of `chars` code points. Spans past the end are clipped.
    pub fn add(&mut self, chars: usize, gold: &[Span], detected: &[Span]) {
        let mut record = TypeCounts::default();
        let mut per_type: BTreeMap<&str, TypeCounts> = BTreeMap::new();
        // Which gold span each character belongs to (gold spans never overlap).
        let mut gold_at: Vec<Option<usize>> = vec![None; chars];
        for (g, s) in gold.iter().enumerate() {
            for slot in &mut gold_at[s.start.min(chars)..s.end.min(chars)] {
                *slot = Some(g);
            }
        }
        let mut covered = vec![false; chars];
        let mut covered_typed = vec![false; chars];
        for d in detected {
            for c in d.start.min(chars)..d.end.min(chars) {
                covered[c] = true;
                if gold_at[c].is_some_and(|g| gold[g].entity_type == d.entity_type) {
                    covered_typed[c] = true;
                }
            }
        }
        for s in gold {
            let range = s.start.min(chars)..s.end.min(chars);
            let len = range.len() as u64;
            let found = covered[range.clone()].iter().filter(|&&c| c).count() as u64;
            let typed = covered_typed[range].iter().filter(|&&c| c).count() as u64;
            let t = per_type.entry(s.entity_type).or_default();
            t.gold_entities += 1;
            t.gold_chars += len;
            t.gold_chars_found += found;
            t.gold_chars_found_typed += typed;
            t.gold_entities_found += u64::from(len > 0 && 2 * found >= len);
        }
        for d in detected {
            let range = d.start.min(chars)..d.end.min(chars);
            let len = range.len() as u64;
            let inside = gold_at[range].iter().filter(|g| g.is_some()).count() as u64;
            let t = per_type.entry(d.entity_type).or_default();
            t.detected_entities += 1;
            t.detected_entities_correct += u64::from(len > 0 && 2 * inside >= len);
        }
        // Detected characters, each once: per type, and over all types.
        let mut types: Vec<&str> = detected.iter().map(|d| d.entity_type).collect();
        types.sort_unstable();
        types.dedup();
        let mut mask = vec![false; chars];
        for ty in types {
            mask.fill(false);
            for d in detected.iter().filter(|d| d.entity_type == ty) {
                mask[d.start.min(chars)..d.end.min(chars)].fill(true);
            }
            let (n, inside) = count_mask(&mask, &gold_at);
            let t = per_type.entry(ty).or_default();
            t.detected_chars += n;
            t.detected_chars_in_gold += inside;
        }
        let (n, inside) = count_mask(&covered, &gold_at);
        for t in per_type.values() {
            record.add(t);
        }
        record.detected_chars = n;
        record.detected_chars_in_gold = inside;
        self.overall.add(&record);
        for (ty, t) in per_type {
            self.types.entry(ty.to_string()).or_default().add(&t);
        }
    }
}

fn count_mask(mask: &[bool], gold_at: &[Option<usize>]) -> (u64, u64) {
    let mut n = 0;
    let mut inside = 0;
    for (m, g) in mask.iter().zip(gold_at) {
        if *m {
            n += 1;
            inside += u64::from(g.is_some());
        }
    }
    (n, inside)
}

/// A ratio, or None when there is nothing to divide by (no gold, no detection).
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// F-beta with beta = 2.
pub fn f2(precision: Option<f64>, recall: Option<f64>) -> Option<f64> {
    let (p, r) = (precision?, recall?);
    let den = 4.0 * p + r;
    Some(if den == 0.0 { 0.0 } else { 5.0 * p * r / den })
}

/// The figures of one set of counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub char_recall: Option<f64>,
    pub typed_char_recall: Option<f64>,
    pub char_precision: Option<f64>,
    pub entity_recall: Option<f64>,
    pub entity_precision: Option<f64>,
    pub entity_f2: Option<f64>,
}

impl TypeCounts {
    pub fn figures(&self) -> Figures {
        let entity_recall = ratio(self.gold_entities_found, self.gold_entities);
        let entity_precision = ratio(self.detected_entities_correct, self.detected_entities);
        Figures {
            char_recall: ratio(self.gold_chars_found, self.gold_chars),
            typed_char_recall: ratio(self.gold_chars_found_typed, self.gold_chars),
            char_precision: ratio(self.detected_chars_in_gold, self.detected_chars),
            entity_recall,
            entity_precision,
            entity_f2: f2(entity_precision, entity_recall),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(start: usize, end: usize, entity_type: &str) -> Span<'_> {
        Span {
            start,
            end,
            entity_type,
        }
    }

    #[test]
    fn hand_computed_figures() {
        // 30 characters. Gold: PERSON 0..10, US_SSN 20..30.
        // Detected: PERSON 0..4 and 5..10 (the name split in two, the space missed),
        // PHONE_NUMBER 20..25 (half of the SSN, wrong type), URL 12..16 (outside any gold span).
        let gold = [sp(0, 10, "PERSON"), sp(20, 30, "US_SSN")];
        let detected = [
            sp(0, 4, "PERSON"),
            sp(5, 10, "PERSON"),
            sp(20, 25, "PHONE_NUMBER"),
            sp(12, 16, "URL"),
        ];
        let mut t = Tally::default();
        t.add(30, &gold, &detected);
        let o = t.overall;
        assert_eq!((o.gold_chars, o.gold_chars_found), (20, 14)); // 9 of PERSON + 5 of SSN
        assert_eq!(o.gold_chars_found_typed, 9); // the phone does not count for the SSN
        assert_eq!((o.detected_chars, o.detected_chars_in_gold), (18, 14));
        assert_eq!((o.gold_entities, o.gold_entities_found), (2, 2)); // 9/10 and 5/10 covered
        assert_eq!((o.detected_entities, o.detected_entities_correct), (4, 3));
        let f = o.figures();
        assert_eq!(f.char_recall, Some(0.7));
        assert_eq!(f.typed_char_recall, Some(0.45));
        assert_eq!(f.char_precision, Some(14.0 / 18.0));
        assert_eq!(f.entity_recall, Some(1.0));
        assert_eq!(f.entity_precision, Some(0.75));
        // F2 = 5 * 0.75 * 1 / (4 * 0.75 + 1) = 3.75 / 4
        assert_eq!(f.entity_f2, Some(0.9375));

        let person = t.types["PERSON"].figures();
        assert_eq!(person.char_recall, Some(0.9));
        assert_eq!(person.char_precision, Some(1.0));
        let ssn = t.types["US_SSN"].figures();
        assert_eq!(ssn.char_recall, Some(0.5));
        assert_eq!(ssn.typed_char_recall, Some(0.0));
        assert_eq!(ssn.char_precision, None); // nothing was detected as US_SSN
        assert_eq!(t.types["URL"].figures().char_precision, Some(0.0));
        assert_eq!(t.types["URL"].figures().char_recall, None);
    }

    #[test]
    fn less_than_half_is_a_miss_and_overlapping_detections_count_once() {
        // Gold 0..10; two overlapping detections cover 0..4 only: 40%, a miss.
        let gold = [sp(0, 10, "PERSON")];
        let detected = [sp(0, 3, "PERSON"), sp(1, 4, "LOCATION")];
        let mut t = Tally::default();
        t.add(12, &gold, &detected);
        assert_eq!(t.overall.gold_entities_found, 0);
        assert_eq!(t.overall.gold_chars_found, 4);
        assert_eq!(t.overall.detected_chars, 4); // union, not 3 + 3
        assert_eq!(t.types["PERSON"].detected_chars, 3);
        assert_eq!(t.types["LOCATION"].detected_chars, 3);
    }

    #[test]
    fn texts_add_up_and_spans_are_clipped() {
        let mut t = Tally::default();
        t.add(5, &[sp(0, 5, "ZIP_CODE")], &[sp(0, 5, "ZIP_CODE")]);
        t.add(4, &[], &[sp(2, 9, "PERSON")]); // clipped to 2..4
        assert_eq!(t.overall.gold_chars, 5);
        assert_eq!(t.overall.detected_chars, 7);
        assert_eq!(t.overall.figures().char_precision, Some(5.0 / 7.0));
        assert_eq!(t.overall.figures().entity_precision, Some(0.5));
    }

    #[test]
    fn f2_weighs_recall() {
        assert_eq!(f2(Some(1.0), Some(0.5)), Some(2.5 / 4.5));
        assert_eq!(f2(Some(0.0), Some(0.0)), Some(0.0));
        assert_eq!(f2(None, Some(1.0)), None);
    }
}
