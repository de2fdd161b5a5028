//! NAR hashes: the sha256 of a tree's Nix `ARchive` serialisation, the hash Nix records for
//! every store path. Same tree, same hash, whichever tool (hivebuild or `nix-store --dump`)
//! serialises it.

use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// `sha256:<nix base32>` and the NAR's length in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NarHash {
    pub hash: String,
    pub size: u64,
}

struct Counting {
    hasher: Sha256,
    size: u64,
}

impl Write for Counting {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn nar_hash(path: &Path) -> io::Result<NarHash> {
    let mut encoder = nix_nar::Encoder::builder(path)
        .internal_buffer_size(64 * 1024)
        .build()
        .map_err(io::Error::other)?;
    let mut sink = Counting {
        hasher: Sha256::new(),
        size: 0,
    };
    io::copy(&mut encoder, &mut sink)?;
    let digest: [u8; 32] = sink.hasher.finalize().into();
    Ok(NarHash {
        hash: format!("sha256:{}", nix_base32::to_nix_base32(&digest)),
        size: sink.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_nar_of_a_single_file() {
        // The NAR of a regular file is fixed by the format: this value was computed from the
        // format by hand (Python, sha256, Nix base32), independently of nix-nar.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "hello").unwrap();
        let nar = nar_hash(&file).unwrap();
        // nix-archive-1 ( type regular contents <5 bytes, padded> ): 8+16 + 8+8 + 8+8 + 8+8 + 8+8 + 8+8 + 8 = 120
        assert_eq!(nar.size, 120);
        assert_eq!(
            nar.hash,
            "sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa"
        );
    }
}
