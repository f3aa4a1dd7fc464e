//! A 32 KiB bitset that rules out most word starts before the automaton is walked.
//!
//! Walking the automaton costs a dependent memory load per byte, and with twelve thousand
//! terms almost every word shares its first two or three letters with some term, so most walks
//! go a few states deep before dying. Nearly all ordinary words are already ruled out by their
//! first four bytes: this filter holds a hash of every term's first four bytes (ASCII
//! lower-cased), and of whole terms shorter than that, so one load answers "could a term start
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
            let slot = slot(&bytes[..len]);
            filter.bits[slot >> 6] |= 1 << (slot & 63);
        }
        filter
    }

    /// False if no term can start at the beginning of `rest`.
    #[inline]
    pub fn may_start(&self, rest: &[u8]) -> bool {
        if rest.len() >= PREFIX_LEN && self.contains(&rest[..PREFIX_LEN]) {
            return true;
        }
        (1..PREFIX_LEN.min(rest.len() + 1))
            .any(|len| self.short_lengths[len] && self.contains(&rest[..len]))
    }

    #[inline]
    fn contains(&self, prefix: &[u8]) -> bool {
        let slot = slot(prefix);
        self.bits[slot >> 6] & (1 << (slot & 63)) != 0
    }
}

/// The bit for a prefix of at most `PREFIX_LEN` bytes, ASCII case-folded.
#[inline]
fn slot(prefix: &[u8]) -> usize {
    let mut key = prefix.len() as u32;
    for &b in prefix {
        key = (key << 8) | u32::from(b.to_ascii_lowercase());
    }
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
