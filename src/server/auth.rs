//! Client authentication: the API key (`Authorization: Bearer <key>`, or `x-api-key` as the
//! Anthropic SDKs send it) to a client identity and its policy set.
//!
//! Only the sha256 of each key is held in memory. The presented key is hashed and compared against
//! every client's hash in constant time (all of them, always), so neither timing nor early exit
//! tells an attacker which prefix or which client came close.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A client allowed to call the gateway.
#[derive(Debug, Clone)]
pub struct Client {
    pub name: String,
    pub key_sha256: [u8; 32],
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ClientRegistry {
    clients: Arc<Vec<Client>>,
}

impl ClientRegistry {
    pub fn new(clients: Vec<Client>) -> Self {
        ClientRegistry {
            clients: Arc::new(clients),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Every client's own policy set (empty for clients on the default set).
    pub fn policy_sets(&self) -> impl Iterator<Item = &[String]> {
        self.clients
            .iter()
            .map(|c| c.policies.as_slice())
            .filter(|s| !s.is_empty())
    }

    /// The sha256 of every client's key (to keep the console's admin key apart from them).
    pub fn key_digests(&self) -> impl Iterator<Item = [u8; 32]> + '_ {
        self.clients.iter().map(|c| c.key_sha256)
    }

    /// The client whose key is `key`, if any.
    pub fn authenticate_key(&self, key: &str) -> Option<&Client> {
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found = None;
        for c in self.clients.iter() {
            if bool::from(c.key_sha256.ct_eq(&digest)) {
                found = Some(c);
            }
        }
        found
    }
}

/// The API key a request presents: `Authorization: Bearer <key>` (OpenAI's SDKs), else
/// `x-api-key` (Anthropic's). A request with a malformed `Authorization` header and an
/// `x-api-key` is judged by the key.
pub fn presented_key(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
}

/// Parses a 64-hex-digit sha256.
pub fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(s.trim()).ok()?;
    bytes.try_into().ok()
}

pub fn sha256_of(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_keys_map_to_clients() {
        let reg = ClientRegistry::new(vec![
            Client {
                name: "a".into(),
                key_sha256: sha256_of("key-a"),
                policies: vec!["hipaa".into()],
            },
            Client {
                name: "b".into(),
                key_sha256: sha256_of("key-b"),
                policies: vec![],
            },
        ]);
        let authenticate = |headers: &[(&'static str, &'static str)]| {
            let mut map = actix_web::http::header::HeaderMap::new();
            for (name, value) in headers {
                map.insert(
                    actix_web::http::header::HeaderName::from_static(name),
                    actix_web::http::header::HeaderValue::from_static(value),
                );
            }
            presented_key(&map)
                .and_then(|key| reg.authenticate_key(key))
                .map(|c| c.name.clone())
        };
        assert_eq!(
            authenticate(&[("authorization", "Bearer key-b")]).as_deref(),
            Some("b")
        );
        assert_eq!(
            authenticate(&[("x-api-key", "key-a")]).as_deref(),
            Some("a")
        );
        assert_eq!(authenticate(&[("authorization", "Bearer key-c")]), None);
        assert_eq!(authenticate(&[("authorization", "key-a")]), None);
        assert_eq!(authenticate(&[("authorization", "Bearer ")]), None);
        assert_eq!(authenticate(&[]), None);
        // A malformed Authorization header does not hide a valid x-api-key.
        assert_eq!(
            authenticate(&[("authorization", "Basic xyz"), ("x-api-key", "key-b")]).as_deref(),
            Some("b")
        );
        assert_eq!(
            parse_sha256_hex(&hex::encode(sha256_of("x"))),
            Some(sha256_of("x"))
        );
        assert_eq!(parse_sha256_hex("abc"), None);
    }
}
