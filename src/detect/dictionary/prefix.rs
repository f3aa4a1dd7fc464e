//! A 32 KiB bitset that rules out most word starts before the automaton is walked.
//!
//! Walking the automaton costs a dependent memory load per byte, and with twelve thousand
//! terms almost every word shares its first two or three letters with some term, so most walks
//! go a few states deep before dying. Nearly all ordinary words are already ruled out by their
//! first four bytes: this filter holds a hash of every term's first four bytes (ASCII
//! case folded), and of whole terms shorter than that, so one load answers "could a term start
//! here?". It may say yes wrongly (hash collisions: the walk then finds nothing), never no
//! wrongly.

/// How many leading bytes of a term the filter looks at.
const PREFIX_LEN: usize = 4;
const BITS_LOG2: u32 = 18;

pub struct PrefixFilter {
    bits: Box<[u64]>,
    /// Whether any term is exactly 2 or 3 bytes long (index = length).
    short_lengths: [bool; PREFIX_LEN],
}

impl PrefixFilter {
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> Self {
        let mut filter = PrefixFilter {
            bits: vec![0u64; 1 << (BITS_LOG2 - 6)].into_boxed_slice(),
            short_lengths: [false; PREFIX_LEN],
        };
        for term in terms {
            let bytes = term.as_bytes();
            let len = bytes.len().min(PREFIX_LEN);
            if len < PREFIX_LEN {
                filter.short_lengths[len] = true;
            }
            let slot = slot(len, fold(&bytes[..len]));
            filter.bits[slot >> 6] |= 1 << (slot & 63);
        }
        filter
    }

    /// False only if no term can start at the beginning of `rest`.
    #[inline]
    pub fn may_start(&self, rest: &[u8]) -> bool {
        let n = rest.len().min(PREFIX_LEN);
        let word = fold(&rest[..n]);
        if n == PREFIX_LEN && self.contains(slot(PREFIX_LEN, word)) {
            return true;
        }
        (1..=n.min(PREFIX_LEN - 1))
            .any(|len| self.short_lengths[len] && self.contains(slot(len, word)))
    }

    #[inline]
    fn contains(&self, slot: usize) -> bool {
        self.bits[slot >> 6] & (1 << (slot & 63)) != 0
    }
}

/// Up to four bytes as one little-endian word, with bit 5 of every byte set: ASCII letters fold to
/// lower case in one `or`. Other bytes may fold onto each other ('@' onto '`'), which can only
/// make the filter say yes more often, since terms are folded the same way.
#[inline]
fn fold(bytes: &[u8]) -> u32 {
    let word = match <[u8; 4]>::try_from(bytes) {
        Ok(four) => u32::from_le_bytes(four),
        Err(_) => bytes
            .iter()
            .rev()
            .fold(0u32, |w, &b| (w << 8) | u32::from(b)),
    };
    word | 0x2020_2020
}

/// The bit for the first `len` bytes of a folded word: the bytes themselves, and for shorter
/// prefixes their length in the top byte, hashed multiplicatively.
#[inline]
fn slot(len: usize, word: u32) -> usize {
    let key = if len >= PREFIX_LEN {
        word
    } else {
        (word & ((1u32 << (8 * len)) - 1)) | ((len as u32) << 24)
    };
    (key.wrapping_mul(0x9E37_79B1) >> (32 - BITS_LOG2)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_rules_out_a_real_start() {
        let f = PrefixFilter::new(["diabetes", "HIV", "flu", "ab", "type 2 diabetes"]);
        for text in [
            "diabetes",
            "DIABETES mellitus",
            "HIV",
            "hiv+",
            "flu",
            "Flu shot",
            "ab",
            "ab-",
            "Type 2",
        ] {
            assert!(f.may_start(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn rules_out_most_other_words() {
        let f = PrefixFilter::new(["diabetes", "HIV", "flu"]);
        let words = [
            "the ",
            "and ",
            "pipeline",
            "release",
            "quarterly",
            "deploy",
            "a",
            "",
        ];
        let passed = words.iter().filter(|w| f.may_start(w.as_bytes())).count();
        assert!(passed <= 1, "{passed} of {} passed", words.len());
    }
}
