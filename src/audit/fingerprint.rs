//! Keyed fingerprints of matched values: correlate the same SSN across requests without storing it.
//!
//! A plain hash of a 9-digit SSN is reversed by trying all 10^9 candidates in minutes; an HMAC under
//! a 256-bit key that never enters the log is not. The fingerprint is
//! `hex(HMAC-SHA256(key, entity_type || "\n" || normalize(value)))`, so the same value seen as two
//! types does not correlate, and formatting differences (`123-45-6789` vs `123 45 6789`) do.

use std::fmt;
use std::path::Path;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::AuditError;
use super::keys::read_private_file;

type HmacSha256 = Hmac<Sha256>;

/// The id recorded next to fingerprints: `hmac:` and 16 hex digits of SHA-256 over a fixed label
/// and the key. It names the key (fingerprints under different keys never match) without
/// revealing it.
pub fn fingerprint_key_id(key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(b"sluice-fingerprint-key-id\n");
    h.update(key);
    format!("hmac:{}", hex::encode(&h.finalize()[..8]))
}

/// Computes fingerprints under one HMAC key. Holds the keyed HMAC state, never prints the key.
#[derive(Clone)]
pub struct Fingerprinter {
    mac: HmacSha256,
    key_id: String,
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fingerprinter")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Fingerprinter {
    /// Loads the key file written by `sluice audit keygen` (64 hex digits; mode 0600).
    pub fn load(path: &Path) -> Result<Fingerprinter, AuditError> {
        let text = read_private_file(path)?;
        let mut key = [0u8; 32];
        let trimmed = text.trim();
        if trimmed.len() != 64 || hex::decode_to_slice(trimmed, &mut key).is_err() {
            return Err(AuditError::Key {
                path: path.to_path_buf(),
                message: "not a fingerprint key (expected 64 hex digits, as written by `sluice audit keygen`)".into(),
            });
        }
        Ok(Fingerprinter::from_key(&key))
    }

    /// A fingerprinter over raw key bytes (tests and benches; production loads a key file).
    pub fn from_key(key: &[u8; 32]) -> Fingerprinter {
        Fingerprinter {
            mac: HmacSha256::new_from_slice(key).expect("HMAC takes any key length"),
            key_id: fingerprint_key_id(key),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The fingerprint of `value` found as `entity_type`.
    pub fn fingerprint(&self, entity_type: &str, value: &str) -> Fingerprint {
        let mut mac = self.mac.clone();
        mac.update(entity_type.as_bytes());
        mac.update(b"\n");
        mac.update(normalize(value).as_bytes());
        Fingerprint(hex::encode(mac.finalize().into_bytes()))
    }
}

/// Normalizes a value so that formatting does not split one identifier into several fingerprints:
/// trim, lowercase, collapse whitespace runs to one space; then, if the value holds a digit and
/// nothing but letters, digits, whitespace and the separators `- . ( ) / +`, keep only its
/// letters and digits (phone numbers, SSNs, card and record numbers). Emails and names keep their
/// punctuation.
pub fn normalize(value: &str) -> String {
    let lowered = value.trim().to_lowercase();
    let mut collapsed = String::with_capacity(lowered.len());
    let mut in_space = false;
    for c in lowered.chars() {
        if c.is_whitespace() {
            in_space = true;
        } else {
            if in_space && !collapsed.is_empty() {
                collapsed.push(' ');
            }
            in_space = false;
            collapsed.push(c);
        }
    }
    let numberish = collapsed.chars().any(|c| c.is_ascii_digit())
        && collapsed
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "-.()/+".contains(c));
    if numberish {
        collapsed.retain(char::is_alphanumeric);
    }
    collapsed
}

/// A fingerprint: 64 lowercase hex digits. It can only be made by a [`Fingerprinter`] or read back
/// from a log (where anything but 64 hex digits is rejected), so no raw value fits in one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Fingerprint(s))
        } else {
            Err("a fingerprint is 64 lowercase hex digits")
        }
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", &self.0[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_variants_share_a_fingerprint() {
        let fp = Fingerprinter::from_key(&[9; 32]);
        let a = fp.fingerprint("US_SSN", "123-45-6789");
        assert_eq!(a, fp.fingerprint("US_SSN", " 123 45 6789 "));
        assert_eq!(a, fp.fingerprint("US_SSN", "123.45.6789"));
        assert_ne!(a, fp.fingerprint("US_SSN", "123-45-6780"));
        assert_ne!(a, fp.fingerprint("PHONE_NUMBER", "123-45-6789"));
        assert_eq!(
            fp.fingerprint("PERSON", "Jane  Doe"),
            fp.fingerprint("PERSON", "jane doe")
        );
        assert_ne!(
            fp.fingerprint("EMAIL_ADDRESS", "j.doe@x.org"),
            fp.fingerprint("EMAIL_ADDRESS", "jdoe@x.org")
        );
    }

    #[test]
    fn fingerprints_depend_on_the_key_and_hide_the_value() {
        let a = Fingerprinter::from_key(&[1; 32]);
        let b = Fingerprinter::from_key(&[2; 32]);
        let fa = a.fingerprint("US_SSN", "123-45-6789");
        assert_ne!(fa, b.fingerprint("US_SSN", "123-45-6789"));
        assert_ne!(a.key_id(), b.key_id());
        assert!(!fa.as_str().contains("123456789"));
        let plain = hex::encode(Sha256::digest(b"US_SSN\n123456789"));
        assert_ne!(fa.as_str(), plain);
        assert!(!format!("{a:?}").contains(&hex::encode([1u8; 32])));
    }

    #[test]
    fn only_hex_deserializes() {
        let good = format!("\"{}\"", "ab".repeat(32));
        assert!(serde_json::from_str::<Fingerprint>(&good).is_ok());
        assert!(serde_json::from_str::<Fingerprint>("\"123-45-6789\"").is_err());
        assert!(serde_json::from_str::<Fingerprint>(&good.to_uppercase()).is_err());
    }

    #[test]
    fn normalize_rules() {
        assert_eq!(normalize("(555) 010-2030"), "5550102030");
        assert_eq!(normalize("  MRN-00123 "), "mrn00123");
        assert_eq!(normalize("John\t\nSmith"), "john smith");
        assert_eq!(normalize("a@b.com"), "a@b.com");
        assert_eq!(normalize("12 Main St."), "12mainst");
    }
}
