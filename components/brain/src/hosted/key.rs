//! The hive's own key: an ed25519 secret in the Brain's `keys` store (`hive.key`: 64 hex
//! digits, readable by its owner only, as `hivebuild key generate --out <keys>/hive` writes
//! it). The Brain signs what it sends to peers with it; no skill ever holds it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use ed25519_dalek::{Signer as _, SigningKey};

use super::MindError;
use brain::peer;

/// The key file's name in the `keys` store.
pub const FILE: &str = "hive.key";

pub struct HiveKey(SigningKey);

impl HiveKey {
    /// The key in the `keys` store `store`; `None` when it has none yet.
    pub fn load(store: &Path) -> Result<Option<Self>, MindError> {
        let path = store.join(FILE);
        let error = |why: String| MindError::Key {
            path: path.clone(),
            why,
        };
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(error(e.to_string())),
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(error(format!(
                "others may read it (mode {mode:o}): `chmod 600` it"
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| error(e.to_string()))?;
        let seed = brain::card::decode_key(text.trim())
            .ok_or_else(|| error("expected 64 hex digits".into()))?;
        Ok(Some(Self(SigningKey::from_bytes(&seed))))
    }

    pub fn public(&self) -> [u8; peer::KEY] {
        self.0.verifying_key().to_bytes()
    }

    /// A signed datagram of `opcode` (a MESSAGE, or the answer to one) carrying `body`.
    pub fn sign(&self, opcode: u8, body: &[u8]) -> Vec<u8> {
        peer::signed(opcode, &self.public(), body, |bytes| {
            self.0.sign(bytes).to_bytes()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier as _;

    #[test]
    fn the_key_signs_header_key_and_body_and_must_be_private() {
        let store = std::env::temp_dir().join(format!("brain-key-{}", std::process::id()));
        std::fs::create_dir_all(&store).unwrap();
        let path = store.join(FILE);
        assert!(HiveKey::load(&store).unwrap().is_none());
        std::fs::write(&path, format!("{}\n", "07".repeat(32))).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = HiveKey::load(&store).err().unwrap().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let key = HiveKey::load(&store).unwrap().unwrap();

        let datagram = key.sign(peer::MESSAGE, b"hello bob");
        let (header, rest) = datagram.split_at(peer::HEADER);
        let (public, rest) = rest.split_at(peer::KEY);
        let (signature, body) = rest.split_at(peer::SIGNATURE);
        assert_eq!(public, key.public());
        assert_eq!(body, b"hello bob");
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(&key.public()).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(signature).unwrap();
        let signed = [header, public, body].concat();
        assert!(verifying.verify(&signed, &signature).is_ok());

        std::fs::write(&path, "not hex\n").unwrap();
        assert!(HiveKey::load(&store).is_err());
        std::fs::remove_dir_all(store).unwrap();
    }
}
