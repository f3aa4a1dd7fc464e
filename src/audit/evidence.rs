//! What a decision record says about the entities it saw: types, counts, scores, detectors, rule
//! ids and keyed fingerprints, and never the values themselves.
//!
//! The only way to put entities into a [`DecisionRecord`](super::body::DecisionRecord) is through
//! [`EntityEvidence`], which takes a detector's [`Entity`] and the text it was found in, validates
//! the entity type against the catalog, and keeps nothing of the value but its fingerprint. There is
//! no string field a raw value could be passed into by mistake.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::AuditError;
use super::fingerprint::{Fingerprint, Fingerprinter};
use crate::detect::catalog::ENTITY_TYPES;
use crate::detect::entity::{DetectorKind, Entity};

/// More distinct values of one type than this in one request are counted but not fingerprinted,
/// which bounds a record's size whatever the request holds.
pub const MAX_FINGERPRINTS_PER_TYPE: usize = 1000;

/// The entity part of a decision record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The fingerprint key id (absent when there are no entities).
    key_id: Option<String>,
    types: Vec<EntitySummary>,
}

impl Evidence {
    /// Evidence of nothing found (or detection not run).
    pub fn none() -> Evidence {
        Evidence {
            key_id: None,
            types: Vec::new(),
        }
    }

    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// One summary per entity type, sorted by type name.
    pub fn types(&self) -> &[EntitySummary] {
        &self.types
    }

    pub fn has_type(&self, entity_type: &str) -> bool {
        self.types.iter().any(|t| t.entity_type == entity_type)
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

/// Everything recorded about one entity type in one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitySummary {
    #[serde(rename = "type")]
    entity_type: String,
    count: u32,
    max_score: f32,
    detectors: Vec<DetectorKind>,
    /// Detector rule ids (regex rule, dictionary name, NER label) that produced the matches.
    rules: Vec<String>,
    /// Distinct fingerprints, sorted.
    fingerprints: Vec<Fingerprint>,
    #[serde(default, skip_serializing_if = "is_zero")]
    fingerprints_omitted: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl EntitySummary {
    pub fn entity_type(&self) -> &str {
        &self.entity_type
    }
    pub fn count(&self) -> u32 {
        self.count
    }
    pub fn max_score(&self) -> f32 {
        self.max_score
    }
    pub fn detectors(&self) -> &[DetectorKind] {
        &self.detectors
    }
    pub fn rules(&self) -> &[String] {
        &self.rules
    }
    pub fn fingerprints(&self) -> &[Fingerprint] {
        &self.fingerprints
    }
    /// Distinct values beyond [`MAX_FINGERPRINTS_PER_TYPE`] that were counted but not fingerprinted.
    pub fn fingerprints_omitted(&self) -> u32 {
        self.fingerprints_omitted
    }
}

#[derive(Default)]
struct TypeAccumulator {
    count: u32,
    max_score: f32,
    detectors: Vec<DetectorKind>,
    rules: BTreeSet<String>,
    fingerprints: BTreeSet<Fingerprint>,
    omitted: u32,
}

/// Collects the entities of one request into [`Evidence`].
pub struct EntityEvidence<'a> {
    fingerprinter: &'a Fingerprinter,
    types: BTreeMap<&'static str, TypeAccumulator>,
}

impl<'a> EntityEvidence<'a> {
    pub fn new(fingerprinter: &'a Fingerprinter) -> Self {
        EntityEvidence {
            fingerprinter,
            types: BTreeMap::new(),
        }
    }

    /// Adds an entity found in `text`; its code point span selects the value to fingerprint.
    pub fn add_in_text(&mut self, entity: &Entity, text: &str) -> Result<(), AuditError> {
        self.add_all_in_text(std::slice::from_ref(entity), text)
    }

    /// Adds all entities found in one text, in one pass over it (so a text with many entities
    /// costs its length plus the entities, not their product). Nothing is added if a span is
    /// outside the text.
    pub fn add_all_in_text(&mut self, entities: &[Entity], text: &str) -> Result<(), AuditError> {
        let mut offsets: Vec<usize> = entities.iter().flat_map(|e| [e.start, e.end]).collect();
        offsets.sort_unstable();
        offsets.dedup();
        let bytes = byte_offsets(text, &offsets);
        let byte_of = |cp: usize| offsets.binary_search(&cp).ok().and_then(|i| bytes[i]);
        let mut spans = Vec::with_capacity(entities.len());
        for entity in entities {
            match (byte_of(entity.start), byte_of(entity.end)) {
                (Some(start), Some(end)) if start <= end => spans.push((start, end)),
                _ => {
                    return Err(AuditError::BadSpan {
                        start: entity.start,
                        end: entity.end,
                        len: text.chars().count(),
                    })
                }
            }
        }
        for (entity, (start, end)) in entities.iter().zip(spans) {
            self.add(entity, &text[start..end])?;
        }
        Ok(())
    }

    /// Adds an entity whose matched text is `value`.
    pub fn add(&mut self, entity: &Entity, value: &str) -> Result<(), AuditError> {
        let entity_type = ENTITY_TYPES
            .iter()
            .map(|(name, _)| *name)
            .find(|name| *name == entity.entity_type)
            .ok_or(AuditError::UnknownEntityType)?;
        let score = if entity.score.is_finite() {
            (entity.score.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
        } else {
            0.0
        };
        let acc = self.types.entry(entity_type).or_default();
        acc.count = acc.count.saturating_add(1);
        acc.max_score = acc.max_score.max(score);
        if !acc.detectors.contains(&entity.detector) {
            acc.detectors.push(entity.detector);
            acc.detectors.sort_by_key(|d| d.as_str());
        }
        acc.rules.insert(entity.rule_id.clone());
        let fingerprint = self.fingerprinter.fingerprint(entity_type, value);
        if acc.fingerprints.len() < MAX_FINGERPRINTS_PER_TYPE
            || acc.fingerprints.contains(&fingerprint)
        {
            acc.fingerprints.insert(fingerprint);
        } else {
            acc.omitted = acc.omitted.saturating_add(1);
        }
        Ok(())
    }

    pub fn finish(self) -> Evidence {
        if self.types.is_empty() {
            return Evidence::none();
        }
        Evidence {
            key_id: Some(self.fingerprinter.key_id().to_string()),
            types: self
                .types
                .into_iter()
                .map(|(entity_type, acc)| EntitySummary {
                    entity_type: entity_type.to_string(),
                    count: acc.count,
                    max_score: acc.max_score,
                    detectors: acc.detectors,
                    rules: acc.rules.into_iter().collect(),
                    fingerprints: acc.fingerprints.into_iter().collect(),
                    fingerprints_omitted: acc.omitted,
                })
                .collect(),
        }
    }
}

/// The byte offset of each code point offset in `sorted` (`None` past the end of `text`).
fn byte_offsets(text: &str, sorted: &[usize]) -> Vec<Option<usize>> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut wanted = sorted.iter().peekable();
    for (cp, (byte, _)) in text.char_indices().enumerate() {
        while wanted.next_if(|&&w| w == cp).is_some() {
            out.push(Some(byte));
        }
        if wanted.peek().is_none() {
            return out;
        }
    }
    let len = text.chars().count();
    for &w in wanted {
        out.push((w == len).then_some(text.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(entity_type: &str, start: usize, end: usize, score: f32) -> Entity {
        Entity {
            decoded: None,
            entity_type: entity_type.into(),
            start,
            end,
            score,
            detector: DetectorKind::Regex,
            rule_id: "test_rule".into(),
            validated: false,
            context: vec![],
        }
    }

    #[test]
    fn summarizes_by_type_without_values() {
        let fp = Fingerprinter::from_key(&[5; 32]);
        let text = "Ssn 123-45-6789 and 123 45 6789 for Zoë Quartz";
        let mut ev = EntityEvidence::new(&fp);
        ev.add_in_text(&entity("US_SSN", 4, 15, 0.9), text).unwrap();
        ev.add_in_text(&entity("US_SSN", 20, 31, 0.95), text)
            .unwrap();
        ev.add_in_text(&entity("PERSON", 36, 46, 0.7), text)
            .unwrap();
        let evidence = ev.finish();
        assert_eq!(evidence.key_id(), Some(fp.key_id()));
        let ssn = &evidence.types()[1];
        assert_eq!(ssn.entity_type(), "US_SSN");
        assert_eq!(ssn.count(), 2);
        assert_eq!(ssn.max_score(), 0.95);
        assert_eq!(ssn.fingerprints().len(), 1, "same SSN, two formats");
        let json = serde_json::to_string(&evidence).unwrap();
        for canary in ["123-45-6789", "123456789", "Zoë", "Quartz", "zoë quartz"] {
            assert!(!json.contains(canary), "{canary} leaked into {json}");
        }
    }

    #[test]
    fn unknown_type_and_bad_span_are_errors_that_do_not_echo() {
        let fp = Fingerprinter::from_key(&[5; 32]);
        let mut ev = EntityEvidence::new(&fp);
        let err = ev
            .add(&entity("123-45-6789", 0, 11, 0.9), "US_SSN")
            .unwrap_err();
        assert!(!err.to_string().contains("123-45-6789"));
        assert!(ev
            .add_in_text(&entity("US_SSN", 3, 99, 0.9), "short")
            .is_err());
        assert!(ev.finish().is_empty());
    }

    #[test]
    fn many_entities_in_one_text_are_sliced_in_one_pass() {
        let fp = Fingerprinter::from_key(&[5; 32]);
        let text = "é 111-22-3333 ü 444-55-6666 end";
        let a = entity("US_SSN", 2, 13, 0.9);
        let b = entity("US_SSN", 16, 27, 0.9);
        let mut ev = EntityEvidence::new(&fp);
        ev.add_all_in_text(&[b, a], text).unwrap();
        let evidence = ev.finish();
        let mut expected = vec![
            fp.fingerprint("US_SSN", "111-22-3333"),
            fp.fingerprint("US_SSN", "444-55-6666"),
        ];
        expected.sort();
        assert_eq!(evidence.types()[0].fingerprints(), expected.as_slice());
        let mut ev = EntityEvidence::new(&fp);
        let to_end = entity("US_SSN", 27, 31, 0.9);
        ev.add_in_text(&to_end, text).unwrap();
        assert_eq!(
            ev.finish().types()[0].fingerprints()[0],
            fp.fingerprint("US_SSN", " end")
        );
    }

    #[test]
    fn fingerprints_are_capped_per_type() {
        let fp = Fingerprinter::from_key(&[5; 32]);
        let mut ev = EntityEvidence::new(&fp);
        for i in 0..(MAX_FINGERPRINTS_PER_TYPE + 5) {
            ev.add(&entity("EMAIL_ADDRESS", 0, 1, 0.5), &format!("u{i}@x.org"))
                .unwrap();
        }
        let evidence = ev.finish();
        let t = &evidence.types()[0];
        assert_eq!(t.count() as usize, MAX_FINGERPRINTS_PER_TYPE + 5);
        assert_eq!(t.fingerprints().len(), MAX_FINGERPRINTS_PER_TYPE);
        assert_eq!(t.fingerprints_omitted(), 5);
    }
}
