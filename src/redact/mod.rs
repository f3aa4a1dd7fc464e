//! Replacing detected entities in text with placeholders.
//!
//! Overlapping entities are masked as one span (the union), labelled with the type of the entity
//! that starts first, so that no character of any detected entity survives.

use crate::detect::Entity;

/// `text` with every entity replaced by `<ENTITY_TYPE>`. `entities` carry code point offsets.
pub fn mask_typed(text: &str, entities: &[Entity]) -> String {
    let spans = union_spans(entities);
    let mut out = String::with_capacity(text.len());
    let mut spans = spans.iter().peekable();
    let mut chars = text.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        match spans.peek() {
            Some((start, end, ty)) if i == *start => {
                out.push('<');
                out.push_str(ty);
                out.push('>');
                while chars.peek().is_some_and(|(j, _)| j < end) {
                    chars.next();
                }
                spans.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Entity spans sorted by start, overlapping ones joined: `(start, end, type of the first)`.
pub fn union_spans(entities: &[Entity]) -> Vec<(usize, usize, &str)> {
    let mut sorted: Vec<&Entity> = entities.iter().collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;

    fn e(ty: &str, start: usize, end: usize) -> Entity {
        Entity {
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
    fn masks_unicode_and_overlaps() {
        let text = "José Ñúñez 123-45-6789 ok";
        let out = mask_typed(
            text,
            &[
                e("PERSON", 0, 10),
                e("US_SSN", 11, 22),
                e("PHONE_NUMBER", 15, 22),
            ],
        );
        assert_eq!(out, "<PERSON> <US_SSN> ok");
        assert_eq!(mask_typed("abc", &[]), "abc");
    }
}
