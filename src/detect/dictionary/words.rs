//! Whole-word matching: a term may not start or end inside a larger word.
//!
//! The automaton finds terms anywhere ("als" inside "totals"); these checks run on every
//! candidate, so they look only at the one character on each side of the match and never
//! allocate. Letters and digits of any script, and `_`, are word characters; everything else
//! (spaces, punctuation, hyphens, apostrophes, emoji) separates words, so "COVID-19" is found in
//! "(COVID-19)" and "HIV" in "HIV-positive". A side of a term that itself ends in punctuation
//! (a term like "+ve") needs no boundary on that side.

/// True if `c` continues a word.
#[inline]
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Which ends of a term need a word boundary next to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edges {
    pub start: bool,
    pub end: bool,
}

impl Edges {
    pub fn of(term: &str) -> Edges {
        Edges {
            start: term.chars().next().is_some_and(is_word_char),
            end: term.chars().next_back().is_some_and(is_word_char),
        }
    }
}

/// True if `text[start..end]` (a match on char boundaries) is not part of a larger word.
#[inline]
pub fn is_whole_word(text: &str, start: usize, end: usize, edges: Edges) -> bool {
    (!edges.start || !word_char_before(text, start)) && (!edges.end || !word_char_at(text, end))
}

#[inline]
fn word_char_before(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    match at.checked_sub(1).map(|i| bytes[i]) {
        None => false,
        Some(b) if b.is_ascii() => b.is_ascii_alphanumeric() || b == b'_',
        Some(_) => text
            .get(..at)
            .and_then(|s| s.chars().next_back())
            .is_some_and(is_word_char),
    }
}

#[inline]
fn word_char_at(text: &str, at: usize) -> bool {
    match text.as_bytes().get(at) {
        None => false,
        Some(&b) if b.is_ascii() => b.is_ascii_alphanumeric() || b == b'_',
        Some(_) => text
            .get(at..)
            .and_then(|s| s.chars().next())
            .is_some_and(is_word_char),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str, term: &str) -> bool {
        let start = text.find(term).unwrap();
        is_whole_word(text, start, start + term.len(), Edges::of(term))
    }

    #[test]
    fn ascii_neighbours() {
        assert!(whole("ALS", "ALS"));
        assert!(whole("has ALS.", "ALS"));
        assert!(!whole("totals", "als"));
        assert!(!whole("alsx", "als"));
        assert!(!whole("x_als", "als"));
        assert!(!whole("9als", "als"));
        assert!(whole("HIV-positive", "HIV"));
        assert!(whole("(COVID-19)", "COVID-19"));
        assert!(!whole("COVID-190", "COVID-19"));
        assert!(whole("Crohn's disease,", "Crohn's disease"));
    }

    #[test]
    fn non_ascii_neighbours() {
        assert!(!whole("éals", "als"));
        assert!(!whole("alsé", "als"));
        assert!(!whole("日als", "als"));
        assert!(whole("“asthma”", "asthma"));
        assert!(whole("asthma—and", "asthma"));
        assert!(whole("\u{a0}asthma\u{a0}", "asthma"));
        assert!(whole("🙂asthma🙂", "asthma"));
    }

    #[test]
    fn punctuation_edges_need_no_boundary() {
        assert_eq!(
            Edges::of("+ve"),
            Edges {
                start: false,
                end: true
            }
        );
        assert!(whole("hiv+ve", "+ve"));
        assert!(!whole("hiv+vex", "+ve"));
    }
}
