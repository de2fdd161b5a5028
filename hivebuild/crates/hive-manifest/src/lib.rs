//! Hive manifests and target files.
//!
//! Two layers, as in Hubris' build config: [`raw`] is the serde view of the TOML (unknown keys
//! rejected), [`model`] the validated view the rest of hivebuild uses. Every problem becomes a
//! [`Diagnostic`] pointing at the key or value in the file, and all of a file's problems are
//! reported together. The reference for users is `docs/manifest.md`.

pub mod caps;
pub mod diagnostic;
pub mod edit;
pub mod image;
mod manifest;
pub mod model;
pub mod qemu;
mod raw;
pub mod target;
pub mod units;

use std::fmt;
use std::path::{Path, PathBuf};

pub use caps::Capability;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::{Manifest, Skill, SkillBuild, Source};
pub use target::{SystemKind, Target};

/// Why a manifest or target file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to find the project root of `{}`: no folder above it holds a `targets/` folder", path.display())]
    NoRoot { path: PathBuf },
    #[error("`{}` has {} error{}", .0.path.display(), .0.list.len(), if .0.list.len() == 1 { "" } else { "s" })]
    Invalid(Box<Diagnostics>),
    #[error("unknown target `{name}`; this project has `{}`", known.join("`, `"))]
    UnknownTarget { name: String, known: Vec<String> },
    #[error("target `{target}` is not one of the hive's targets (`{}`)", targets.join("`, `"))]
    TargetNotInHive {
        target: String,
        targets: Vec<String>,
    },
}

/// A component of a hive that holds capabilities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Component {
    Brain,
    Skill(String),
}

impl Component {
    pub fn name(&self) -> &str {
        match self {
            Self::Brain => "brain",
            Self::Skill(name) => name,
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Brain => f.write_str("the Brain"),
            Self::Skill(name) => write!(f, "skill `{name}`"),
        }
    }
}

/// Read and validate a manifest file. The project root is the nearest folder at or above
/// the manifest's that holds `targets/`.
pub fn load_manifest(path: &Path) -> Result<Manifest, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.to_owned(),
        source,
    })?;
    let root = find_root(path)?;
    parse_manifest(path, &text, &root)
}

/// Validate manifest text as if it were the file `path` in the project at `root`.
pub fn parse_manifest(path: &Path, text: &str, root: &Path) -> Result<Manifest, ManifestError> {
    manifest::parse(path, text, root).map_err(ManifestError::Invalid)
}

/// Read and validate `targets/NAME.toml` under `root`, checking that the hive builds for it.
pub fn load_target(root: &Path, name: &str, manifest: &Manifest) -> Result<Target, ManifestError> {
    let path = root.join("targets").join(format!("{name}.toml"));
    if name.contains(['/', '\\']) || !path.is_file() {
        return Err(ManifestError::UnknownTarget {
            name: name.to_owned(),
            known: target::known_targets(root),
        });
    }
    if !manifest.hive.targets.iter().any(|t| t == name) {
        return Err(ManifestError::TargetNotInHive {
            target: name.to_owned(),
            targets: manifest.hive.targets.clone(),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
        path: path.clone(),
        source,
    })?;
    target::parse(&path, &text, root).map_err(ManifestError::Invalid)
}

/// Validate target-file text as if it were `path` in the project at `root`.
pub fn parse_target(path: &Path, text: &str, root: &Path) -> Result<Target, ManifestError> {
    target::parse(path, text, root).map_err(ManifestError::Invalid)
}

/// The nearest folder at or above `manifest`'s that holds a `targets/` folder.
pub fn find_root(manifest: &Path) -> Result<PathBuf, ManifestError> {
    let absolute = std::path::absolute(manifest).map_err(|source| ManifestError::Read {
        path: manifest.to_owned(),
        source,
    })?;
    absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("targets").is_dir())
        .map(Path::to_owned)
        .ok_or_else(|| ManifestError::NoRoot {
            path: manifest.to_owned(),
        })
}

/// Lowercase letters, digits, `-` and `_`, starting with a letter, at most 63 characters.
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && text.len() <= 63
}

/// Parse TOML keeping spans; a syntax error becomes a diagnostic.
fn parse_document(
    text: &str,
    diagnostics: &mut Diagnostics,
) -> Option<toml_edit::Document<String>> {
    match text.parse::<toml_edit::Document<String>>() {
        Ok(document) => Some(document),
        Err(error) => {
            let message = error.message().trim_end().to_owned();
            diagnostics.push(
                Diagnostic::new(
                    format!("invalid TOML: {message}"),
                    error.span().unwrap_or(0..0),
                )
                .label("here")
                .help("fix the TOML syntax; see https://toml.io"),
            );
            None
        }
    }
}
