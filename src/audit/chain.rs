//! The hash chain: what exactly is hashed, so that anyone can recompute it without sluice.
//!
//! `hash = SHA-256(prev || "<seq>\n<ts>\n<kind>\n" || body)` where `prev` is the previous record's
//! hash as 32 raw bytes (32 zero bytes for the genesis record), `seq` is decimal ASCII, `ts` and
//! `kind` are the record's strings, and `body` is the UTF-8 bytes of the record's `body` string
//! exactly as stored. The body is kept as a string (its JSON serialized once, by the writer) so the
//! hashed bytes never depend on how a JSON library orders or spaces fields when it re-reads them.
//! Neither `seq`, `ts` nor `kind` can contain a newline, so the encoding is unambiguous.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A SHA-256 chain hash, shown and stored as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The `prev` of the genesis record.
    pub const ZERO: ChainHash = ChainHash([0; 32]);

    /// Parses 64 lowercase hex digits (the only form the log uses).
    pub fn from_hex(s: &str) -> Option<ChainHash> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(ChainHash(out))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, for messages meant for people.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }

    fn encode_into<'a>(&self, buf: &'a mut [u8; 64]) -> &'a str {
        hex::encode_to_slice(self.0, buf).expect("64 bytes hold 32 bytes of hex");
        std::str::from_utf8(buf).expect("hex is ASCII")
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 64];
        f.write_str(self.encode_into(&mut buf))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        s.serialize_str(self.encode_into(&mut buf))
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ChainHash::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom("expected 64 lowercase hex digits"))
    }
}

/// The hash of one record (see the module documentation for the exact bytes).
pub fn record_hash(prev: &ChainHash, seq: u64, ts: &str, kind: &str, body: &str) -> ChainHash {
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(ts.as_bytes());
    h.update(b"\n");
    h.update(kind.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    ChainHash(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_documented_byte_layout() {
        let prev = ChainHash([7; 32]);
        let mut manual = Vec::new();
        manual.extend_from_slice(&[7; 32]);
        manual.extend_from_slice(b"42\n2025-01-02T03:04:05.000006Z\noutcome\n{\"a\":1}");
        let expected = ChainHash(Sha256::digest(&manual).into());
        let got = record_hash(
            &prev,
            42,
            "2025-01-02T03:04:05.000006Z",
            "outcome",
            "{\"a\":1}",
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn every_hashed_field_changes_the_hash() {
        let base = record_hash(&ChainHash::ZERO, 1, "t", "decision", "{}");
        assert_ne!(
            base,
            record_hash(&ChainHash([1; 32]), 1, "t", "decision", "{}")
        );
        assert_ne!(
            base,
            record_hash(&ChainHash::ZERO, 2, "t", "decision", "{}")
        );
        assert_ne!(
            base,
            record_hash(&ChainHash::ZERO, 1, "u", "decision", "{}")
        );
        assert_ne!(base, record_hash(&ChainHash::ZERO, 1, "t", "outcome", "{}"));
        assert_ne!(
            base,
            record_hash(&ChainHash::ZERO, 1, "t", "decision", "{ }")
        );
    }

    #[test]
    fn hex_round_trip_and_rejects_malformed() {
        let h = ChainHash([0xab; 32]);
        assert_eq!(ChainHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(ChainHash::from_hex(&h.to_hex().to_uppercase()), None);
        assert_eq!(ChainHash::from_hex("abcd"), None);
        assert_eq!(ChainHash::from_hex(&"zz".repeat(32)), None);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<ChainHash>(&json).unwrap(), h);
    }
}
