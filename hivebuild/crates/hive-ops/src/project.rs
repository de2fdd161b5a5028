//! A hive project read from disk: the manifest, and the target an operation works on,
//! resolved in one place ([`target`]) so that every command says the same about a bad one.

use std::path::Path;

use hive_manifest::{Manifest, SystemKind, Target};

use crate::{Error, Result};

/// The manifest and every target file it names, validated (what `check` checks).
pub fn load_checked(manifest: &Path) -> Result<Manifest> {
    let manifest = hive_manifest::load_manifest(manifest)?;
    for target in &manifest.hive.targets {
        hive_manifest::load_target(&manifest, target)?;
    }
    Ok(manifest)
}

/// The manifest, and the target to work on: the one named, or the hive's only one.
pub fn load(manifest: &Path, target: Option<&str>) -> Result<(Manifest, Target)> {
    let manifest = hive_manifest::load_manifest(manifest)?;
    let target = self::target(&manifest, target)?;
    Ok((manifest, target))
}

/// The target named (it must be one of the hive's), or the hive's only one.
pub fn target(manifest: &Manifest, name: Option<&str>) -> Result<Target> {
    let name = match (name, manifest.hive.targets.as_slice()) {
        (Some(name), _) => name,
        (None, [only]) => only,
        (None, targets) => {
            return Err(Error::usage(format!(
                "`{}` has several targets: pick one with `--target` (`{}`)",
                manifest.hive.name,
                targets.join("`, `")
            )));
        }
    };
    Ok(hive_manifest::load_target(manifest, name)?)
}

/// What a hive is made of, for a one-line summary: "the Brain and 2 skills (net, pdf),
/// targets `a`, `b`".
pub fn contents(manifest: &Manifest) -> String {
    let skills: Vec<&str> = manifest.skills.keys().map(String::as_str).collect();
    format!(
        "the Brain and {} skill{} ({}), targets `{}`",
        skills.len(),
        if skills.len() == 1 { "" } else { "s" },
        skills.join(", "),
        manifest.hive.targets.join("`, `"),
    )
}

/// The Microkit board of the target named, or of the hive's first seL4 target.
pub fn microkit_board(manifest: &Manifest, name: Option<&str>) -> Result<hive_sel4::Board> {
    let targets = match name {
        Some(_) => vec![target(manifest, name)?],
        None => manifest
            .hive
            .targets
            .iter()
            .map(|t| hive_manifest::load_target(manifest, t))
            .collect::<Result<_, _>>()?,
    };
    let target = targets
        .into_iter()
        .find(|t| t.system == SystemKind::Microkit)
        .ok_or_else(|| Error::NoMicrokitTarget {
            hive: manifest.hive.name.clone(),
            named: name.map(str::to_owned),
        })?;
    hive_sel4::load_board(&hive_sel4::boards_file(&manifest.layers), &target.board)
        .map_err(|error| Error::Board(error.to_string()))
}

/// The project the current folder is in (`hive_manifest::project_root_above`).
pub fn current() -> Option<std::path::PathBuf> {
    hive_manifest::project_root_above(&std::env::current_dir().ok()?)
}
