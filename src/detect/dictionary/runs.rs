//! Where the ASCII words of a text are, 64 bytes at a time.
//!
//! The dictionary detector only starts a walk where a word starts. Finding those places a byte at
//! a time (load, table lookup, branch) cost more than everything else the detector did; a mask of
//! the word bytes in a 64-byte block, computed 16 bytes per step with SSE2, turns word starts and
//! word ends into bit operations.
//!
//! "Word byte" here means an ASCII letter, digit or `_`. Non-ASCII bytes are not word bytes, so a
//! letter such as "é" splits an ASCII run; the exact, Unicode-aware whole-word check (`words`)
//! runs on every match, so this only decides where walks may start.

/// Bytes per block: one bit each in a `u64`.
pub const BLOCK: usize = 64;

/// ASCII letters, digits and `_`; every other byte (including all non-ASCII bytes) is false.
pub static WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    table
};

/// Bit `i` is set if `block[i]` is a word byte; `block` holds at most [`BLOCK`] bytes, and the
/// bits past its end are clear.
#[inline]
pub fn word_bits(block: &[u8]) -> u64 {
    debug_assert!(block.len() <= BLOCK);
    if block.len() < BLOCK {
        return word_bits_scalar(block);
    }
    word_bits_full(block)
}

fn word_bits_scalar(block: &[u8]) -> u64 {
    block.iter().enumerate().fold(0, |bits, (i, &b)| {
        bits | (u64::from(WORD_BYTE[usize::from(b)]) << i)
    })
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn word_bits_full(block: &[u8]) -> u64 {
    let mut bits = 0;
    for (k, chunk) in block.chunks_exact(16).enumerate() {
        let chunk: &[u8; 16] = chunk.try_into().expect("16-byte chunks");
        // SAFETY: the only requirement of `word_bits_16` is SSE2, which this function is compiled
        // only with (the cfg above; every x86_64 CPU has it).
        bits |= u64::from(unsafe { sse2::word_bits_16(chunk) }) << (16 * k);
    }
    bits
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
fn word_bits_full(block: &[u8]) -> u64 {
    word_bits_scalar(block)
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
    pub fn word_bits_16(chunk: &[u8; 16]) -> u16 {
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
        _mm_movemask_epi8(word) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_in_every_lane() {
        for b in 0..=255u8 {
            for lane in 0..BLOCK {
                let mut block = [b' '; BLOCK];
                block[lane] = b;
                let want = u64::from(WORD_BYTE[usize::from(b)]) << lane;
                assert_eq!(word_bits(&block), want, "byte {b:#04x} at {lane}");
                assert_eq!(
                    word_bits(&block[..=lane]),
                    want,
                    "short block, byte {b:#04x}"
                );
            }
        }
    }

    #[test]
    fn table_is_ascii_alphanumeric_and_underscore() {
        for b in 0..=255u8 {
            assert_eq!(
                WORD_BYTE[usize::from(b)],
                b.is_ascii_alphanumeric() || b == b'_'
            );
        }
    }
}
