//! The words of a whole text as bits, for counting context windows.
//!
//! A rule's context window is a number of words before and after each match ("six words before").
//! Dense text has a match every few dozen bytes, and windows of neighbouring matches overlap, so
//! walking each window byte by byte read most of the text over and over. Instead the text's word
//! bytes are taken once, 64 to a `u64` (see `wordbits`), and a window's ends and the word starts
//! inside it come from a few bit operations per block.
//!
//! Word bytes here are ASCII letters, digits, `_` and every non-ASCII byte (as in
//! [`WordBytes::AsciiAndNonAscii`]).

use crate::detect::wordbits::{word_bits, WordBytes, BLOCK};

pub struct WordMap {
    /// Bit `i % 64` of `bits[i / 64]`: byte `i` is a word byte. One block more than the text
    /// needs, so that the position just past the end has a (clear) bit too.
    bits: Vec<u64>,
}

impl WordMap {
    pub fn new(text: &[u8]) -> WordMap {
        let mut bits: Vec<u64> = text
            .chunks(BLOCK)
            .map(|block| word_bits(block, WordBytes::AsciiAndNonAscii))
            .collect();
        if text.len().is_multiple_of(BLOCK) {
            bits.push(0);
        }
        WordMap { bits }
    }

    /// The word bits of block `k` shifted up by one: bit `i` tells whether the byte before it is a
    /// word byte.
    #[inline]
    fn before(&self, k: usize) -> u64 {
        let carry = if k == 0 { 0 } else { self.bits[k - 1] >> 63 };
        self.bits[k] << 1 | carry
    }

    /// Positions in block `k` where a word starts.
    #[inline]
    fn starts(&self, k: usize) -> u64 {
        self.bits[k] & !self.before(k)
    }

    /// Positions in block `k` where a word has just ended (the byte before is a word byte and the
    /// byte there is not, or the text ends there).
    #[inline]
    fn ends(&self, k: usize) -> u64 {
        self.before(k) & !self.bits[k]
    }

    /// Where the window of `n` words before `from` starts: the start of the `n`th word starting
    /// before `from` (a word running into `from` counts), but not before `limit`.
    pub fn words_back(&self, from: usize, n: usize, limit: usize) -> usize {
        if n == 0 || from <= limit {
            return from;
        }
        let mut need = n;
        let mut k = (from - 1) / BLOCK;
        // Only positions before `from` count in its own block.
        let mut starts = self.starts(k) & low_bits(from - k * BLOCK);
        loop {
            let count = starts.count_ones() as usize;
            if count >= need {
                for _ in 1..need {
                    starts &= !highest_bit(starts);
                }
                let at = k * BLOCK + (63 - starts.leading_zeros() as usize);
                return at.max(limit);
            }
            need -= count;
            if k * BLOCK <= limit {
                return limit;
            }
            k -= 1;
            starts = self.starts(k);
        }
    }

    /// Where the window of `n` words after `from` ends: the end of the `n`th word ending after
    /// `from` (a word running on from `from` counts), but not past `limit`.
    pub fn words_forward(&self, from: usize, n: usize, limit: usize) -> usize {
        if n == 0 || from >= limit {
            return from;
        }
        let mut need = n;
        let mut k = from / BLOCK;
        // Only positions after `from` count in its own block.
        let mut ends = self.ends(k) & !low_bits(from - k * BLOCK + 1);
        loop {
            let count = ends.count_ones() as usize;
            if count >= need {
                for _ in 1..need {
                    ends &= ends - 1;
                }
                let at = k * BLOCK + ends.trailing_zeros() as usize;
                return at.min(limit);
            }
            need -= count;
            k += 1;
            if k * BLOCK >= limit || k == self.bits.len() {
                return limit;
            }
            ends = self.ends(k);
        }
    }

    /// The first word start at or after `from` and before `to`.
    pub fn next_start(&self, from: usize, to: usize) -> Option<usize> {
        let mut k = from / BLOCK;
        let mut starts = self.starts(k) & !low_bits(from - k * BLOCK);
        loop {
            if starts != 0 {
                let at = k * BLOCK + starts.trailing_zeros() as usize;
                return (at < to).then_some(at);
            }
            k += 1;
            if k * BLOCK >= to || k == self.bits.len() {
                return None;
            }
            starts = self.starts(k);
        }
    }
}

/// The `n` lowest bits set (`n` up to 64).
#[inline]
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

#[inline]
fn highest_bit(x: u64) -> u64 {
    1u64 << (63 - x.leading_zeros())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::detect::wordbits::WORD_OR_NON_ASCII_BYTE;

    fn is_word(b: u8) -> bool {
        WORD_OR_NON_ASCII_BYTE[usize::from(b)]
    }

    /// Byte-by-byte definitions: what the map must agree with.
    fn back_reference(b: &[u8], from: usize, n: usize, limit: usize) -> usize {
        let mut i = from;
        for _ in 0..n {
            while i > limit && !is_word(b[i - 1]) {
                i -= 1;
            }
            while i > limit && is_word(b[i - 1]) {
                i -= 1;
            }
            if i == limit {
                break;
            }
        }
        i
    }

    fn forward_reference(b: &[u8], from: usize, n: usize, limit: usize) -> usize {
        let mut i = from;
        for _ in 0..n {
            while i < limit && !is_word(b[i]) {
                i += 1;
            }
            while i < limit && is_word(b[i]) {
                i += 1;
            }
            if i == limit {
                break;
            }
        }
        i
    }

    fn next_start_reference(b: &[u8], from: usize, to: usize) -> Option<usize> {
        (from..to).find(|&p| is_word(b[p]) && (p == 0 || !is_word(b[p - 1])))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn agrees_with_byte_by_byte_counting(
            pieces in prop::collection::vec(
                prop::sample::select(vec!["ab", " ", "x1_", "é", ", ", "word", "\n", "日本", "--"]),
                0..90,
            ),
            from_frac in 0.0..=1.0f64,
            span in 0usize..200,
            n in 0usize..8,
        ) {
            let text: String = pieces.concat();
            let b = text.as_bytes();
            let map = WordMap::new(b);
            let from = ((b.len() as f64) * from_frac) as usize;
            let low = from.saturating_sub(span);
            let high = (from + span).min(b.len());
            prop_assert_eq!(map.words_back(from, n, low), back_reference(b, from, n, low));
            prop_assert_eq!(map.words_forward(from, n, high), forward_reference(b, from, n, high));
            prop_assert_eq!(map.next_start(from, high), next_start_reference(b, from, high));
        }
    }

    #[test]
    fn texts_of_whole_blocks_and_empty_text() {
        let text = "abcd ".repeat(64);
        let b = text.as_bytes();
        let map = WordMap::new(b);
        assert_eq!(map.words_forward(318, 1, b.len()), 319);
        assert_eq!(map.words_back(b.len(), 64, 0), 0);
        assert_eq!(map.next_start(316, b.len()), None);
        let empty = WordMap::new(b"");
        assert_eq!(empty.words_back(0, 3, 0), 0);
        assert_eq!(empty.words_forward(0, 3, 0), 0);
        assert_eq!(empty.next_start(0, 0), None);
    }
}
