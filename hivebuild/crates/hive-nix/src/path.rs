//! Store paths: `/nix/store/<nix32 of 20 bytes>-<name>`, from a type, a sha256 and a name.

use sha2::{Digest as _, Sha256};

/// The store folder every path is computed for (a chroot store keeps this logical path).
pub const STORE_DIR: &str = "/nix/store";

/// Nix's `makeStorePath`: the sha256 of `<type>:sha256:<hex>:<store>:<name>`, folded to 20
/// bytes, in Nix base32.
pub fn make_store_path(kind: &str, hash: &[u8; 32], name: &str) -> String {
    let fingerprint = format!("{kind}:sha256:{}:{STORE_DIR}:{name}", hex(hash));
    let digest: [u8; 32] = Sha256::digest(fingerprint.as_bytes()).into();
    let mut folded = [0u8; 20];
    for (i, byte) in digest.iter().enumerate() {
        folded[i % 20] ^= byte;
    }
    format!("{STORE_DIR}/{}-{name}", nix_base32::to_nix_base32(&folded))
}

/// The path of a tree added with `nix-store --add-fixed --recursive sha256`, which is also
/// the output of a fixed-output derivation with `outputHashMode = "recursive"` and that
/// sha256 as its NAR hash (`makeFixedOutputPath`'s "source" case).
pub fn fixed_source_path(nar_sha256: &[u8; 32], name: &str) -> String {
    make_store_path("source", nar_sha256, name)
}

/// The path of a text file (a `.drv`) with these references (`computeStorePathForText`).
pub fn text_path<'a>(
    name: &str,
    contents: &[u8],
    references: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut references: Vec<&str> = references.into_iter().collect();
    references.sort_unstable();
    references.dedup();
    let mut kind = "text".to_owned();
    for reference in references {
        kind.push(':');
        kind.push_str(reference);
    }
    make_store_path(&kind, &Sha256::digest(contents).into(), name)
}

/// A store path's name: 1 to 211 characters of `A-Za-z0-9+-._?=`, not starting with a dot.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 211
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._?=".contains(&b))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_nix_rules() {
        assert!(is_valid_name("skill-net"));
        assert!(is_valid_name("a.drv"));
        assert!(!is_valid_name(".hidden"));
        assert!(!is_valid_name("with space"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"x".repeat(212)));
    }

    #[test]
    fn text_paths_ignore_the_order_of_references() {
        let a = text_path("x.drv", b"Derive()", ["/nix/store/b", "/nix/store/a"]);
        let b = text_path("x.drv", b"Derive()", ["/nix/store/a", "/nix/store/b"]);
        assert_eq!(a, b);
        assert_ne!(a, text_path("x.drv", b"Derive()", ["/nix/store/a"]));
        assert!(a.starts_with("/nix/store/") && a.ends_with("-x.drv"));
        assert_eq!(a.len(), "/nix/store/".len() + 32 + "-x.drv".len());
    }
}
