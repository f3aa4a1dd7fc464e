//! A 32 KiB bitset of the terms' first words: rules out almost every word of the text before
//! the automaton is walked.
//!
//! Walking the automaton costs a dependent memory load per byte, and with twelve thousand terms
//! most words share their first few letters with some term ("pati" with "patient's ..."), so a
//! filter on a word's first bytes still lets a walk start at a good share of all words. A filter
//! on the whole first word is exact but for hash collisions, because a term that starts with a
//! word byte can only match where a word of the text starts *with exactly the term's first word*
//! (both as maximal runs of ASCII word bytes, see `wordbits`, ASCII case folded): the term's run ends
//! either at a non-word byte inside the term, which the text then has at the same place, or at
//! the term's end, where the whole-word check wants no word character next. So one hash of the
//! word and two bit tests (a Bloom filter: with one bit, "the" happened to share its bit with a
//! first word) answer "could a term start here?". The answer may be yes wrongly, for a few words
//! in a thousand (the walk then finds nothing), never no wrongly.

const BITS_LOG2: u32 = 18;
/// Bit 5 of every byte: ASCII letters fold to lower case in one `or`. Word bytes (letters,
/// digits, `_`) stay distinct from each other under it.
const FOLD: u64 = 0x2020_2020_2020_2020;

pub struct FirstWords {
    bits: Box<[u64]>,
}

impl FirstWords {
    /// `first_words` are the leading ASCII word runs of the terms that start with a word byte.
    pub fn new<'a>(first_words: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut filter = FirstWords {
            bits: vec![0u64; 1 << (BITS_LOG2 - 6)].into_boxed_slice(),
        };
        for word in first_words {
            for slot in slots(word, 0, word.len()) {
                filter.bits[slot >> 6] |= 1 << (slot & 63);
            }
        }
        filter
    }

    /// False only if no term starts with the word `text[start..end]` (a whole run of ASCII word
    /// bytes).
    #[inline]
    pub fn may_start(&self, text: &[u8], start: usize, end: usize) -> bool {
        slots(text, start, end)
            .iter()
            .all(|&slot| self.bits[slot >> 6] & (1 << (slot & 63)) != 0)
    }
}

/// The two bits for the folded word `text[start..end]`: its first and last eight bytes and its
/// length, hashed multiplicatively, and the hash's top two slices of `BITS_LOG2` bits.
#[inline]
fn slots(text: &[u8], start: usize, end: usize) -> [usize; 2] {
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
    let key = head ^ tail.rotate_left(29) ^ len as u64;
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
}
