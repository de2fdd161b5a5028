//! Export streams (`nix-store --export` / `--import`): how files enter a store with their
//! references kept, which `nix-store --add` cannot do. hivebuild exports `.drv` files only:
//! each is one regular file.
//!
//! ```text
//! stream := (1 path)* 0
//! path   := NAR  0x4558494e  store-path  references  deriver  0
//! ```
//! Numbers are 64-bit little-endian; a string is its length then its bytes, padded with zeros
//! to a multiple of 8; a list is its length then its strings.

/// A file to export: its store path, contents and the store paths it refers to.
#[derive(Clone, Debug)]
pub struct ExportedPath<'a> {
    pub path: &'a str,
    pub contents: &'a [u8],
    pub references: Vec<&'a str>,
}

const EXPORT_MAGIC: u64 = 0x4558_494e;

/// The stream importing `paths` in this order (a path's references must come before it or
/// be in the store already).
pub fn export_stream(paths: &[ExportedPath<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for path in paths {
        number(&mut out, 1);
        file_nar(&mut out, path.contents);
        number(&mut out, EXPORT_MAGIC);
        string(&mut out, path.path.as_bytes());
        let mut references = path.references.clone();
        references.sort_unstable();
        references.dedup();
        number(&mut out, references.len() as u64);
        for reference in references {
            string(&mut out, reference.as_bytes());
        }
        string(&mut out, b""); // no deriver
        number(&mut out, 0); // no (legacy) signature
    }
    number(&mut out, 0);
    out
}

/// The NAR of one regular, non-executable file.
fn file_nar(out: &mut Vec<u8>, contents: &[u8]) {
    for token in [
        &b"nix-archive-1"[..],
        b"(",
        b"type",
        b"regular",
        b"contents",
    ] {
        string(out, token);
    }
    string(out, contents);
    string(out, b")");
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    number(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out.resize(out.len().next_multiple_of(8), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_of_one_file_has_the_documented_layout() {
        let stream = export_stream(&[ExportedPath {
            path: "/nix/store/x-a.drv",
            contents: b"abc",
            references: vec!["/nix/store/z", "/nix/store/y"],
        }]);
        let word = |i: usize| u64::from_le_bytes(stream[i * 8..i * 8 + 8].try_into().unwrap());
        assert_eq!(word(0), 1);
        assert_eq!(word(1), 13);
        assert_eq!(&stream[16..29], b"nix-archive-1");
        assert_eq!(stream.len() % 8, 0);
        assert_eq!(
            u64::from_le_bytes(stream[stream.len() - 8..].try_into().unwrap()),
            0
        );
        // References are sorted: y before z.
        let text = String::from_utf8_lossy(&stream);
        assert!(text.find("/nix/store/y").unwrap() < text.find("/nix/store/z").unwrap());
        assert!(text.contains("abc"));
    }
}
