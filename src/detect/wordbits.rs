//! Where the words of a text are, 64 bytes at a time.
//!
//! The dictionary detector starts walks only where a word starts, and context words are looked
//! for only at word starts near a match. Finding those places a byte at a time (load, table
//! lookup, branch) cost more than the rest of either job; a mask of the word bytes of a 64-byte
//! block, computed 16 bytes per step with SSE2, turns word starts and ends into bit operations.
//!
//! Two definitions of "word byte" are in use, both ASCII letters, digits and `_` at heart:
//! - [`WordBytes::Ascii`]: non-ASCII bytes are not word bytes, so "é" splits a run. The dictionary
//!   detector uses it to decide where walks may start; its exact, Unicode-aware whole-word check
//!   runs on every match.
//! - [`WordBytes::AsciiAndNonAscii`]: every non-ASCII byte is a word byte (letters of other
//!   scripts), so "mrn" inside "mrnábc" is not a whole word. Context windows use it.

/// Bytes per block: one bit each in a `u64`.
pub const BLOCK: usize = 64;

/// Which bytes count as word bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordBytes {
    Ascii,
    AsciiAndNonAscii,
}

impl WordBytes {
    /// The table for this definition.
    pub fn table(self) -> &'static [bool; 256] {
        match self {
            WordBytes::Ascii => &ASCII_WORD_BYTE,
            WordBytes::AsciiAndNonAscii => &WORD_OR_NON_ASCII_BYTE,
        }
    }
}

/// ASCII letters, digits and `_`; every other byte (including all non-ASCII bytes) is false.
pub static ASCII_WORD_BYTE: [bool; 256] = word_table(false);

/// ASCII letters, digits, `_` and every non-ASCII byte.
pub static WORD_OR_NON_ASCII_BYTE: [bool; 256] = word_table(true);

const fn word_table(non_ascii: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || (non_ascii && c >= 0x80);
        b += 1;
    }
    table
}

/// Bit `i` is set if `block[i]` is a word byte; `block` holds at most [`BLOCK`] bytes, and the
/// bits past its end are clear.
#[inline]
pub fn word_bits(block: &[u8], kind: WordBytes) -> u64 {
    debug_assert!(block.len() <= BLOCK);
    if block.len() < BLOCK {
        return word_bits_scalar(block, kind);
    }
    word_bits_full(block, kind)
}

fn word_bits_scalar(block: &[u8], kind: WordBytes) -> u64 {
    let table = kind.table();
    block.iter().enumerate().fold(0, |bits, (i, &b)| {
        bits | (u64::from(table[usize::from(b)]) << i)
    })
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn word_bits_full(block: &[u8], kind: WordBytes) -> u64 {
    let non_ascii = kind == WordBytes::AsciiAndNonAscii;
    let mut bits = 0;
    for (k, chunk) in block.chunks_exact(16).enumerate() {
        let chunk: &[u8; 16] = chunk.try_into().expect("16-byte chunks");
        // SAFETY: the only requirement of `word_bits_16` is SSE2, which this function is compiled
        // only with (the cfg above; every x86_64 CPU has it).
        bits |= u64::from(unsafe { sse2::word_bits_16(chunk, non_ascii) }) << (16 * k);
    }
    bits
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
fn word_bits_full(block: &[u8], kind: WordBytes) -> u64 {
    word_bits_scalar(block, kind)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_set_epi64x,
    };

    /// The word-byte bits of 16 bytes. Signed byte compares only, so ranges are shifted to start
    /// at -128: `b - lo + 0x80 < -128 + width` holds exactly for `lo <= b < lo + width`.
    #[target_feature(enable = "sse2")]
    pub fn word_bits_16(chunk: &[u8; 16], non_ascii: bool) -> u16 {
        let half = |i: usize| i64::from_le_bytes(chunk[i..i + 8].try_into().expect("eight bytes"));
        let v = _mm_set_epi64x(half(8), half(0));
        let in_range = |x, lo: u8, width: i8| {
            let shifted = _mm_add_epi8(x, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
            _mm_cmplt_epi8(shifted, _mm_set1_epi8(i8::MIN + width))
        };
        // Setting bit 5 folds upper-case letters onto lower-case ones; no other byte lands in
        // a..z that way (`@` and `[`..`_` land outside it, non-ASCII stays non-ASCII).
        let letters = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 26);
        let digits = in_range(v, b'0', 10);
        let underscore = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
        let word = _mm_or_si128(_mm_or_si128(letters, digits), underscore);
        // The top bit of each byte is what marks it non-ASCII.
        let high = if non_ascii { _mm_movemask_epi8(v) } else { 0 };
        (_mm_movemask_epi8(word) | high) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_in_every_lane() {
        for kind in [WordBytes::Ascii, WordBytes::AsciiAndNonAscii] {
            for b in 0..=255u8 {
                for lane in 0..BLOCK {
                    let mut block = [b' '; BLOCK];
                    block[lane] = b;
                    let want = u64::from(kind.table()[usize::from(b)]) << lane;
                    assert_eq!(word_bits(&block, kind), want, "{kind:?} {b:#04x} at {lane}");
                    assert_eq!(word_bits(&block[..=lane], kind), want, "short, {b:#04x}");
                }
            }
        }
    }

    #[test]
    fn tables() {
        for b in 0..=255u8 {
            let ascii = b.is_ascii_alphanumeric() || b == b'_';
            assert_eq!(ASCII_WORD_BYTE[usize::from(b)], ascii);
            assert_eq!(WORD_OR_NON_ASCII_BYTE[usize::from(b)], ascii || b >= 0x80);
        }
    }
}
