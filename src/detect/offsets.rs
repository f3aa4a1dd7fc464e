//! Byte offsets to Unicode code point offsets, in one pass over the text.

use super::{Entity, Finding};

/// Converts merged findings (byte offsets) into entities (code point offsets), sorted by start.
pub fn to_entities(text: &str, mut findings: Vec<Finding>) -> Vec<Entity> {
    findings.sort_by_key(|f| (f.start, f.end));
    // Where the text is ASCII up to the last end, code point offsets are byte offsets: most
    // prompts are, and need no counting at all.
    let reach = findings
        .iter()
        .map(|f| f.end)
        .max()
        .unwrap_or(0)
        .min(text.len());
    if text.as_bytes()[..reach].is_ascii() {
        return findings
            .into_iter()
            .map(|f| {
                let (start, end) = (f.start, f.end);
                entity(f, start, end)
            })
            .collect();
    }
    let mut points: Vec<usize> = findings.iter().flat_map(|f| [f.start, f.end]).collect();
    points.sort_unstable();
    points.dedup();
    let chars = char_indices_of(text, &points);
    let lookup = |byte: usize| chars[points.binary_search(&byte).expect("offset was collected")];
    findings
        .into_iter()
        .map(|f| {
            let (start, end) = (lookup(f.start), lookup(f.end));
            entity(f, start, end)
        })
        .collect()
}

fn entity(f: Finding, start: usize, end: usize) -> Entity {
    Entity {
        decoded: f.decoded,
        start,
        end,
        entity_type: f.entity_type,
        score: f.score,
        detector: f.detector,
        rule_id: f.rule_id,
        validated: f.validated,
        context: f.context,
    }
}

/// For each byte offset in `sorted` (ascending), the number of code points before it.
fn char_indices_of(text: &str, sorted: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut chars = 0usize;
    let mut pos = 0usize;
    for &b in sorted {
        let b = b.min(text.len());
        chars += text[pos..b].chars().count();
        pos = b;
        out.push(chars);
    }
    out
}

/// The code point offset of byte offset `byte` (which must lie on a char boundary).
pub fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;

    fn finding(start: usize, end: usize) -> Finding {
        Finding {
            decoded: None,
            entity_type: "PERSON".into(),
            start,
            end,
            score: 0.9,
            detector: DetectorKind::Ner,
            rule_id: "x".into(),
            validated: false,
            context: vec![],
        }
    }

    #[test]
    fn ascii_up_to_the_last_end_keeps_byte_offsets() {
        let text = "call 555-0132 today, merci beaucoup, à bientôt";
        let e = to_entities(text, vec![finding(5, 13), finding(0, 4)]);
        assert_eq!((e[0].start, e[0].end), (0, 4));
        assert_eq!((e[1].start, e[1].end), (5, 13));
        let s = text.find("bientôt").unwrap();
        let e = to_entities(text, vec![finding(s, text.len()), finding(5, 13)]);
        assert_eq!(
            (e[1].start, e[1].end),
            (39, 46),
            "counted once non-ASCII comes first"
        );
    }

    #[test]
    fn converts_multibyte_offsets() {
        let text = "héllo 日本 José";
        let s = text.find("José").unwrap();
        let e = to_entities(text, vec![finding(s, text.len()), finding(0, 6)]);
        assert_eq!((e[0].start, e[0].end), (0, 5));
        assert_eq!((e[1].start, e[1].end), (9, 13));
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[9..13].iter().collect::<String>(), "José");
    }
}
