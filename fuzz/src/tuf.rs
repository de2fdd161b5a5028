//! The TUF client workflow (`hive_update::repo::refresh`): the root walk from the fixed trust
//! root, then timestamp, snapshot and targets. The input is a repository: files one after
//! another, each after a line `--- PATH` (the seeds are repositories `publish` wrote).
//!
//! Every file that parses as an envelope parses again, the same, from its own printing. A
//! refresh that succeeds ends on a root that verifies against itself and is the repository's
//! newest, and its bundles are what that root's targets role signed at the version the
//! timestamp and snapshot lead to.

use std::collections::BTreeMap;

use hive_sign::{Envelope, Root};
use hive_update::UpdateError;
use hive_update::repo::{Fetch, Seen};

use crate::fixture;

/// The line before each file.
pub const SEPARATOR: &[u8] = b"--- ";

/// A repository held in memory: path → bytes.
pub struct Files(pub BTreeMap<String, Vec<u8>>);

impl Files {
    /// The files of an input: `--- PATH\n` then the bytes, up to the next such line.
    pub fn parse(data: &[u8]) -> Self {
        let mut files = BTreeMap::new();
        let mut rest = data;
        while let Some(after) = rest.strip_prefix(SEPARATOR) {
            let line_end = after
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(after.len());
            let path = String::from_utf8_lossy(&after[..line_end]).into_owned();
            let body = after.get(line_end + 1..).unwrap_or_default();
            let end = find(body, b"\n--- ").map_or(body.len(), |at| at + 1);
            files.insert(path, body[..end].to_vec());
            rest = &body[end..];
        }
        Self(files)
    }

    /// The input these files are (the inverse of [`Files::parse`]).
    pub fn print(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, bytes) in &self.0 {
            out.extend_from_slice(SEPARATOR);
            out.extend_from_slice(path.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(bytes);
            if !bytes.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
        out
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Fetch for Files {
    fn fetch(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, UpdateError> {
        match self.0.get(path) {
            Some(bytes) if bytes.len() as u64 > limit => Err(UpdateError::Repository(format!(
                "`{path}` is over {limit} bytes"
            ))),
            found => Ok(found.cloned()),
        }
    }
}

pub fn check(data: &[u8]) -> bool {
    let files = Files::parse(data);
    for (path, bytes) in &files.0 {
        if let Ok(envelope) = Envelope::parse(bytes) {
            let again = Envelope::parse(envelope.to_json().as_bytes())
                .unwrap_or_else(|e| panic!("`{path}` parsed, but not once printed: {e}"));
            assert_eq!(envelope, again, "`{path}` printed and parsed again");
            assert_eq!(envelope.signed_bytes(), again.signed_bytes());
        }
    }
    let Ok(refreshed) = hive_update::repo::refresh(
        &files,
        fixture::trusted_root(),
        &Seen::default(),
        fixture::now(),
    ) else {
        return false;
    };
    let root = Root::self_signed(&refreshed.root).expect("the root a refresh ends on verifies");
    assert!(
        !files
            .0
            .contains_key(&format!("metadata/{}.root.json", root.version + 1)),
        "the walk stopped before the newest root"
    );
    let envelope = |path: String| {
        let bytes = files
            .0
            .get(&path)
            .unwrap_or_else(|| panic!("refreshed without `{path}`"));
        Envelope::parse(bytes)
            .unwrap_or_else(|e| panic!("refreshed from an unreadable `{path}`: {e}"))
    };
    envelope("metadata/timestamp.json".to_owned())
        .verify_role(&root, "timestamp")
        .expect("the timestamp verifies against the final root");
    let targets = envelope(format!("metadata/{}.targets.json", refreshed.seen.targets));
    targets
        .verify_role(&root, "targets")
        .expect("the targets verify against the final root");
    let signed: hive_sign::Targets = targets.signed_as("targets").expect("targets read");
    assert_eq!(signed.version, refreshed.seen.targets);
    assert_eq!(
        signed.targets, refreshed.targets.targets,
        "the bundles are the signed ones"
    );
    true
}
