//! Resolving overlapping findings into one set of entities.
//!
//! Rules, in order:
//! 1. Filtering. The NER model's PERSON findings whose case says they are no name are trimmed
//!    or dropped (`name_case`). Findings under their type's threshold, or whose text is on an
//!    allow list, are dropped; a deny-list term stays even if an allow list names it too (fail
//!    closed). The NER model's guesses at identifiers and address parts without evidence are
//!    dropped (`corroborate`), then dates and places in a text about no one (`anchor`).
//! 2. Findings of the same type that overlap or touch are one entity (NER often splits a name into
//!    word pieces; a regex and the NER model may both find the same email): the union span, the best
//!    score, validated if either was.
//! 3. Between types, priority goes to validated findings (a checksum passed), then findings of the
//!    rule packs and dictionaries confirmed by context words, then the rest, and last the NER
//!    model's guesses of identifier types (GOVERNMENT_ID, US_DRIVER_LICENSE, ...: the model calls
//!    most numbers one of them); within a rank, longer spans, then higher scores. A finding lying
//!    wholly inside a higher-priority one is dropped; one that only partly overlaps is kept,
//!    because dropping it could hide an identifier (redaction masks the union of spans).
//! 4. A NER finding that mostly covers the text of a higher-ranked finding of another type is
//!    that finding mistyped ("MRN: 00482913" as GOVERNMENT_ID around the regex's
//!    MEDICAL_RECORD_NUMBER) and is dropped, so the validated type is the one policies see.
//! 5. Parts of one name are joined: across a middle initial, initials before a surname,
//!    "SURNAME, GIVEN" outside a list, a gazetteer place glued to a name (`fuse`).

use std::collections::HashMap;

use super::allow::AllowList;
use super::{anchor, corroborate, fuse, name_case};
use super::{DetectorKind, Entity, Finding};

#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    pub min_score: f32,
    pub thresholds: HashMap<String, f32>,
    pub allow: AllowList,
}

impl MergeOptions {
    fn threshold(&self, entity_type: &str) -> f32 {
        if self.thresholds.is_empty() {
            return self.min_score;
        }
        self.thresholds
            .get(entity_type)
            .copied()
            .unwrap_or(self.min_score)
    }
}

/// Merges `findings` (byte offsets into `text`); the result is sorted by start.
pub fn merge(text: &str, findings: Vec<Finding>, opts: &MergeOptions) -> Vec<Finding> {
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.start < f.end && f.end <= text.len())
        .collect();
    name_case::fix_person_case(text, &mut findings, &opts.allow);
    let mut kept: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.score >= opts.threshold(&f.entity_type))
        .filter(|f| is_deny_listed(f) || !opts.allow.contains(&text[f.start..f.end]))
        .collect();
    corroborate::drop_uncorroborated(text, &mut kept);
    anchor::drop_unanchored(text, &mut kept);
    let unified = unify_same_type(text, kept);
    let mut resolved = resolve_across_types(unified);
    fuse::join_name_parts(text, &mut resolved);
    resolved
}

/// Deny-list findings carry the rule id `deny/<list>` (see rules/dictionaries/README.md).
fn is_deny_listed(f: &Finding) -> bool {
    f.detector == DetectorKind::Dictionary && f.rule_id.starts_with("deny/")
}

fn unify_same_type(text: &str, mut findings: Vec<Finding>) -> Vec<Finding> {
    // One sort by position (stable, so equal spans keep detector order), then one pass. Only the
    // last kept finding of a type can touch a later one of that type (each new one starts after
    // it ends), and it can only while its end reaches the later start; so the pass keeps the few
    // kept findings still reaching the current start, and looks for the type among them.
    findings.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut reaching: Vec<usize> = Vec::new();
    for f in findings {
        reaching.retain(|&i| out[i].end >= f.start);
        let same = reaching
            .iter()
            .copied()
            .find(|&i| out[i].entity_type == f.entity_type);
        match same {
            Some(i) if touches(text, &out[i], &f) => absorb(&mut out[i], f),
            _ => {
                reaching.push(out.len());
                out.push(f);
            }
        }
    }
    out
}

fn touches(_text: &str, a: &Finding, b: &Finding) -> bool {
    b.start <= a.end
}

fn absorb(into: &mut Finding, f: Finding) {
    into.end = into.end.max(f.end);
    if f.score > into.score || (f.validated && !into.validated) {
        into.rule_id = f.rule_id;
        into.detector = f.detector;
    }
    into.score = into.score.max(f.score);
    into.validated |= f.validated;
    for c in f.context {
        if !into.context.contains(&c) {
            into.context.push(c);
        }
    }
}

/// Findings are first cut into clusters of transitively overlapping spans (one sweep by start), and
/// priorities are compared only within a cluster: most findings overlap nothing, so this stays
/// linear after the sort even on text dense with entities.
fn resolve_across_types(findings: Vec<Finding>) -> Vec<Finding> {
    // Clusters only need findings in order of start, which `unify_same_type` leaves them in.
    debug_assert!(findings.is_sorted_by_key(|f| f.start));
    let mut out = Vec::with_capacity(findings.len());
    let mut cluster: Vec<Finding> = Vec::new();
    let mut cluster_end = 0;
    for f in findings {
        if !cluster.is_empty() && f.start >= cluster_end {
            resolve_cluster(&mut cluster, &mut out);
        }
        cluster_end = if cluster.is_empty() {
            f.end
        } else {
            cluster_end.max(f.end)
        };
        cluster.push(f);
    }
    resolve_cluster(&mut cluster, &mut out);
    out
}

/// Keeps, in priority order, each finding not wholly inside an already kept one.
fn resolve_cluster(cluster: &mut Vec<Finding>, out: &mut Vec<Finding>) {
    if cluster.len() == 1 {
        out.append(cluster);
        return;
    }
    cluster.sort_by(|a, b| {
        standing(b)
            .cmp(&standing(a))
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(b.score.total_cmp(&a.score))
            .then(a.start.cmp(&b.start))
    });
    let first = out.len();
    for f in cluster.drain(..) {
        let overridden = out[first..]
            .iter()
            .any(|kept| (kept.start <= f.start && f.end <= kept.end) || mistypes(&f, kept));
        if !overridden {
            out.push(f);
        }
    }
    // Clusters are disjoint and come in order, so sorting each one's survivors sorts the whole.
    out[first..].sort_by_key(|f| (f.start, f.end));
}

/// The NER model's labels for identifiers it cannot tell apart: on its own such a label is a
/// guess that a number is some identifier, not evidence of which one.
const NER_IDENTIFIER_GUESSES: &[&str] = &[
    "GOVERNMENT_ID",
    "TAX_ID",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "US_BANK_NUMBER",
    "ABA_ROUTING_NUMBER",
];

/// How far a finding's type can be trusted against another type's for the same text.
fn standing(f: &Finding) -> u8 {
    standing_of(
        f.detector,
        f.validated,
        !f.context.is_empty(),
        &f.entity_type,
    )
}

fn standing_of(detector: DetectorKind, validated: bool, confirmed: bool, entity_type: &str) -> u8 {
    let ner = detector == DetectorKind::Ner;
    if validated {
        3
    } else if !ner && confirmed {
        2
    } else if ner && NER_IDENTIFIER_GUESSES.contains(&entity_type) {
        0
    } else {
        1
    }
}

/// Whether `e`, found without the NER model, is kept as it is whatever the model finds in the same
/// text: it outranks every NER finding (validated, or confirmed by context), so none can drop it.
/// A NER finding of the same type could still join it, which is the caller's to rule out.
pub fn outranks_every_ner_finding(e: &Entity) -> bool {
    e.detector != DetectorKind::Ner
        && standing_of(
            e.detector,
            e.validated,
            !e.context.is_empty(),
            &e.entity_type,
        ) > standing_of(DetectorKind::Ner, false, false, "")
}

/// Whether NER finding `f` is `kept`'s text given another type: it covers at least half its own
/// length of `kept`, which ranks higher.
fn mistypes(f: &Finding, kept: &Finding) -> bool {
    if f.detector != DetectorKind::Ner || f.entity_type == kept.entity_type {
        return false;
    }
    let overlap = f.end.min(kept.end).saturating_sub(f.start.max(kept.start));
    standing(kept) > standing(f) && 2 * overlap >= f.end - f.start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;

    fn f(ty: &str, start: usize, end: usize, score: f32, validated: bool) -> Finding {
        Finding {
            decoded: None,
            entity_type: ty.into(),
            start,
            end,
            score,
            detector: DetectorKind::Regex,
            rule_id: format!("{ty}-{start}"),
            validated,
            context: vec![],
        }
    }

    fn spans(v: &[Finding]) -> Vec<(&str, usize, usize)> {
        v.iter()
            .map(|f| (f.entity_type.as_str(), f.start, f.end))
            .collect()
    }

    const TEXT: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn same_type_pieces_join() {
        let out = merge(
            TEXT,
            vec![
                f("PERSON", 0, 4, 0.8, false),
                f("PERSON", 4, 7, 0.9, false),
                f("PERSON", 2, 5, 0.7, false),
            ],
            &MergeOptions::default(),
        );
        assert_eq!(spans(&out), vec![("PERSON", 0, 7)]);
        assert_eq!(out[0].score, 0.9);
    }

    #[test]
    fn validated_beats_longer_and_contained_is_dropped() {
        let out = merge(
            TEXT,
            vec![
                f("PHONE_NUMBER", 0, 12, 0.6, false),
                f("US_SSN", 2, 11, 0.5, true),
            ],
            &MergeOptions::default(),
        );
        // The validated SSN wins; the phone span is not inside it, so it is kept too.
        assert_eq!(
            spans(&out),
            vec![("PHONE_NUMBER", 0, 12), ("US_SSN", 2, 11)]
        );
        let out = merge(
            TEXT,
            vec![
                f("ZIP_CODE", 3, 8, 0.9, false),
                f("US_BANK_NUMBER", 0, 12, 0.6, false),
            ],
            &MergeOptions::default(),
        );
        assert_eq!(spans(&out), vec![("US_BANK_NUMBER", 0, 12)]);
    }

    fn ner(ty: &str, start: usize, end: usize) -> Finding {
        Finding {
            detector: DetectorKind::Ner,
            ..f(ty, start, end, 0.95, false)
        }
    }

    #[test]
    fn context_confirmed_identifier_keeps_its_type_against_ner() {
        // "MRN: 00482913": NER calls the whole thing GOVERNMENT_ID, the rule pack the number an
        // MRN because "MRN" stands next to it.
        let mut mrn = f("MEDICAL_RECORD_NUMBER", 5, 13, 0.7, false);
        mrn.context = vec!["mrn".into()];
        for guess in [ner("GOVERNMENT_ID", 0, 13), ner("GOVERNMENT_ID", 5, 13)] {
            let out = merge(TEXT, vec![guess, mrn.clone()], &MergeOptions::default());
            assert_eq!(spans(&out), vec![("MEDICAL_RECORD_NUMBER", 5, 13)]);
        }
    }

    #[test]
    fn structured_identifier_beats_a_ner_identifier_guess() {
        // A MAC address or a Medicare MBI matched by its format, no context: NER's
        // US_DRIVER_LICENSE over the same characters is a guess and loses.
        let mac = f("MAC_ADDRESS", 0, 17, 0.6, false);
        let out = merge(
            TEXT,
            vec![ner("US_DRIVER_LICENSE", 0, 17), mac],
            &MergeOptions::default(),
        );
        assert_eq!(spans(&out), vec![("MAC_ADDRESS", 0, 17)]);
        let out = merge(
            TEXT,
            vec![
                ner("US_DRIVER_LICENSE", 3, 16),
                f("HEALTH_PLAN_ID", 2, 13, 0.6, false),
            ],
            &MergeOptions::default(),
        );
        assert_eq!(spans(&out), vec![("HEALTH_PLAN_ID", 2, 13)]);
    }

    #[test]
    fn ner_names_and_partial_overlaps_stay() {
        // A PERSON is not an identifier guess: equal rank, the longer span wins as before.
        let out = merge(
            TEXT,
            vec![ner("PERSON", 0, 10), f("ZIP_CODE", 4, 9, 0.6, false)],
            &MergeOptions::default(),
        );
        assert_eq!(spans(&out), vec![("PERSON", 0, 10)]);
        // A guess that only grazes a validated value keeps the rest of its text covered.
        let out = merge(
            TEXT,
            vec![ner("GOVERNMENT_ID", 8, 20), f("US_SSN", 0, 11, 0.9, true)],
            &MergeOptions::default(),
        );
        assert_eq!(
            spans(&out),
            vec![("US_SSN", 0, 11), ("GOVERNMENT_ID", 8, 20)]
        );
    }

    #[test]
    fn thresholds_and_allow_list() {
        let opts = MergeOptions {
            min_score: 0.5,
            thresholds: [("PERSON".to_string(), 0.95)].into_iter().collect(),
            allow: AllowList::from_terms(["ABC"]),
        };
        let out = merge(
            TEXT,
            vec![
                f("PERSON", 0, 3, 0.9, false),
                f("URL", 10, 13, 0.9, false),
                f("EMAIL_ADDRESS", 20, 25, 0.4, false),
                f("IP_ADDRESS", 26, 30, 0.6, false),
            ],
            &opts,
        );
        assert_eq!(spans(&out), vec![("IP_ADDRESS", 26, 30)]);
    }

    #[test]
    fn deny_lists_beat_allow_lists() {
        let opts = MergeOptions {
            allow: AllowList::from_terms(["ABC"]),
            ..MergeOptions::default()
        };
        let mut denied = f("CUSTOM", 10, 13, 1.0, false);
        denied.detector = DetectorKind::Dictionary;
        denied.rule_id = "deny/codenames".into();
        let out = merge(TEXT, vec![denied, f("URL", 10, 13, 0.9, false)], &opts);
        assert_eq!(spans(&out), vec![("CUSTOM", 10, 13)]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Any findings on char boundaries of any text (names, initials, places, numbers,
        /// multi-byte letters) merge without a panic into sorted spans inside the text.
        #[test]
        fn any_findings_merge_into_spans_inside_the_text(
            words in proptest::collection::vec(
                proptest::sample::select(vec![
                    "Anna", "B.", "Lee", "SMITH,", "Jäkel", "von", "3021", "(#57)", "Suite",
                    "4B", "Denver", "né", "le", "12.3", ",", "and", "\n", "Ø", "mon", "born",
                ]),
                0..24,
            ),
            picks in proptest::collection::vec(
                (0usize..64, 0usize..64, 0usize..8, 0usize..3, proptest::bool::ANY),
                0..16,
            ),
        ) {
            let text = words.join(" ");
            let bounds: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let types = [
                "PERSON", "LOCATION", "DATE_TIME", "STREET_ADDRESS", "ZIP_CODE", "TAX_ID",
                "US_SSN", "EMAIL_ADDRESS",
            ];
            let findings: Vec<Finding> = picks
                .iter()
                .map(|&(a, b, t, d, validated)| {
                    let (a, b) = (bounds[a % bounds.len()], bounds[b % bounds.len()]);
                    let detector = [DetectorKind::Regex, DetectorKind::Dictionary, DetectorKind::Ner][d];
                    let rule_id = match (detector, types[t]) {
                        (DetectorKind::Ner, "STREET_ADDRESS") => "rampart:BUILDING_NUMBER".into(),
                        (DetectorKind::Dictionary, "LOCATION") => "cities".into(),
                        _ => "r".into(),
                    };
                    Finding {
                        detector,
                        rule_id,
                        ..f(types[t], a.min(b), a.max(b), 0.8, validated)
                    }
                })
                .collect();
            let out = merge(&text, findings, &MergeOptions::default());
            for (i, e) in out.iter().enumerate() {
                proptest::prop_assert!(e.start < e.end && e.end <= text.len());
                proptest::prop_assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
                if i > 0 {
                    proptest::prop_assert!(out[i - 1].start <= e.start);
                }
            }
        }
    }
}
