//! Replacing spans of one text with placeholders.
//!
//! Detectors judge each message in context, so a name found in one sentence can be missed in the
//! next ("Patient Jane Roe ..." / "... Jane said ..."). Once a value is masked anywhere in a
//! request, every whole-word occurrence of it in every forwarded text is masked too, with the
//! same placeholder: masking more is the safe direction, and restoring puts it all back.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::restore::TextContext;
use super::vault::Pseudonyms;

/// A byte range of a text and the pseudonym that replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub pseudonym: usize,
}

/// Finds the masked values of a request in texts of one context.
pub struct Sweeper {
    matcher: Option<AhoCorasick>,
}

impl Sweeper {
    /// Searches for each value as it appears in `context` (escaped inside JSON arguments).
    pub fn new(pseudonyms: &Pseudonyms, context: TextContext) -> Self {
        let forms: Vec<String> = pseudonyms
            .entries()
            .iter()
            .map(|p| match context {
                TextContext::Plain => p.value().to_owned(),
                TextContext::JsonArguments => p.json_form(),
            })
            .collect();
        let matcher = (!forms.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                // Built per request for a handful of short patterns: the cheapest build wins.
                .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                .build(&forms)
                .expect("literal patterns always build")
        });
        Sweeper { matcher }
    }

    /// Whole-word occurrences of masked values in `text`, sorted, disjoint.
    pub fn find(&self, text: &str) -> Vec<Edit> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        matcher
            .find_iter(text)
            .filter(|m| whole_word(text, m.start(), m.end()))
            .map(|m| Edit {
                start: m.start(),
                end: m.end(),
                pseudonym: m.pattern().as_usize(),
            })
            .collect()
    }
}

/// A match that does not start or end inside a word (when the value itself starts or ends with a
/// word character): `Al` is masked in "Al said", not in "Also".
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let first = text[start..].chars().next();
    let last = text[..end].chars().next_back();
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let clean_start = !(first.is_some_and(word) && before.is_some_and(word));
    let clean_end = !(last.is_some_and(word) && after.is_some_and(word));
    clean_start && clean_end
}

/// `detected` and `swept` (each sorted and disjoint) as one sorted, disjoint list. Where they
/// overlap (a value found again inside a longer detected span, or straddling one), the union is
/// masked as one value, typed like the span that starts first.
pub fn combine(
    pseudonyms: &mut Pseudonyms,
    text: &str,
    context: TextContext,
    detected: Vec<Edit>,
    swept: Vec<Edit>,
) -> Vec<Edit> {
    if swept.is_empty() {
        return detected;
    }
    let mut all = detected;
    all.extend(swept);
    all.sort_by_key(|e| (e.start, std::cmp::Reverse(e.end)));
    let mut out: Vec<Edit> = Vec::with_capacity(all.len());
    let mut joined = false;
    for e in all {
        match out.last_mut() {
            Some(last) if e.start < last.end => {
                if e.end > last.end {
                    last.end = e.end;
                    joined = true;
                }
            }
            _ => {
                if joined {
                    rejoin(
                        pseudonyms,
                        text,
                        context,
                        out.last_mut().expect("joined one"),
                    );
                }
                joined = false;
                out.push(e);
            }
        }
    }
    if joined {
        rejoin(
            pseudonyms,
            text,
            context,
            out.last_mut().expect("joined one"),
        );
    }
    out
}

/// Gives a span grown by a union the pseudonym of its whole text.
fn rejoin(pseudonyms: &mut Pseudonyms, text: &str, context: TextContext, edit: &mut Edit) {
    let ty = pseudonyms.get(edit.pseudonym).entity_type().to_owned();
    let raw = &text[edit.start..edit.end];
    edit.pseudonym = match context {
        TextContext::Plain => pseudonyms.intern(&ty, raw),
        TextContext::JsonArguments => pseudonyms.intern_json(&ty, raw),
    };
}

/// `text` with each edit (sorted, disjoint) replaced by its placeholder.
pub fn apply(text: &str, edits: &[Edit], pseudonyms: &Pseudonyms) -> String {
    let mut out = String::with_capacity(text.len() + edits.len() * 8);
    let mut last = 0;
    for e in edits {
        out.push_str(&text[last..e.start]);
        out.push_str(pseudonyms.get(e.pseudonym).placeholder());
        last = e.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Converts code point spans (sorted, disjoint) of `text` to byte spans in one pass.
pub fn to_byte_spans<T: Copy>(text: &str, spans: &[(usize, usize, T)]) -> Vec<(usize, usize, T)> {
    let mut out = Vec::with_capacity(spans.len());
    let mut chars = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()));
    let mut at_char = 0usize;
    let mut at_byte = chars.next().unwrap_or(0);
    let mut seek = |target: usize| {
        while at_char < target {
            match chars.next() {
                Some(b) => at_byte = b,
                None => break,
            }
            at_char += 1;
        }
        at_byte
    };
    for &(start, end, tag) in spans {
        let s = seek(start);
        let e = seek(end);
        out.push((s, e, tag));
    }
    out
}

/// Masks `spans` (code points, sorted, disjoint: see [`super::union_spans`]) of `text`, then every
/// other whole-word occurrence of the values masked so far.
pub fn pseudonymize(
    pseudonyms: &mut Pseudonyms,
    text: &str,
    spans: &[(usize, usize, &str)],
) -> String {
    pseudonyms.reserve_look_alikes(text);
    let detected: Vec<Edit> = to_byte_spans(text, spans)
        .into_iter()
        .map(|(start, end, ty)| Edit {
            start,
            end,
            pseudonym: pseudonyms.intern(ty, &text[start..end]),
        })
        .collect();
    let swept = Sweeper::new(pseudonyms, TextContext::Plain).find(text);
    let edits = combine(pseudonyms, text, TextContext::Plain, detected, swept);
    apply(text, &edits, pseudonyms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::format::PlaceholderFormat;

    #[test]
    fn byte_spans_from_code_points() {
        let text = "é李x😀y";
        let spans = [(0, 1, ()), (1, 2, ()), (3, 4, ()), (4, 5, ())];
        let bytes: Vec<(usize, usize)> = to_byte_spans(text, &spans)
            .into_iter()
            .map(|(s, e, _)| (s, e))
            .collect();
        assert_eq!(bytes, vec![(0, 2), (2, 5), (6, 10), (10, 11)]);
    }

    #[test]
    fn repeats_are_masked_as_whole_words_with_the_same_placeholder() {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        let text = "Al met Al Roe. Also Al's cat, Alabama, AlAl, Al";
        let out = pseudonymize(&mut p, text, &[(0, 2, "PERSON")]);
        assert_eq!(
            out,
            "<PERSON_1> met <PERSON_1> Roe. Also <PERSON_1>'s cat, Alabama, AlAl, <PERSON_1>"
        );
    }

    #[test]
    fn a_repeat_straddling_a_detected_span_is_masked_as_one() {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        pseudonymize(&mut p, "Ann Lee", &[(0, 7, "PERSON")]);
        // "Lee Ann" is detected; the known "Ann Lee" straddles its start.
        let out = pseudonymize(&mut p, "Ann Lee Ann", &[(4, 11, "PERSON")]);
        assert_eq!(out, "<PERSON_3>");
        assert_eq!(p.get(2).value(), "Ann Lee Ann");
        // A known value found around a shorter detected one keeps its own placeholder.
        let out = pseudonymize(&mut p, "Ann Lee here", &[(0, 3, "PERSON")]);
        assert_eq!(out, "<PERSON_1> here");
    }

    #[test]
    fn numbering_continues_across_texts() {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        let a = pseudonymize(
            &mut p,
            "José and Zoë",
            &[(0, 4, "PERSON"), (9, 12, "PERSON")],
        );
        let b = pseudonymize(&mut p, "Zoë, Ann", &[(5, 8, "PERSON")]);
        assert_eq!(a, "<PERSON_1> and <PERSON_2>");
        assert_eq!(b, "<PERSON_2>, <PERSON_3>");
    }
}
