//! `hivebuild skill add NAME (--template T | --path DIR) [--caps ...] [--memory SIZE]` and
//! `hivebuild skill remove NAME`: edit the manifest in place (`hive_manifest::edit`), validate
//! the result as `check` does, and write it only if it passes (atomically: never half).

use std::path::{Path, PathBuf};

use hive_manifest::ManifestError;
use hive_manifest::edit::{Edited, NewSkill};
use serde_json::json;

use hive_ops::{Error, Shown};

use crate::cli::{SkillAddArgs, SkillCommand};
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: SkillCommand) -> Result<(), Error> {
    match command {
        SkillCommand::Add(args) => add(settings, args),
        SkillCommand::Remove { name, manifest } => {
            let text = read(&manifest)?;
            let edited = hive_manifest::edit::remove_skill(&text, &name)?;
            write_checked(
                settings,
                &manifest,
                &edited,
                &format!("removed skill `{name}`"),
            )
        }
    }
}

fn add(settings: &Settings, args: SkillAddArgs) -> Result<(), Error> {
    let text = read(&args.manifest)?;
    let skill = NewSkill {
        name: args.name.clone(),
        template: args.template,
        path: args.path,
        memory: args.memory,
        caps: args.caps,
    };
    let edited = hive_manifest::edit::add_skill(&text, &skill)?;
    write_checked(
        settings,
        &args.manifest,
        &edited,
        &format!("added skill `{}`", args.name),
    )
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| {
        Error::Manifest(ManifestError::Read {
            path: path.to_owned(),
            source,
        })
    })
}

/// Validate the edited text as the manifest it would become; write it only if it passes.
fn write_checked(
    settings: &Settings,
    path: &Path,
    edited: &Edited,
    done: &str,
) -> Result<(), Error> {
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
    let text = format!("{done} in `{}`{also}\n", path.display());
    let json = json!({"manifest": path, "done": done, "also": edited.also});
    show(settings, &Shown { text, json })
}
