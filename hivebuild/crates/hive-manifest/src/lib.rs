//! Hive manifests and target files.
//!
//! Two layers, as in Hubris' build config: [`raw`] is the serde view of the TOML (unknown keys
//! rejected), [`model`] the validated view the rest of hivebuild uses. Every problem becomes a
//! [`Diagnostic`] pointing at the key or value in the file, and all of a file's problems are
//! reported together. The reference for users is `docs/manifest.md`.

pub mod caps;
pub mod diagnostic;
pub mod edit;
pub mod guest;
pub mod image;
mod layers;
pub mod model;
pub mod qemu;
mod raw;
pub mod target;
pub mod units;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use caps::Capability;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use layers::{Found, Layers};
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
    #[error("`{}` is {size} bytes; a manifest or target file is at most {MAX_FILE_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error(transparent)]
    Stock(#[from] hive_stock::StockError),
    #[error("`{}` has {} error{}", .0.path.display(), .0.list.len(), if .0.list.len() == 1 { "" } else { "s" })]
    Invalid(Box<Diagnostics>),
    #[error("unknown target `{name}`; this project can use `{}`", known.join("`, `"))]
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

/// The largest manifest or target file read (4 MiB; the demo's manifest is 6 KiB): a larger
/// one is refused before it is read, so that a stranger's file cannot take unbounded memory.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Read a manifest or target file of at most [`MAX_FILE_BYTES`].
fn read_bounded(path: &Path) -> Result<String, ManifestError> {
    use std::io::Read as _;
    let read_error = |source| ManifestError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ManifestError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    // Read one byte more than allowed: a file that grew meanwhile (or a pipe) is caught too.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ManifestError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
        });
    }
    String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })
}

/// Read and validate a manifest file. The project root is found by [`find_root`]; targets,
/// templates and platform sources the project does not have come from hivebuild's stock.
pub fn load_manifest(path: &Path) -> Result<Manifest, ManifestError> {
    let text = read_bounded(path)?;
    let layers = Layers::with_stock(find_root(path)?)?;
    parse_manifest(path, &text, &layers)
}

/// Validate manifest text as if it were the file `path` with the given layers.
pub fn parse_manifest(path: &Path, text: &str, layers: &Layers) -> Result<Manifest, ManifestError> {
    validate::parse(path, text, layers).map_err(ManifestError::Invalid)
}

/// Read and validate the target `name` (the project's `targets/NAME.toml`, else the stock's),
/// checking that the hive builds for it.
pub fn load_target(manifest: &Manifest, name: &str) -> Result<Target, ManifestError> {
    let Some(found) = manifest.layers.target(name) else {
        return Err(ManifestError::UnknownTarget {
            name: name.to_owned(),
            known: manifest.layers.known_targets(),
        });
    };
    if !manifest.hive.targets.iter().any(|t| t == name) {
        return Err(ManifestError::TargetNotInHive {
            target: name.to_owned(),
            targets: manifest.hive.targets.clone(),
        });
    }
    let text = read_bounded(&found.path)?;
    target::parse(&found.path, &text, &found.root).map_err(ManifestError::Invalid)
}

/// Validate target-file text as if it were `path`, whose relative paths start at `root`.
pub fn parse_target(path: &Path, text: &str, root: &Path) -> Result<Target, ManifestError> {
    target::parse(path, text, root).map_err(ManifestError::Invalid)
}

/// The project root of `manifest`: the nearest folder at or above the manifest's that holds
/// a `targets/` folder or a `hive.lock`, looking no higher than the top of the git work tree
/// the manifest is in; else the manifest's own folder. (This repository keeps its manifests
/// in `manifests/` below a root with `targets/`; a project made by `hivebuild new` has its
/// `hive.toml` and `hive.lock` at the top.)
pub fn find_root(manifest: &Path) -> Result<PathBuf, ManifestError> {
    let absolute = std::path::absolute(manifest).map_err(|source| ManifestError::Read {
        path: manifest.to_owned(),
        source,
    })?;
    let folder = absolute.parent().unwrap_or(Path::new("/"));
    Ok(project_root_above(folder).unwrap_or_else(|| folder.to_owned()))
}

/// The nearest folder at or above `dir` that holds a `targets/` folder or a `hive.lock`,
/// looking no higher than the top of the git work tree `dir` is in.
pub fn project_root_above(dir: &Path) -> Option<PathBuf> {
    for dir in dir.ancestors() {
        if dir.join("targets").is_dir() || dir.join("hive.lock").is_file() {
            return Some(dir.to_owned());
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
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
