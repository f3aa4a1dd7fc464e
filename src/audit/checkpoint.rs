//! Signed checkpoints: an ed25519 signature over (log id, seq, head hash, time).
//!
//! A hash chain alone proves only that the records agree with each other: whoever can write the
//! files can rewrite the whole chain. A checkpoint signed with a key kept outside the log directory
//! pins the chain up to `seq`; a copy held elsewhere (the anchors file shipped to WORM storage)
//! also proves that the log once reached `seq`, which is what catches a truncated tail.
//!
//! The signed message is ASCII text, so `openssl pkeyutl -verify -rawin` can check it:
//! `sluice-audit-checkpoint-v1\nlog_id=<id>\nseq=<seq>\nhead=<hex>\ntime=<ts>\n`.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::chain::ChainHash;
use super::keys::signing_key_id;

/// A signed statement that record `seq` of log `log_id` has hash `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub log_id: String,
    /// The last record the checkpoint covers (the record before the checkpoint record itself).
    pub seq: u64,
    /// That record's hash.
    pub head: ChainHash,
    pub time: String,
    pub key_id: String,
    /// The ed25519 signature over [`Checkpoint::message`], 128 hex digits.
    pub signature: String,
}

/// Why a checkpoint's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature is not 64 bytes of hex")]
    Malformed,
    #[error("checkpoint names key {named} but the key given has id {actual}")]
    WrongKey { named: String, actual: String },
    #[error("signature does not verify: the checkpoint was altered or forged")]
    Invalid,
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn message(log_id: &str, seq: u64, head: &ChainHash, time: &str) -> String {
        format!(
            "sluice-audit-checkpoint-v1\nlog_id={log_id}\nseq={seq}\nhead={head}\ntime={time}\n"
        )
    }

    pub fn sign(key: &SigningKey, log_id: &str, seq: u64, head: ChainHash, time: &str) -> Self {
        let signature = key.sign(Self::message(log_id, seq, &head, time).as_bytes());
        Checkpoint {
            log_id: log_id.to_string(),
            seq,
            head,
            time: time.to_string(),
            key_id: signing_key_id(&key.verifying_key()),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Checks the signature under `key`, which must be the key the checkpoint names.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), SignatureError> {
        let actual = signing_key_id(key);
        if actual != self.key_id {
            return Err(SignatureError::WrongKey {
                named: self.key_id.clone(),
                actual,
            });
        }
        let mut raw = [0u8; 64];
        if self.signature.len() != 128 || hex::decode_to_slice(&self.signature, &mut raw).is_err() {
            return Err(SignatureError::Malformed);
        }
        let message = Self::message(&self.log_id, self.seq, &self.head, &self.time);
        key.verify(message.as_bytes(), &Signature::from_bytes(&raw))
            .map_err(|_| SignatureError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_every_field_is_covered() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let cp = Checkpoint::sign(
            &key,
            "log-a",
            41,
            ChainHash([1; 32]),
            "2025-01-01T00:00:00.000000Z",
        );
        cp.verify(&key.verifying_key()).unwrap();
        let mut c = cp.clone();
        c.seq = 40;
        assert_eq!(c.verify(&key.verifying_key()), Err(SignatureError::Invalid));
        let mut c = cp.clone();
        c.head = ChainHash([2; 32]);
        assert_eq!(c.verify(&key.verifying_key()), Err(SignatureError::Invalid));
        let mut c = cp.clone();
        c.log_id = "log-b".into();
        assert_eq!(c.verify(&key.verifying_key()), Err(SignatureError::Invalid));
        let mut c = cp.clone();
        c.time = "2025-01-01T00:00:00.000001Z".into();
        assert_eq!(c.verify(&key.verifying_key()), Err(SignatureError::Invalid));
        let other = SigningKey::from_bytes(&[5; 32]);
        assert!(matches!(
            cp.verify(&other.verifying_key()),
            Err(SignatureError::WrongKey { .. })
        ));
    }
}
