//! Reversible pseudonymization: how a `redact` decision lets a request use a cloud model.
//!
//! On the way out, every masked value of the request is replaced by a typed, numbered placeholder
//! (`<PERSON_1>`), the same one wherever the value occurs ([`request`], [`text`], [`vault`]).
//! On the way back, the answer is restored before the client sees it: complete answers in one
//! pass ([`complete`]), streams piece by piece, holding back at most a placeholder's length at a
//! chunk's end ([`stream`], [`chunks`]). The mapping lives in memory for one request only; the
//! audit log records entity types and keyed fingerprints, never values or placeholders' values.
//!
//! Overlapping entities are masked as one span (the union), labelled with the type of the entity
//! that starts first, so that no character of any detected entity survives.

pub mod chunks;
pub mod complete;
pub mod config;
pub mod escape;
pub mod format;
pub mod request;
pub mod restore;
pub mod stream;
pub mod text;
pub mod vault;

pub use chunks::{restore_stream, ChunkRestorer};
pub use complete::restore_completion;
pub use config::{MaskScope, RedactConfig};
pub use format::PlaceholderFormat;
pub use request::{redact_request, RedactError, RedactedRequest};
pub use restore::{RestoreError, Restorer, TextContext};
pub use vault::Pseudonyms;

use crate::detect::Entity;

/// Entity spans sorted by start, overlapping ones joined: `(start, end, type of the first)`.
pub fn union_spans<'e>(
    entities: impl IntoIterator<Item = &'e Entity>,
) -> Vec<(usize, usize, &'e str)> {
    let mut sorted: Vec<&Entity> = entities.into_iter().collect();
    sorted.sort_by_key(|e| (e.start, std::cmp::Reverse(e.end)));
    let mut out: Vec<(usize, usize, &str)> = Vec::new();
    for e in sorted {
        match out.last_mut() {
            Some(last) if e.start < last.1 => last.1 = last.1.max(e.end),
            _ => out.push((e.start, e.end, &e.entity_type)),
        }
    }
    out
}

/// `text` with every entity replaced by a numbered placeholder (`sluice scan --redact`).
pub fn pseudonymize_text(pseudonyms: &mut Pseudonyms, text: &str, entities: &[Entity]) -> String {
    text::pseudonymize(pseudonyms, text, &union_spans(entities))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;

    fn e(ty: &str, start: usize, end: usize) -> Entity {
        Entity {
            decoded: None,
            entity_type: ty.into(),
            start,
            end,
            score: 1.0,
            detector: DetectorKind::Regex,
            rule_id: "r".into(),
            validated: false,
            context: vec![],
        }
    }

    #[test]
    fn masks_unicode_and_overlaps_with_numbered_placeholders() {
        let text = "José Ñúñez 123-45-6789 ok, José Ñúñez";
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        let out = pseudonymize_text(
            &mut p,
            text,
            &[
                e("PERSON", 0, 10),
                e("US_SSN", 11, 22),
                e("PHONE_NUMBER", 15, 22),
            ],
        );
        assert_eq!(out, "<PERSON_1> <US_SSN_1> ok, <PERSON_1>");
        assert_eq!(pseudonymize_text(&mut p, "abc", &[]), "abc");
    }

    #[test]
    fn union_keeps_the_first_type_and_joins_overlaps() {
        let entities = [e("B", 5, 9), e("A", 0, 4), e("C", 3, 6), e("D", 12, 14)];
        assert_eq!(union_spans(&entities), vec![(0, 9, "A"), (12, 14, "D")]);
    }
}
