//! Console sign-in: the admin key opens a session held in memory; the browser keeps only a random
//! token in an `HttpOnly`, `SameSite=Strict` cookie.
//!
//! Only the sha256 of the admin key and of each session token is held, and both are compared in
//! constant time (a token is looked up by its digest, which reveals nothing about the token).
//! Sessions end after `session_minutes`, on sign-out, and when sluice restarts. Scripts may send
//! the admin key as `Authorization: Bearer` instead (exports), without a session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie that carries the session token.
pub const COOKIE: &str = "sluice_console";

/// Sessions beyond this many are refused (the oldest are dropped first): memory stays bounded
/// even if someone signs in in a loop with the right key.
const MAX_SESSIONS: usize = 1024;

pub struct Sessions {
    admin_key_sha256: [u8; 32],
    ttl: Duration,
    open: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Sessions {
    pub fn new(admin_key_sha256: [u8; 32], ttl: Duration) -> Sessions {
        Sessions {
            admin_key_sha256,
            ttl,
            open: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether `key` is the admin key.
    pub fn is_admin_key(&self, key: &str) -> bool {
        let key = key.trim();
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        !key.is_empty() && bool::from(digest.ct_eq(&self.admin_key_sha256))
    }

    /// Opens a session; returns its token (hex) for the cookie.
    pub fn open(&self) -> String {
        let mut token = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut token);
        let now = Instant::now();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, expires| *expires > now);
        if open.len() >= MAX_SESSIONS {
            if let Some(oldest) = open.iter().min_by_key(|(_, e)| **e).map(|(k, _)| *k) {
                open.remove(&oldest);
            }
        }
        open.insert(Sha256::digest(token).into(), now + self.ttl);
        hex::encode(token)
    }

    /// Whether `token` names an open session.
    pub fn is_open(&self, token: &str) -> bool {
        let Some(digest) = token_digest(token) else {
            return false;
        };
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&digest).is_some_and(|e| *e > Instant::now())
    }

    pub fn close(&self, token: &str) {
        if let Some(digest) = token_digest(token) {
            self.open
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&digest);
        }
    }
}

fn token_digest(token: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(token).ok().filter(|b| b.len() == 32)?;
    Some(Sha256::digest(bytes).into())
}

/// The session token in a `Cookie` header, if any.
pub fn token_in(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` value that stores `token` (or, with `None`, removes it).
pub fn set_cookie(token: Option<&str>, ttl: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            ttl.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_close_and_expire() {
        let sessions = Sessions::new(Sha256::digest(b"admin-key").into(), Duration::from_secs(60));
        assert!(sessions.is_admin_key("admin-key"));
        assert!(sessions.is_admin_key(" admin-key\n"));
        assert!(!sessions.is_admin_key("admin-ke"));
        assert!(!sessions.is_admin_key(""));
        let token = sessions.open();
        assert!(sessions.is_open(&token));
        assert!(!sessions.is_open("00"));
        assert!(!sessions.is_open(&"0".repeat(64)));
        sessions.close(&token);
        assert!(!sessions.is_open(&token));
        let expired = Sessions::new([0; 32], Duration::ZERO);
        assert!(!expired.is_open(&expired.open()));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(token_in("a=1; sluice_console=abc; b=2"), Some("abc"));
        assert_eq!(token_in("sluice_consolex=abc"), None);
        let set = set_cookie(Some("abc"), Duration::from_secs(60), true);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("Secure")
        );
    }
}
