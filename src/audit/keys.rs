//! Key files: the ed25519 checkpoint signing key and the HMAC fingerprint key.
//!
//! Both live outside the log directory (whoever can read the log must not be able to forge its
//! checkpoints or brute-force its fingerprints). They are created with mode 0600 and never
//! overwritten; a key file readable by group or others is refused, as ssh refuses loose keys.
//! The signing key is PKCS#8 PEM and the public key SPKI PEM, so `openssl` can use both.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::AuditError;

/// Key files are tiny; anything bigger is not a key file.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// The id under which a signing key's checkpoints are recorded: `ed25519:` and the first 16 hex
/// digits of SHA-256 of the 32-byte public key.
pub fn signing_key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("ed25519:{}", hex::encode(&digest[..8]))
}

/// Reads a secret key file, refusing one that group or others can read.
pub(crate) fn read_private_file(path: &Path) -> Result<String, AuditError> {
    let meta = fs::metadata(path).map_err(|e| key_io_error(path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(AuditError::Key {
            path: path.to_path_buf(),
            message: format!(
                "key file is readable by group or others (mode {mode:04o}); run: chmod 600 {}",
                path.display()
            ),
        });
    }
    read_small_file(path)
}

fn read_small_file(path: &Path) -> Result<String, AuditError> {
    let file = File::open(path).map_err(|e| key_io_error(path, e))?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| key_io_error(path, e))?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(key_error(path, "too large to be a key file"));
    }
    Ok(text)
}

fn key_io_error(path: &Path, e: std::io::Error) -> AuditError {
    if e.kind() == std::io::ErrorKind::NotFound {
        key_error(
            path,
            "key file not found; create the audit keys with `sluice audit keygen`",
        )
    } else {
        AuditError::io(path, e)
    }
}

fn key_error(path: &Path, message: &str) -> AuditError {
    AuditError::Key {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Loads the checkpoint signing key (PKCS#8 PEM, as written by `sluice audit keygen`).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, AuditError> {
    let pem = read_private_file(path)?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        key_error(
            path,
            &format!("not an ed25519 PKCS#8 PEM private key ({e})"),
        )
    })
}

/// Loads a public key to verify checkpoints with: an SPKI PEM public key, or (for convenience on
/// the machine that signs) the PKCS#8 PEM private key, or 64 hex digits of the raw public key.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, AuditError> {
    let text = read_small_file(path)?;
    let trimmed = text.trim();
    if let Ok(key) = VerifyingKey::from_public_key_pem(trimmed) {
        return Ok(key);
    }
    if let Ok(key) = SigningKey::from_pkcs8_pem(trimmed) {
        return Ok(key.verifying_key());
    }
    let mut raw = [0u8; 32];
    if trimmed.len() == 64 && hex::decode_to_slice(trimmed, &mut raw).is_ok() {
        if let Ok(key) = VerifyingKey::from_bytes(&raw) {
            return Ok(key);
        }
    }
    Err(key_error(
        path,
        "not an ed25519 public key (expected a PEM public key as written by `sluice audit keygen`)",
    ))
}

/// Creates a file that must not exist yet, mode 0600, and its parent directory (mode 0700) if
/// missing; the contents are fsynced before this returns.
pub(crate) fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), AuditError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            fs::create_dir_all(parent).map_err(|e| AuditError::io(parent, e))?;
            fs::set_permissions(parent, fs::Permissions::from_mode(0o700))
                .map_err(|e| AuditError::io(parent, e))?;
        }
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                key_error(path, "already exists; refusing to overwrite a key (move it away first if you really mean to replace it)")
            } else {
                AuditError::io(path, e)
            }
        })?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| AuditError::io(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(path, e))
}

/// What `keygen` created.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub path: PathBuf,
    pub key_id: String,
}

/// Generates an ed25519 signing key (PKCS#8 PEM, 0600) and writes its public key (SPKI PEM, 0644)
/// next to it. Refuses to overwrite either file.
pub fn generate_signing_key(path: &Path, public_path: &Path) -> Result<GeneratedKey, AuditError> {
    if public_path.exists() {
        return Err(key_error(
            public_path,
            "already exists; refusing to overwrite a key (move it away first if you really mean to replace it)",
        ));
    }
    let key = SigningKey::generate(&mut OsRng);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| key_error(path, &format!("cannot encode the key ({e})")))?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| key_error(public_path, &format!("cannot encode the key ({e})")))?;
    write_new_file(path, pem.as_bytes(), 0o600)?;
    write_new_file(public_path, public_pem.as_bytes(), 0o644)?;
    Ok(GeneratedKey {
        path: path.to_path_buf(),
        key_id: signing_key_id(&key.verifying_key()),
    })
}

/// Writes the public key of an existing signing key (SPKI PEM, 0644); refuses to overwrite.
pub fn write_public_key(
    signing_key: &Path,
    public_path: &Path,
) -> Result<GeneratedKey, AuditError> {
    let key = load_signing_key(signing_key)?.verifying_key();
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| key_error(public_path, &format!("cannot encode the key ({e})")))?;
    write_new_file(public_path, pem.as_bytes(), 0o644)?;
    Ok(GeneratedKey {
        path: public_path.to_path_buf(),
        key_id: signing_key_id(&key),
    })
}

/// Generates a 32-byte HMAC fingerprint key, stored as 64 hex digits and a newline (0600).
pub fn generate_fingerprint_key(path: &Path) -> Result<GeneratedKey, AuditError> {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    let text = format!("{}\n", hex::encode(key));
    write_new_file(path, text.as_bytes(), 0o600)?;
    Ok(GeneratedKey {
        path: path.to_path_buf(),
        key_id: super::fingerprint::fingerprint_key_id(&key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_private_0600_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let sk = dir.path().join("keys/sign.pem");
        let pk = dir.path().join("keys/sign.pub.pem");
        let made = generate_signing_key(&sk, &pk).unwrap();
        assert_eq!(
            fs::metadata(&sk).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(dir.path().join("keys"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        let loaded = load_signing_key(&sk).unwrap();
        assert_eq!(signing_key_id(&loaded.verifying_key()), made.key_id);
        assert_eq!(load_verifying_key(&pk).unwrap(), loaded.verifying_key());
        assert_eq!(load_verifying_key(&sk).unwrap(), loaded.verifying_key());
        let before = fs::read(&sk).unwrap();
        assert!(generate_signing_key(&sk, &dir.path().join("other.pub")).is_err());
        assert!(generate_signing_key(&dir.path().join("other.pem"), &pk).is_err());
        assert_eq!(fs::read(&sk).unwrap(), before);
        assert!(!dir.path().join("other.pem").exists());
    }

    #[test]
    fn loose_key_permissions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fk = dir.path().join("fp.key");
        generate_fingerprint_key(&fk).unwrap();
        fs::set_permissions(&fk, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_private_file(&fk).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn missing_key_names_keygen() {
        let err = load_signing_key(Path::new("/nonexistent/sluice.pem"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sluice audit keygen"), "{err}");
    }
}
