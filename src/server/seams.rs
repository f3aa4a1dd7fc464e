//! Values cut in two across fields: `"...SSN 512-48-"` ending one message and `"7391 ..."`
//! starting the next.
//!
//! Each scan unit is scanned on its own (and cached per message), and the strings inside a unit
//! are joined by a blank line, so neither detection sees a value split between two strings; yet a
//! model reading the conversation joins them. So the end of every string and the start of the
//! next one are scanned together as a short seam text (rule packs and dictionaries only: a few
//! dozen characters give NER nothing to read), and a value found across the junction is added to
//! both strings' units as two fragments, which policies count and redaction masks.

use std::sync::Arc;

use crate::detect::Entity;

use crate::openai::extract::{LeafKind, ScanUnit};

/// Characters taken from each side of a junction: longer than any identifier a rule pack finds
/// (cards, IBANs, phone numbers with separators).
const SIDE_CHARS: usize = 40;

/// The text around one junction between two consecutive strings of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Seam {
    /// Shared with the detection task.
    pub text: Arc<String>,
    /// Where the second string starts in `text`, in code points.
    junction: usize,
    /// The unit of the first string, and where `text` starts in it (code points).
    left: (usize, usize),
    /// The unit of the second string, and where that string starts in it (code points).
    right: (usize, usize),
}

/// The seams between consecutive string values of `units`, in request order. A junction where
/// either side is whitespace cannot cut a value and gets none.
pub fn seams(units: &[ScanUnit]) -> Vec<Seam> {
    let mut out = Vec::new();
    // The previous string: its unit, its tail and where that tail starts in its unit.
    let mut previous: Option<(usize, &str, usize)> = None;
    for (u, unit) in units.iter().enumerate() {
        let mut byte = 0;
        let mut chars = 0;
        for leaf in &unit.leaves {
            // Leaves follow each other, joined by a separator of ASCII characters.
            let gap = leaf.start - chars;
            byte += gap;
            let rest = &unit.text[byte..];
            let len = rest
                .char_indices()
                .nth(leaf.chars)
                .map_or(rest.len(), |(i, _)| i);
            let text = &rest[..len];
            byte += len;
            chars = leaf.start + leaf.chars;
            if leaf.kind != LeafKind::Text {
                continue;
            }
            if let Some((left_unit, tail, tail_start)) = previous {
                let head_len = text
                    .char_indices()
                    .nth(SIDE_CHARS)
                    .map_or(text.len(), |(i, _)| i);
                let head = &text[..head_len];
                let cut = |c: Option<char>| c.is_some_and(|c| !c.is_whitespace());
                if cut(tail.chars().next_back()) && cut(head.chars().next()) {
                    out.push(Seam {
                        text: Arc::new(format!("{tail}{head}")),
                        junction: tail.chars().count(),
                        left: (left_unit, tail_start),
                        right: (u, leaf.start),
                    });
                }
            }
            let tail_chars = leaf.chars.min(SIDE_CHARS);
            let tail_byte = text
                .char_indices()
                .nth(leaf.chars - tail_chars)
                .map_or(text.len(), |(i, _)| i);
            previous = Some((u, &text[tail_byte..], leaf.start + leaf.chars - tail_chars));
        }
    }
    out
}

/// Adds to `units` (entities per unit) the two fragments of every value that `found` (entities
/// per seam) places across a junction.
pub fn add_fragments(seams: &[Seam], found: &[Arc<Vec<Entity>>], units: &mut [Arc<Vec<Entity>>]) {
    let mut touched = Vec::new();
    for (seam, entities) in seams.iter().zip(found) {
        for e in entities.iter() {
            if !(e.start < seam.junction && seam.junction < e.end) {
                continue;
            }
            let (left_unit, left_at) = seam.left;
            let (right_unit, right_at) = seam.right;
            Arc::make_mut(&mut units[left_unit]).push(Entity {
                start: left_at + e.start,
                end: left_at + seam.junction,
                ..e.clone()
            });
            Arc::make_mut(&mut units[right_unit]).push(Entity {
                start: right_at,
                end: right_at + (e.end - seam.junction),
                ..e.clone()
            });
            touched.extend([left_unit, right_unit]);
        }
    }
    touched.sort_unstable();
    touched.dedup();
    for u in touched {
        Arc::make_mut(&mut units[u]).sort_by_key(|e| (e.start, e.end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;
    use crate::openai::extract::extract;
    use serde_json::json;

    fn ssn(start: usize, end: usize) -> Entity {
        Entity {
            entity_type: "US_SSN".into(),
            start,
            end,
            score: 0.9,
            detector: DetectorKind::Regex,
            rule_id: "ssn".into(),
            validated: true,
            context: vec![],
            decoded: None,
        }
    }

    fn chars(text: &str, start: usize, end: usize) -> String {
        text.chars().skip(start).take(end - start).collect()
    }

    #[test]
    fn a_value_split_across_messages_becomes_two_fragments() {
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "Für Zoë, the number is 512-48-"},
            {"role": "user", "content": "7391 as discussed", "name": "x"}
        ]});
        let ex = extract(&body);
        let seams = seams(&ex.units);
        let seam = seams
            .iter()
            .find(|s| s.text.contains("512-48-7391"))
            .expect("a seam across the two messages");
        let at = seam.text.find("512-48-7391").unwrap();
        let start = seam.text[..at].chars().count();
        let found = vec![Arc::new(vec![ssn(start, start + 11)])];
        let mut units: Vec<Arc<Vec<Entity>>> = vec![Arc::default(); ex.units.len()];
        let only: Vec<Seam> = vec![seam.clone()];
        add_fragments(&only, &found, &mut units);
        let left = &units[0][0];
        assert_eq!(chars(&ex.units[0].text, left.start, left.end), "512-48-");
        let right = &units[1][0];
        assert_eq!(chars(&ex.units[1].text, right.start, right.end), "7391");
    }

    #[test]
    fn junctions_at_whitespace_and_short_strings() {
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "ends with a space "},
            {"role": "user", "content": "7"},
            {"role": "user", "content": "8 and more"}
        ]});
        let ex = extract(&body);
        let texts: Vec<String> = seams(&ex.units)
            .into_iter()
            .map(|s| s.text.to_string())
            .collect();
        assert_eq!(texts, vec!["78 and more".to_string()]);
    }
}
