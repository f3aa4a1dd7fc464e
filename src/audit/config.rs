//! The `[audit]` section of sluice.toml.
//!
//! Relative paths are taken as given (relative to the working directory); the gateway may resolve
//! them against the config file's directory before calling [`super::AuditLog::open`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::AuditError;

pub const DEFAULT_DIR: &str = "audit";
pub const DEFAULT_SIGNING_KEY: &str = ".sluice/audit-signing.pem";
pub const DEFAULT_PUBLIC_KEY: &str = ".sluice/audit-signing.pub.pem";
pub const DEFAULT_FINGERPRINT_KEY: &str = ".sluice/audit-fingerprint.key";

/// How and where the audit log is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The log directory (created mode 0700, or 0750 with `group`).
    pub dir: PathBuf,
    /// Start a new file at the first batch after the current one reaches this size.
    pub rotate_bytes: u64,
    /// Also start a new file at the first batch of each UTC day.
    pub rotate_daily: bool,
    /// Sign a checkpoint as soon as this many submitted records (decisions, outcomes, policy
    /// events) are unsigned...
    pub checkpoint_every_records: u64,
    /// ...or this many seconds after the first unsigned record, whichever comes first.
    pub checkpoint_every_secs: u64,
    /// The ed25519 checkpoint signing key (PKCS#8 PEM); must lie outside `dir`.
    pub signing_key: PathBuf,
    /// The signing key's public half (SPKI PEM, written by `sluice audit keygen`): the key
    /// `sluice audit verify --config` trusts, when the file exists.
    pub public_key: PathBuf,
    /// The HMAC fingerprint key (64 hex digits); must lie outside `dir`.
    pub fingerprint_key: PathBuf,
    /// Where checkpoints are also appended, one JSON object a line, for shipping elsewhere
    /// (default: `anchors.jsonl` in `dir`).
    pub anchors_file: Option<PathBuf>,
    /// A group allowed to read the log: files become 0640 and the directory 0750, owned by it.
    pub group: Option<String>,
    /// Records that may wait for the writer before submitters are slowed down.
    pub queue_capacity: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            dir: PathBuf::from(DEFAULT_DIR),
            rotate_bytes: 64 << 20,
            rotate_daily: true,
            checkpoint_every_records: 1000,
            checkpoint_every_secs: 60,
            signing_key: PathBuf::from(DEFAULT_SIGNING_KEY),
            public_key: PathBuf::from(DEFAULT_PUBLIC_KEY),
            fingerprint_key: PathBuf::from(DEFAULT_FINGERPRINT_KEY),
            anchors_file: None,
            group: None,
            queue_capacity: 65_536,
        }
    }
}

impl AuditConfig {
    /// A config with defaults for everything but the directory and key files (tests, tools).
    pub fn new(dir: impl Into<PathBuf>, signing_key: &Path, fingerprint_key: &Path) -> Self {
        AuditConfig {
            dir: dir.into(),
            signing_key: signing_key.to_path_buf(),
            fingerprint_key: fingerprint_key.to_path_buf(),
            ..AuditConfig::default()
        }
    }

    pub fn anchors_path(&self) -> PathBuf {
        self.anchors_file
            .clone()
            .unwrap_or_else(|| self.dir.join(super::files::ANCHORS_FILE))
    }

    /// Checks the values that do not need the file system.
    pub fn validate(&self) -> Result<(), AuditError> {
        if self.dir.as_os_str().is_empty() {
            return Err(AuditError::Config("`dir` is empty".into()));
        }
        if self.rotate_bytes < 4096 {
            return Err(AuditError::Config(format!(
                "`rotate_bytes` = {} is too small (at least 4096)",
                self.rotate_bytes
            )));
        }
        if self.checkpoint_every_records == 0 {
            return Err(AuditError::Config(
                "`checkpoint_every_records` must be at least 1".into(),
            ));
        }
        if self.checkpoint_every_secs == 0 {
            return Err(AuditError::Config(
                "`checkpoint_every_secs` must be at least 1".into(),
            ));
        }
        if self.queue_capacity == 0 {
            return Err(AuditError::Config(
                "`queue_capacity` must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_section_and_rejects_unknown_fields() {
        let c: AuditConfig = toml::from_str(
            "dir = \"/var/log/sluice\"\nrotate_bytes = 1048576\ncheckpoint_every_secs = 5\ngroup = \"auditors\"\n",
        )
        .unwrap();
        assert_eq!(c.dir, PathBuf::from("/var/log/sluice"));
        assert_eq!(c.rotate_bytes, 1 << 20);
        assert_eq!(c.checkpoint_every_records, 1000);
        assert_eq!(c.group.as_deref(), Some("auditors"));
        c.validate().unwrap();
        let err = toml::from_str::<AuditConfig>("rotate_byte = 5\n").unwrap_err();
        assert!(err.to_string().contains("rotate_byte"), "{err}");
        let small = AuditConfig {
            rotate_bytes: 10,
            ..AuditConfig::default()
        };
        assert!(small.validate().is_err());
    }
}
