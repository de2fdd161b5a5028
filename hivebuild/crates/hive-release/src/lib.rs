//! A release folder, as `hivebuild image -o DIR` writes it:
//!
//! ```text
//! DIR/<hive>-<target>.img             the disk image (sparse)
//! DIR/<hive>-<target>.manifest.json   every partition and file, with hashes and origins
//! DIR/<hive>-<target>.sbom.json       CycloneDX: components, sources, crates
//! DIR/<hive>-<target>.skill-NAME.elf  each skill's own image (single-skill update bundles)
//! DIR/targets.json                    TUF targets metadata over all of them, signed
//! DIR/N.root.json                     newer trust roots, when the keys were rotated
//! ```
//!
//! [`ReleaseDir`] is the one place these names are made (and a skill's file name parsed
//! back); [`Release::open`] reads a folder back, with its image file list's format checked.
//!
//! The image's entry in `targets.json` carries hivebuild's fields under `custom`: `hive`,
//! `version`, `target`, `hardware-id`, `trust-root` (the project-relative path of the root
//! devices trust), `development` (signed with a development key), and `files` (the manifest's
//! per-file table). Verifying a folder checks the signatures against a trusted root (distinct
//! keys, threshold), the expiry, every artefact's length and sha256, and then reads the image
//! back and checks every file against the manifest.

mod dir;
mod sbom;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hive_image::FileList;
use hive_sign::{Envelope, Root, Signer, TargetFile, Targets};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

pub use dir::{Release, ReleaseDir};
pub use sbom::{Component, sbom};

pub const TARGETS_FILE: &str = "targets.json";

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("failed to access `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("`{}` is not valid: {message}", path.display())]
    Malformed { path: PathBuf, message: String },
    #[error(transparent)]
    Sign(#[from] hive_sign::SignError),
    #[error(transparent)]
    Verify(#[from] hive_sign::VerifyError),
    #[error(transparent)]
    Image(#[from] hive_image::ImageError),
    #[error("artefact `{name}` does not match the signed metadata: {problem}")]
    Artefact { name: String, problem: String },
    #[error("the image does not match its manifest:{}", bullets(.0))]
    Differences(Vec<String>),
}

fn bullets(lines: &[String]) -> String {
    lines.iter().fold(String::new(), |mut out, line| {
        let _ = write!(out, "\n  - {line}");
        out
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReleaseError + '_ {
    move |error| ReleaseError::Io {
        path: path.to_owned(),
        error,
    }
}

/// What the release's image entry says about itself, besides its hashes.
#[derive(Clone, Debug)]
pub struct ReleaseInfo {
    pub trust_root: Option<String>,
    pub development: bool,
    pub expires: String,
}

fn file_entry(path: &Path, custom: Option<serde_json::Value>) -> Result<TargetFile, ReleaseError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let digest = Sha256::digest(&bytes);
    Ok(TargetFile {
        length: bytes.len() as u64,
        hashes: [("sha256".to_owned(), hex(&digest))].into(),
        custom,
    })
}

use hive_sign::hex;

/// Write `targets.json` over the image, its manifest and SBOM in `dir`, and the images of
/// the `skills` (for single-skill update bundles), signed by `signers`.
pub fn write_targets(
    dir: &ReleaseDir,
    manifest: &FileList,
    info: &ReleaseInfo,
    skills: &[String],
    signers: &[&dyn Signer],
) -> Result<PathBuf, ReleaseError> {
    let files: Vec<serde_json::Value> = manifest
        .partitions
        .iter()
        .flat_map(|p| p.files.iter().map(move |f| json!({"partition": p.name, "path": f.path, "length": f.size, "sha256": f.sha256})))
        .collect();
    let custom = json!({
        "hive": manifest.hive.name,
        "version": manifest.hive.version,
        "target": manifest.target,
        "hardware-id": manifest.hardware_id,
        "trust-root": info.trust_root,
        "development": info.development,
        "files": files,
    });
    let mut targets = Targets {
        kind: "targets".into(),
        spec_version: hive_sign::metadata::SPEC_VERSION.into(),
        version: 1,
        expires: info.expires.clone(),
        targets: std::collections::BTreeMap::default(),
    };
    targets
        .targets
        .insert(dir.image_name(), file_entry(&dir.image(), Some(custom))?);
    let skill_files = skills.iter().map(|name| dir.skill_name(name));
    for artefact in [dir.file_list_name(), dir.sbom_name()]
        .into_iter()
        .chain(skill_files)
    {
        let entry = file_entry(&dir.path().join(&artefact), None)?;
        targets.targets.insert(artefact, entry);
    }
    let envelope = Envelope::new_signed(&targets, signers)?;
    let path = dir.targets();
    std::fs::write(&path, envelope.to_json()).map_err(io(&path))?;
    Ok(path)
}

/// Add signatures to a folder's `targets.json`.
pub fn add_signatures(dir: &Path, signers: &[&dyn Signer]) -> Result<usize, ReleaseError> {
    let path = dir.join(TARGETS_FILE);
    let mut envelope = read_envelope(&path)?;
    envelope.sign(signers)?;
    std::fs::write(&path, envelope.to_json()).map_err(io(&path))?;
    Ok(envelope.signatures.len())
}

fn read_envelope(path: &Path) -> Result<Envelope, ReleaseError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Envelope::parse(&bytes).map_err(|e| ReleaseError::Malformed {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The image entry's `custom` fields of a release folder, read without verifying (to find
/// which root to verify it with).
pub fn peek(dir: &Path) -> Result<ReleaseInfo, ReleaseError> {
    let path = dir.join(TARGETS_FILE);
    let envelope = read_envelope(&path)?;
    let targets: Targets = envelope.signed_as("targets")?;
    let custom = targets
        .targets
        .iter()
        .find(|(name, _)| {
            Path::new(name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("img"))
        })
        .and_then(|(_, t)| t.custom.clone())
        .ok_or_else(|| ReleaseError::Malformed {
            path: path.clone(),
            message: "no image among the targets".into(),
        })?;
    Ok(ReleaseInfo {
        trust_root: custom
            .get("trust-root")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        development: custom
            .get("development")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        expires: targets.expires,
    })
}

/// The targets metadata of a release folder, read without verifying it.
pub fn peek_targets(dir: &Path) -> Result<Targets, ReleaseError> {
    Ok(read_envelope(&dir.join(TARGETS_FILE))?.signed_as("targets")?)
}

/// What verifying a release folder found.
#[derive(Debug)]
pub struct Verified {
    pub signatures: usize,
    pub threshold: u32,
    pub expires: String,
    pub artefacts: Vec<String>,
    pub files: usize,
}

/// Check a release folder against a trusted root: first walk the newer roots the folder
/// carries (`2.root.json`, `3.root.json`, ...; each signed by the threshold of the one before
/// and of itself), then the signatures and threshold of the `targets` role, expiry, every
/// artefact's length and sha256, and every file of the image.
pub fn verify(dir: &Path, root: &Envelope, now: OffsetDateTime) -> Result<Verified, ReleaseError> {
    let mut root = Root::self_signed(root)?;
    loop {
        let next = dir::root_file(dir, root.version + 1);
        if !next.is_file() {
            break;
        }
        root = root.update(&read_envelope(&next)?)?;
    }
    hive_sign::check_expiry("root", &root.expires, now)?;
    let envelope = read_envelope(&dir.join(TARGETS_FILE))?;
    envelope.verify_role(&root, "targets")?;
    let targets: Targets = envelope.signed_as("targets")?;
    hive_sign::check_expiry("targets", &targets.expires, now)?;
    let mut manifest = None;
    for (name, expected) in &targets.targets {
        if name.contains('/') || name.starts_with('.') {
            return Err(ReleaseError::Artefact {
                name: name.clone(),
                problem: "not a plain file name".into(),
            });
        }
        let actual = file_entry(&dir.join(name), None)?;
        if actual.length != expected.length {
            return Err(ReleaseError::Artefact {
                name: name.clone(),
                problem: format!("{} bytes, signed as {}", actual.length, expected.length),
            });
        }
        if actual.hashes.get("sha256") != expected.hashes.get("sha256") {
            return Err(ReleaseError::Artefact {
                name: name.clone(),
                problem: "its sha256 differs from the signed one".into(),
            });
        }
        if name.ends_with(".manifest.json") {
            let path = dir.join(name);
            let text = std::fs::read(&path).map_err(io(&path))?;
            manifest = Some(
                FileList::from_json(&text)
                    .map_err(|message| ReleaseError::Malformed { path, message })?,
            );
        }
    }
    let manifest = manifest.ok_or_else(|| ReleaseError::Malformed {
        path: dir.join(TARGETS_FILE),
        message: "no image file list among the targets".into(),
    })?;
    let image = dir.join(&manifest.image.file);
    if !targets.targets.contains_key(&manifest.image.file) {
        return Err(ReleaseError::Artefact {
            name: manifest.image.file.clone(),
            problem: "the image is not among the signed targets".into(),
        });
    }
    let differences = hive_image::verify(&image, &manifest)?;
    if !differences.is_empty() {
        return Err(ReleaseError::Differences(differences));
    }
    let threshold = root.roles.get("targets").map_or(0, |r| r.threshold);
    Ok(Verified {
        signatures: envelope.signatures.len(),
        threshold,
        expires: targets.expires,
        artefacts: targets.targets.keys().cloned().collect(),
        files: manifest.partitions.iter().map(|p| p.files.len()).sum(),
    })
}
