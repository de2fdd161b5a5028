//! Digests: step keys over a canonical encoding, content hashes of source folders, and the
//! Nix-style names of store entries.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// A sha256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn hex(&self) -> String {
        use fmt::Write as _;
        self.0
            .iter()
            .fold(String::with_capacity(64), |mut out, byte| {
                let _ = write!(out, "{byte:02x}");
                out
            })
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// Nix's base32 of the full digest (as in `sha256:<nix32>` NAR hashes).
    pub fn nix32(&self) -> String {
        nix_base32::to_nix_base32(&self.0)
    }

    /// `sha256:<nix32>`, the form Nix prints NAR hashes in.
    pub fn nix_sri(&self) -> String {
        format!("sha256:{}", self.nix32())
    }

    pub fn parse_nix_sri(text: &str) -> Option<Self> {
        let bytes = nix_base32::from_nix_base32(text.strip_prefix("sha256:")?)?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The digest of a value's canonical JSON: object keys sorted, no white space.
    pub fn of_canonical(value: &serde_json::Value) -> Self {
        // serde_json's map is a BTreeMap (no `preserve_order`), so keys come out sorted.
        Self::of(value.to_string().as_bytes())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a sha256 in hex")))
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.hex())
    }
}

/// `<nix32 of the key folded to 160 bits>-<name>`, the way Nix names store paths.
pub fn store_name(key: &Digest, name: &str) -> String {
    let mut folded = [0_u8; 20];
    for (i, byte) in key.0.iter().enumerate() {
        folded[i % 20] ^= byte;
    }
    format!("{}-{name}", nix_base32::to_nix_base32(&folded))
}

/// The content hash of a source folder: every file's relative path, type, executable bit
/// and bytes, in sorted order. Build output folders (`target/`) and hidden entries are
/// left out, as they are when the folder is copied into a build.
pub fn hash_tree(root: &Path) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    hasher.update(b"hivebuild-tree-v1\0");
    hash_dir(root, "", &mut hasher)?;
    Ok(Digest(hasher.finalize().into()))
}

/// Whether a source entry is copied into builds and hashed.
pub fn is_source_entry(name: &str) -> bool {
    !name.starts_with('.') && name != "target"
}

fn hash_dir(dir: &Path, prefix: &str, hasher: &mut Sha256) -> io::Result<()> {
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().into_string().map_err(|name| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("file name `{}` is not UTF-8", name.display()),
            )
        })?;
        if is_source_entry(&name) {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let relative = format!("{prefix}{name}");
        let meta = fs::symlink_metadata(&path)?;
        hasher.update(relative.as_bytes());
        if meta.is_dir() {
            hasher.update(b"\0d\0");
            hash_dir(&path, &format!("{relative}/"), hasher)?;
        } else if meta.file_type().is_symlink() {
            hasher.update(b"\0l\0");
            hasher.update(fs::read_link(&path)?.as_os_str().as_encoded_bytes());
            hasher.update(b"\0");
        } else {
            let executable = meta.permissions().mode() & 0o111 != 0;
            hasher.update(if executable { b"\0x\0" } else { b"\0f\0" });
            hasher.update(meta.len().to_le_bytes());
            let mut file = fs::File::open(&path)?;
            let mut buffer = vec![0_u8; 64 * 1024];
            loop {
                let read = file.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_nix32_round_trip() {
        let digest = Digest::of(b"hive");
        assert_eq!(Digest::from_hex(&digest.hex()), Some(digest));
        assert_eq!(Digest::parse_nix_sri(&digest.nix_sri()), Some(digest));
        assert_eq!(digest.nix32().len(), 52);
        assert_eq!(Digest::from_hex("zz"), None);
    }

    #[test]
    fn store_names_look_like_nix() {
        let name = store_name(&Digest::of(b"x"), "kernel");
        let (hash, rest) = name.split_once('-').unwrap();
        assert_eq!(hash.len(), 32);
        assert_eq!(rest, "kernel");
        assert!(
            hash.chars()
                .all(|c| "0123456789abcdfghijklmnpqrsvwxyz".contains(c))
        );
    }

    #[test]
    fn canonical_digest_ignores_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":3}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":3,"y":2},"b":1}"#).unwrap();
        assert_eq!(Digest::of_canonical(&a), Digest::of_canonical(&b));
    }

    #[test]
    fn tree_hash_sees_content_names_and_modes_but_not_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("src")).unwrap();
        fs::write(root.join("src/main.c"), "int main;").unwrap();
        let first = hash_tree(root).unwrap();
        fs::create_dir(root.join("target")).unwrap();
        fs::write(root.join("target/junk"), "x").unwrap();
        fs::write(root.join(".hidden"), "x").unwrap();
        assert_eq!(
            hash_tree(root).unwrap(),
            first,
            "target/ and dot files are not sources"
        );
        fs::write(root.join("src/main.c"), "int main ;").unwrap();
        let second = hash_tree(root).unwrap();
        assert_ne!(second, first);
        fs::set_permissions(root.join("src/main.c"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(hash_tree(root).unwrap(), second);
    }
}
