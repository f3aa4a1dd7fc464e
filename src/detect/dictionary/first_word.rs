//! Filters on the terms' first words: they rule out almost every word of the text before the
//! automaton is walked.
//!
//! Walking the automaton costs a dependent memory load per byte, and with twelve thousand terms
//! most words share their first few letters with some term ("pati" with "patient's ..."), so a
//! filter on a word's first bytes still lets a walk start at a good share of all words. A filter
//! on the whole first word is exact but for hash collisions: a term that starts with a word byte
//! can only match where a word of the text starts *with exactly the term's first word* (both as
//! maximal runs of ASCII word bytes, see `wordbits`, ASCII case folded), because the term's run
//! ends either at a non-word byte inside the term, which the text then has at the same place, or
//! at the term's end, where the whole-word check wants no word character next.
//!
//! Two stages, each a Bloom filter of two bits per key:
//! 1. The first word alone, in 16 KiB with both bits in one 64-bit word: one load per word of the
//!    text, from L1. (With a single bit, "the" happened to share it with a first word.)
//! 2. For the few words that pass: the word with the two bytes after it in the text, against the
//!    two bytes after it in some term, or the word alone if some term ends within a byte of it.
//!    Common words start terms too ("a" of "a fib", "type" of "type 2 diabetes"), and each walk
//!    from them is a chain of cache misses in a 2 MiB automaton.
//!
//! The answer may be yes wrongly, for a few words in a thousand (the walk then finds nothing),
//! never no wrongly.

use crate::detect::wordbits::ASCII_WORD_BYTE;

const BITS_LOG2: u32 = 19;
/// Bit 5 of every byte: ASCII letters fold to lower case in one `or`. Word bytes (letters,
/// digits, `_`) stay distinct from each other under it.
const FOLD: u64 = 0x2020_2020_2020_2020;

/// 64-bit words in the first-word filter (16 KiB).
const FIRST_WORDS: usize = 2048;

/// What a refinement key stands for, mixed into its hash so that both kinds share one bitset.
/// A term that ends at most one byte after its first word ("hiv", "hiv+").
const SHORT_TERM: u64 = 0x5bd1_e995;
/// A term's first word and the two bytes after it ("type 2 diabetes": "type", " 2").
const WORD_AND_NEXT: u64 = 0xc2b2_ae35;

pub struct FirstWords {
    /// First words only, one 64-bit word per key: small enough to stay in L1, since every word
    /// of the text is looked up here.
    words: Box<[u64; FIRST_WORDS]>,
    /// The refinements (short terms, first word and next two bytes): a Bloom filter of two bits
    /// per key, consulted only for the few words that pass the first.
    bits: Box<[u64]>,
}

impl FirstWords {
    /// `terms` are the terms (as matched, with every case and apostrophe variant) that start with
    /// a word byte.
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut filter = FirstWords {
            words: Box::new([0; FIRST_WORDS]),
            bits: vec![0u64; 1 << (BITS_LOG2 - 6)].into_boxed_slice(),
        };
        for term in terms {
            let run = term
                .iter()
                .take_while(|&&b| ASCII_WORD_BYTE[usize::from(b)])
                .count();
            let word = word_key(term, 0, run);
            let (at, mask) = word_slot(word);
            filter.words[at] |= mask;
            match term.get(run..run + 2) {
                Some(next) => filter.insert(word ^ next_key(next)),
                None => filter.insert(word ^ SHORT_TERM),
            }
        }
        filter
    }

    fn insert(&mut self, key: u64) {
        for slot in slots(key) {
            self.bits[slot >> 6] |= 1 << (slot & 63);
        }
    }

    fn contains(&self, key: u64) -> bool {
        slots(key)
            .iter()
            .all(|&slot| self.bits[slot >> 6] & (1 << (slot & 63)) != 0)
    }

    /// False only if no term starts with the word `text[start..end]` (a whole run of ASCII word
    /// bytes) followed by what follows it in `text`. Most words are ruled out by the word alone;
    /// a word that does start some term ("a", "type") is then checked with the two bytes after it.
    #[inline]
    pub fn may_start(&self, text: &[u8], start: usize, end: usize) -> bool {
        let word = word_key(text, start, end);
        let (at, mask) = word_slot(word);
        if self.words[at] & mask != mask {
            return false;
        }
        self.contains(word ^ SHORT_TERM)
            || text
                .get(end..end + 2)
                .is_some_and(|next| self.contains(word ^ next_key(next)))
    }
}

/// The two bytes after a first word, folded, tagged.
#[inline]
fn next_key(next: &[u8]) -> u64 {
    let folded = u64::from(u16::from_le_bytes([next[0], next[1]]) | 0x2020);
    WORD_AND_NEXT ^ folded.wrapping_mul(0xff51_afd7_ed55_8ccd)
}

/// The folded word `text[start..end]` as a key: its first and last eight bytes and its length.
#[inline]
fn word_key(text: &[u8], start: usize, end: usize) -> u64 {
    let len = end - start;
    let (head, tail) = if len >= 8 {
        (load8(text, start), load8(text, end - 8))
    } else {
        let keep = (1u64 << (8 * len)) - 1;
        let head = match text.get(start..start + 8) {
            Some(eight) => le(eight),
            None => text[start..end]
                .iter()
                .rev()
                .fold(0, |w, &b| (w << 8) | u64::from(b)),
        };
        (head & keep | FOLD & keep, 0)
    };
    head ^ tail.rotate_left(29) ^ len as u64
}

/// Where a first word's two bits are: one 64-bit word of the filter, so one load tests both.
#[inline]
fn word_slot(key: u64) -> (usize, u64) {
    let hash = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let at = (hash >> 53) as usize & (FIRST_WORDS - 1);
    let mask = 1u64 << ((hash >> 47) & 63) | 1u64 << ((hash >> 41) & 63);
    (at, mask)
}

/// The two bits of a key: hashed multiplicatively, the hash's top two slices of `BITS_LOG2` bits.
#[inline]
fn slots(key: u64) -> [usize; 2] {
    let hash = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mask = (1 << BITS_LOG2) - 1;
    [
        (hash >> (64 - BITS_LOG2)) as usize,
        (hash >> (64 - 2 * BITS_LOG2)) as usize & mask,
    ]
}

#[inline]
fn load8(text: &[u8], at: usize) -> u64 {
    le(&text[at..at + 8]) | FOLD
}

#[inline]
fn le(eight: &[u8]) -> u64 {
    u64::from_le_bytes(eight.try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(words: &[&str]) -> FirstWords {
        FirstWords::new(words.iter().map(|w| w.as_bytes()))
    }

    /// `word` as a whole word inside a longer text, so loads may reach past its end.
    fn may_start(f: &FirstWords, word: &str) -> bool {
        let text = format!("x {word} and more text after it");
        f.may_start(text.as_bytes(), 2, 2 + word.len())
    }

    #[test]
    fn never_rules_out_a_first_word_in_any_case_or_position() {
        let words = [
            "hiv",
            "type",
            "ab",
            "pneumonoultramicroscopic",
            "covid",
            "a_b",
            "x9",
        ];
        let f = filter(&words);
        for w in words {
            assert!(may_start(&f, w), "{w}");
            assert!(may_start(&f, &w.to_ascii_uppercase()), "{w}");
            // At the very end of the text, where eight bytes cannot be loaded.
            let upper = w.to_ascii_uppercase();
            assert!(
                f.may_start(upper.as_bytes(), 0, upper.len()),
                "{w} at the end"
            );
        }
        assert!(may_start(&f, "HiV"));
    }

    #[test]
    fn rules_out_other_words_and_longer_or_shorter_ones() {
        let f = filter(&["diabetes", "hiv", "pneumonoultramicroscopic"]);
        let words = [
            "the",
            "and",
            "pipeline",
            "release",
            "diabete",
            "diabetess",
            "hi",
            "hivx",
            "pneumonoultramicroscopi",
            "pneumonoultramicroscopics",
            "deploy",
            "a",
        ];
        let passed: Vec<_> = words.iter().filter(|w| may_start(&f, w)).collect();
        assert!(passed.is_empty(), "{passed:?}");
    }

    #[test]
    fn a_first_word_passes_only_with_what_follows_it_in_some_term() {
        let f = filter(&[
            "type 2 diabetes",
            "a fib",
            "COVID-19",
            "hiv+",
            "Crohn’s disease",
        ]);
        let at_start = |text: &str| {
            let run = text
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            f.may_start(text.as_bytes(), 0, run)
        };
        for yes in [
            "type 2 diabetes",
            "TYPE 2",
            "a fib",
            "A Fib",
            "covid-19",
            "hiv+ve",
            "hiv+",
        ] {
            assert!(at_start(yes), "{yes}");
        }
        assert!(
            at_start("crohn’s"),
            "a typographic apostrophe is two bytes of three"
        );
        for no in ["type of", "type", "a patient", "a", "covid 19", "crohn's"] {
            assert!(!at_start(no), "{no}");
        }
    }
}
