//! The `[console]` section of sluice.toml: who may open the console, and how long a sign-in lasts.
//!
//! The admin credential is separate from every client key (a client key cannot open the console,
//! and the gateway refuses to start if the admin key is also a client's), and like client keys it
//! is given as a sha256 or as the name of an environment variable, never in the file.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The sha256 (64 hex digits) of the admin key.
    pub admin_key_sha256: Option<String>,
    /// Or the environment variable that holds the admin key.
    pub admin_key_env: Option<String>,
    /// A sign-in lasts this long.
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u64,
    /// Mark the session cookie `Secure` (set it when sluice is reached over HTTPS, e.g. behind a
    /// TLS-terminating proxy; browsers then never send it in clear text).
    #[serde(default)]
    pub secure_cookie: bool,
    /// Rows per timeline page.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
}

fn default_session_minutes() -> u64 {
    480
}

fn default_page_size() -> usize {
    50
}

impl ConsoleConfig {
    /// The admin key's sha256, from the digest or the environment variable.
    pub fn admin_key_sha256(&self) -> Result<[u8; 32], String> {
        match (&self.admin_key_sha256, &self.admin_key_env) {
            (Some(hex_digest), _) => {
                let bytes = hex::decode(hex_digest.trim())
                    .map_err(|_| "[console] admin_key_sha256 is not 64 hex digits".to_owned())?;
                bytes
                    .try_into()
                    .map_err(|_| "[console] admin_key_sha256 is not 64 hex digits".to_owned())
            }
            (None, Some(var)) => match std::env::var(var) {
                Ok(key) if !key.trim().is_empty() => {
                    use sha2::Digest;
                    Ok(sha2::Sha256::digest(key.trim().as_bytes()).into())
                }
                _ => Err(format!(
                    "[console] the environment variable {var} (the admin key) is not set"
                )),
            },
            (None, None) => Err("[console] give admin_key_sha256 or admin_key_env".to_owned()),
        }
    }
}
