//! `skill add|remove`: edit the manifest in place (`hive_manifest::edit`, comments and layout
//! kept), validate the result as `check` does, and write it only if it passes (atomically:
//! never half).

use std::path::{Path, PathBuf};

use hive_manifest::ManifestError;
use hive_manifest::edit::{Edited, NewSkill};
use serde_json::json;

use crate::{Error, Result, Shown};

/// Add `[skills.NAME]` (and the other side of each of its channels).
pub fn add(manifest: &Path, skill: &NewSkill) -> Result<Shown> {
    let edited = hive_manifest::edit::add_skill(&read(manifest)?, skill)?;
    write_checked(manifest, &edited, &format!("added skill `{}`", skill.name))
}

/// Remove `[skills.NAME]` and `channel:NAME` from every other component.
pub fn remove(manifest: &Path, name: &str) -> Result<Shown> {
    let edited = hive_manifest::edit::remove_skill(&read(manifest)?, name)?;
    write_checked(manifest, &edited, &format!("removed skill `{name}`"))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| {
        Error::Manifest(ManifestError::Read {
            path: path.to_owned(),
            source,
        })
    })
}

/// Validate the edited text as the manifest it would become; write it only if it passes.
fn write_checked(path: &Path, edited: &Edited, done: &str) -> Result<Shown> {
    let layers = hive_manifest::Layers::with_stock(hive_manifest::find_root(path)?)
        .map_err(ManifestError::from)?;
    if let Err(error) = hive_manifest::parse_manifest(path, &edited.text, &layers) {
        return Err(Error::Manifest(match error {
            // The diagnostics point into the text the edit would have written.
            ManifestError::Invalid(mut diagnostics) => {
                diagnostics.path = PathBuf::from(format!(
                    "{} (after the edit, which was not written)",
                    path.display()
                ));
                ManifestError::Invalid(diagnostics)
            }
            other => other,
        }));
    }
    hive_store::write_atomic(path, edited.text.as_bytes())?;
    let also = if edited.also.is_empty() {
        String::new()
    } else {
        format!("; {}", edited.also.join(", "))
    };
    Ok(Shown {
        text: format!("{done} in `{}`{also}\n", path.display()),
        json: json!({"manifest": path, "done": done, "also": edited.also}),
    })
}
