//! ed25519 keys: files on disk, TUF's key format and key ids, and signers (a key file or an
//! external command, for HSM/KMS in CI).
//!
//! A private key file holds the 32-byte seed in hex; it is created with mode 0600, never
//! overwritten, and refused when others can read it. Private key material never appears in
//! an error message, a `Debug` output or a log.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::canonical::to_canonical;

/// A public key in TUF's format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TufKey {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("`{}` already exists; refusing to overwrite a key", path.display())]
    Exists { path: PathBuf },
    #[error("`{}` can be read by others (mode {mode:o}); refusing to use it", path.display())]
    Readable { path: PathBuf, mode: u32 },
    #[error("failed to access key file `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a key file: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("unsupported key type `{keytype}`/`{scheme}`; hivebuild uses ed25519")]
    Unsupported { keytype: String, scheme: String },
    #[error("failed to get random bytes for a key")]
    Random,
}

/// A verifying key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0.as_bytes()))
    }
}

impl PublicKey {
    pub fn to_tuf(&self) -> TufKey {
        TufKey {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyval: KeyVal {
                public: hex::encode(self.0.as_bytes()),
            },
        }
    }

    pub fn from_tuf(key: &TufKey) -> Result<Self, KeyError> {
        if key.keytype != "ed25519" || key.scheme != "ed25519" {
            return Err(KeyError::Unsupported {
                keytype: key.keytype.clone(),
                scheme: key.scheme.clone(),
            });
        }
        let bytes: [u8; 32] = hex::decode(&key.keyval.public)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError::Malformed {
                path: PathBuf::new(),
                reason: "public key is not 32 bytes of hex".into(),
            })?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| KeyError::Malformed {
                path: PathBuf::new(),
                reason: "not an ed25519 point".into(),
            })
    }

    /// TUF's key id: the sha256 of the key's canonical JSON, in hex.
    pub fn keyid(&self) -> String {
        keyid_of(&self.to_tuf())
    }

    pub fn bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Check a signature strictly (no malleable or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.0.verify_strict(message, &signature).is_ok()
    }

    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let key: TufKey = serde_json::from_str(&text).map_err(|e| KeyError::Malformed {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::from_tuf(&key).map_err(|error| match error {
            KeyError::Malformed { reason, .. } => KeyError::Malformed {
                path: path.to_owned(),
                reason,
            },
            other => other,
        })
    }
}

/// The sha256 of a TUF key's canonical JSON.
pub fn keyid_of(key: &TufKey) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(to_canonical(key)))
}

/// A private key. Its `Debug` shows the public half only.
pub struct PrivateKey(SigningKey);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrivateKey(public {})",
            hex::encode(self.0.verifying_key().as_bytes())
        )
    }
}

impl PrivateKey {
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0_u8; 32];
        getrandom::fill(&mut seed).map_err(|_| KeyError::Random)?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Read a key file; refuse one that anyone but its owner can read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io_error = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mode = fs::metadata(path).map_err(io_error)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Readable {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
        let text = fs::read_to_string(path).map_err(io_error)?;
        let seed: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError::Malformed {
                path: path.to_owned(),
                reason: "expected 64 hex digits".into(),
            })?;
        Ok(Self::from_seed(seed))
    }

    /// Write `PREFIX.key` (0600) and `PREFIX.pub` (TUF key JSON); refuse to overwrite either.
    pub fn save(&self, prefix: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
        let private = with_suffix(prefix, ".key");
        let public = with_suffix(prefix, ".pub");
        for path in [&private, &public] {
            if path.exists() {
                return Err(KeyError::Exists { path: path.clone() });
            }
        }
        if let Some(parent) = private.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| KeyError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&private)
            .map_err(|source| KeyError::Io {
                path: private.clone(),
                source,
            })?;
        writeln!(file, "{}", hex::encode(self.0.to_bytes())).map_err(|source| KeyError::Io {
            path: private.clone(),
            source,
        })?;
        let text =
            serde_json::to_string_pretty(&self.public().to_tuf()).expect("keys serialise") + "\n";
        fs::write(&public, text).map_err(|source| KeyError::Io {
            path: public.clone(),
            source,
        })?;
        Ok((private, public))
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("failed to run the signer command `{command}`")]
    Command {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the signer command `{command}` failed ({status}): {stderr}")]
    CommandFailed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("the signer command `{command}` returned no valid signature for key {keyid}")]
    BadSignature { command: String, keyid: String },
}

/// Something that signs bytes with one key.
pub trait Signer {
    fn public(&self) -> PublicKey;
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl Signer for PrivateKey {
    fn public(&self) -> PublicKey {
        PrivateKey::public(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

/// An external signer (an HSM or KMS client): `sh -c COMMAND` gets the bytes to sign on
/// stdin and prints the signature, as hex or as 64 raw bytes. Its public key is given, and
/// every signature it returns is checked against it.
#[derive(Debug)]
pub struct CommandSigner {
    pub command: String,
    pub public: PublicKey,
}

impl Signer for CommandSigner {
    fn public(&self) -> PublicKey {
        self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        use std::io::Read as _;
        use std::process::{Command, Stdio};
        let run_error = |source| SignError::Command {
            command: self.command.clone(),
            source,
        };
        let mut child = Command::new("sh")
            .args(["-c", &self.command])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(run_error)?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let message = message.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&message));
        let mut stdout = Vec::new();
        child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_end(&mut stdout)
            .map_err(run_error)?;
        let output = child.wait_with_output().map_err(run_error)?;
        let _ = writer.join();
        if !output.status.success() {
            return Err(SignError::CommandFailed {
                command: self.command.clone(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let text = String::from_utf8_lossy(&stdout);
        let signature = match hex::decode(text.trim()) {
            Ok(bytes) if bytes.len() == 64 => bytes,
            _ if stdout.len() == 64 => stdout,
            _ => {
                return Err(SignError::BadSignature {
                    command: self.command.clone(),
                    keyid: self.public.keyid(),
                });
            }
        };
        Ok(signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_refuse_overwrite_and_open_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("keys/release");
        let key = PrivateKey::generate().unwrap();
        let (private, public) = key.save(&prefix).unwrap();
        assert_eq!(
            fs::metadata(&private).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(PrivateKey::load(&private).unwrap().public(), key.public());
        assert_eq!(PublicKey::load(&public).unwrap(), key.public());
        assert!(matches!(key.save(&prefix), Err(KeyError::Exists { .. })));
        fs::set_permissions(&private, fs::Permissions::from_mode(0o644)).unwrap();
        let error = PrivateKey::load(&private).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("can be read by others (mode 644)"),
            "{error}"
        );
    }

    #[test]
    fn private_material_is_not_in_debug_output() {
        let key = PrivateKey::from_seed([7; 32]);
        let debug = format!("{key:?}");
        assert!(!debug.contains(&hex::encode([7_u8; 32])), "{debug}");
    }

    #[test]
    fn keyid_is_the_hash_of_the_canonical_key() {
        let key = PrivateKey::from_seed([1; 32]).public();
        let tuf = key.to_tuf();
        let canonical = String::from_utf8(to_canonical(&tuf)).unwrap();
        assert_eq!(
            canonical,
            format!(
                "{{\"keytype\":\"ed25519\",\"keyval\":{{\"public\":\"{}\"}},\"scheme\":\"ed25519\"}}",
                tuf.keyval.public
            )
        );
        assert_eq!(key.keyid().len(), 64);
    }

    #[test]
    fn command_signer_output_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::from_seed([3; 32]);
        let (private, _) = key.save(&dir.path().join("k")).unwrap();
        // A "KMS" that signs with the key file through a tiny helper: here, the bytes are
        // signed in-process first and the command just prints the result.
        let signature = hex::encode(Signer::sign(&key, b"payload").unwrap());
        let good = CommandSigner {
            command: format!("cat >/dev/null; echo {signature}"),
            public: key.public(),
        };
        assert!(
            key.public()
                .verify(b"payload", &good.sign(b"payload").unwrap())
        );
        let failing = CommandSigner {
            command: "echo denied >&2; exit 3".into(),
            public: key.public(),
        };
        assert!(
            failing
                .sign(b"x")
                .unwrap_err()
                .to_string()
                .contains("denied")
        );
        let garbage = CommandSigner {
            command: "echo nope".into(),
            public: key.public(),
        };
        assert!(matches!(
            garbage.sign(b"x"),
            Err(SignError::BadSignature { .. })
        ));
        let _ = private;
    }
}
