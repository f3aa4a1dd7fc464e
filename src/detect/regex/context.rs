//! Context words: raising a match's score when telling words stand near it.
//!
//! Many identifiers are just digits ("12345678" is an account number only after "acct"). As in
//! Presidio, a rule lists context words and a window; a match with one of those words inside its
//! window gets the rule's boost. The window is bounded in bytes as well as in words, so one
//! 100,000-character "word" before every match cannot make scanning quadratic.

use super::wordmap::WordMap;
use crate::detect::rules::{Context, WindowUnit};
use crate::detect::wordbits::WORD_OR_NON_ASCII_BYTE;

/// No word counts as longer than this when a window is measured in words.
const MAX_WORD_BYTES: usize = 48;

/// A rule's context words, compiled for searching windows of text.
#[derive(Debug, Clone)]
pub struct ContextMatcher {
    /// Per lower-cased first byte, the words starting with it, longest first.
    by_first: Vec<Vec<u16>>,
    /// Per lower-cased first byte, a bit per (lower-cased second byte mod 64) some word starts
    /// with: most word starts are ruled out with one load.
    starts: Box<[u64; 256]>,
    words: Vec<String>,
    before: usize,
    after: usize,
    unit: WindowUnit,
    pub boost: f32,
}

impl ContextMatcher {
    pub fn new(c: &Context) -> Self {
        let mut by_first = vec![Vec::new(); 256];
        let mut starts = Box::new([0u64; 256]);
        for (i, w) in c.words.iter().enumerate() {
            let b = w.as_bytes();
            let first = usize::from(b[0].to_ascii_lowercase());
            by_first[first].push(u16::try_from(i).expect("context word lists are short"));
            starts[first] |= match b.get(1) {
                Some(&second) => 1 << (second.to_ascii_lowercase() & 63),
                None => u64::MAX,
            };
        }
        for list in &mut by_first {
            list.sort_by_key(|&i| std::cmp::Reverse(c.words[usize::from(i)].len()));
        }
        ContextMatcher {
            by_first,
            starts,
            words: c.words.clone(),
            before: c.before,
            after: c.after,
            unit: c.unit,
            boost: c.boost,
        }
    }

    /// How many bytes before a value's start, and after its end, the windows can reach.
    pub fn reach_bytes(&self) -> (usize, usize) {
        match self.unit {
            WindowUnit::Words => (self.before * MAX_WORD_BYTES, self.after * MAX_WORD_BYTES),
            WindowUnit::Chars => (self.before * 4, self.after * 4),
        }
    }

    /// The context words (as written in the rule) found in the windows around `start..end`, a byte
    /// span of `text` (whose words are `words`). Empty when none is found; allocates only when
    /// some are.
    pub fn find(&self, text: &str, words: &WordMap, start: usize, end: usize) -> Vec<String> {
        let bytes = text.as_bytes();
        let (from, to) = match self.unit {
            WindowUnit::Words => (
                words.words_back(
                    start,
                    self.before,
                    start.saturating_sub(self.before * MAX_WORD_BYTES),
                ),
                words.words_forward(
                    end,
                    self.after,
                    (end + self.after * MAX_WORD_BYTES).min(bytes.len()),
                ),
            ),
            WindowUnit::Chars => (
                chars_back(text, start, self.before),
                chars_forward(text, end, self.after),
            ),
        };
        // Rule files are checked to start every context word with a word byte, so a whole
        // context word starts where a word of the text starts: only those places are tried, and
        // at each the longest word that matches whole is taken. Words touching the value are
        // not context, so the value itself is skipped.
        let mut found: Vec<String> = Vec::new();
        let mut p = from;
        while let Some(at) = words.next_start(p, to) {
            if (start..end).contains(&at) {
                p = end;
                continue;
            }
            match self.word_at(bytes, at, to) {
                Some((w, e)) if e <= start || at >= end => {
                    let word = &self.words[w];
                    if !found.iter().any(|f| f == word) {
                        found.push(word.clone());
                    }
                    p = e;
                }
                _ => p = at + 1,
            }
        }
        found
    }

    /// The longest context word matching whole at word start `p` and ending by `to`: its index
    /// and end.
    fn word_at(&self, b: &[u8], p: usize, to: usize) -> Option<(usize, usize)> {
        let first = usize::from(b[p].to_ascii_lowercase());
        let second = b
            .get(p + 1)
            .map_or(u64::MAX, |&s| 1 << (s.to_ascii_lowercase() & 63));
        if self.starts[first] & second == 0 {
            return None;
        }
        self.by_first[first].iter().find_map(|&i| {
            let i = usize::from(i);
            let w = self.words[i].as_bytes();
            let e = p + w.len();
            (e <= to && b[p..e].eq_ignore_ascii_case(w) && whole_word(b, p, e)).then_some((i, e))
        })
    }
}

/// Bytes that make up words: ASCII letters, digits and `_` (as in a regex `\w`), and everything
/// non-ASCII (letters of other scripts), so that "mrn" inside "mrnábc" or "x_mrn" is not a whole
/// word.
#[inline]
fn is_word(b: u8) -> bool {
    WORD_OR_NON_ASCII_BYTE[usize::from(b)]
}

/// True if `s..e` is not part of a longer word (checked only at ends that are word bytes, so a
/// context word such as "policy #" or "s/n" can sit next to punctuation).
fn whole_word(b: &[u8], s: usize, e: usize) -> bool {
    let starts_ok = !is_word(b[s]) || s == 0 || !is_word(b[s - 1]);
    let ends_ok = !is_word(b[e - 1]) || e == b.len() || !is_word(b[e]);
    starts_ok && ends_ok
}

fn chars_back(text: &str, from: usize, n: usize) -> usize {
    text[..from]
        .char_indices()
        .rev()
        .take(n)
        .last()
        .map_or(from, |(i, _)| i)
}

fn chars_forward(text: &str, from: usize, n: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(words: &[&str], before: usize, after: usize, unit: WindowUnit) -> ContextMatcher {
        ContextMatcher::new(&Context {
            words: words.iter().map(|w| w.to_string()).collect(),
            before,
            after,
            unit,
            boost: 0.4,
        })
    }

    fn around(m: &ContextMatcher, text: &str, value: &str) -> Vec<String> {
        let s = text.find(value).unwrap();
        m.find(text, &WordMap::new(text.as_bytes()), s, s + value.len())
    }

    #[test]
    fn finds_words_in_the_word_window_only() {
        let m = matcher(&["mrn", "medical record"], 3, 1, WindowUnit::Words);
        assert_eq!(around(&m, "Patient MRN: 00123456", "00123456"), vec!["mrn"]);
        assert_eq!(
            around(&m, "MEDICAL RECORD no. 00123456", "00123456"),
            vec!["medical record"]
        );
        assert!(around(&m, "MRN and three more words 00123456", "00123456").is_empty());
        assert_eq!(around(&m, "00123456 (MRN)", "00123456"), vec!["mrn"]);
        assert!(around(&m, "00123456 is the MRN", "00123456").is_empty());
    }

    #[test]
    fn the_longest_word_that_is_whole_wins_at_each_start() {
        let m = matcher(&["home", "home phone", "phone"], 4, 0, WindowUnit::Words);
        assert_eq!(around(&m, "home phones 555-1234", "555-1234"), vec!["home"]);
        assert_eq!(
            around(&m, "home phone 555-1234", "555-1234"),
            vec!["home phone"],
            "a word inside a longer one found there is not listed again"
        );
        assert!(around(&m, "homephone 555-1234", "555-1234").is_empty());
    }

    #[test]
    fn whole_words_only() {
        let m = matcher(&["dob", "s/n"], 3, 0, WindowUnit::Words);
        assert!(around(&m, "adobe 01/02/1980", "01/02/1980").is_empty());
        assert_eq!(around(&m, "DOB:01/02/1980", "01/02/1980"), vec!["dob"]);
        assert_eq!(around(&m, "S/N 4A7B99", "4A7B99"), vec!["s/n"]);
    }

    #[test]
    fn char_windows_respect_multibyte_text() {
        let m = matcher(&["fax"], 8, 0, WindowUnit::Chars);
        assert_eq!(around(&m, "fax: ü 555-1234", "555-1234"), vec!["fax"]);
        assert!(around(&m, "fax: üüüüü 555-1234", "555-1234").is_empty());
    }

    #[test]
    fn windows_are_bounded_in_bytes() {
        let text = format!("mrn {} 00123456", "a".repeat(100_000));
        let m = matcher(&["mrn"], 6, 0, WindowUnit::Words);
        assert!(around(&m, &text, "00123456").is_empty());
        let s = text.len() - 8;
        let map = WordMap::new(text.as_bytes());
        assert!(s - map.words_back(s, 6, s - 6 * MAX_WORD_BYTES) <= 6 * MAX_WORD_BYTES);
    }
}
