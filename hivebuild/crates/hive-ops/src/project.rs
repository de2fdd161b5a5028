//! A hive project read from disk: the manifest, and the target an operation works on,
//! resolved in one place ([`target`]) so that every command says the same about a bad one.

use std::path::Path;

use hive_manifest::{Manifest, SystemKind, Target};

use serde_json::json;

use crate::{Error, Result, Shown};

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

/// `new`: write the starter hive (`hive_stock::starter`) in `dir` and check it as `check`
/// would, so that what `new` makes always builds.
pub fn new(dir: &Path, name: Option<&str>) -> Result<Shown> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => default_name(dir)?,
    };
    if !hive_manifest::is_identifier(&name) {
        return Err(Error::usage(format!(
            "`{name}` is not a usable hive name: lowercase letters, digits, `-` and `_`, \
             starting with a letter (pass `--name NAME`)"
        )));
    }
    let written = hive_stock::starter::write(dir, &name)?;
    let manifest = load_checked(&dir.join("hive.toml"))?;
    let shown = dir.display();
    let text = format!(
        "created hive `{name}` in `{shown}`: {}\n\
         \n\
         next:\n  \
           cd {shown}\n  \
           hivebuild check hive.toml\n  \
           hivebuild build hive.toml --target x86_64\n  \
           hivebuild test smoke hive.toml --target x86_64\n",
        contents(&manifest),
    );
    let json = json!({
            "hive": name,
            "dir": dir,
            "files": written,
            "targets": manifest.hive.targets,
            "stock": manifest.layers.stock,
    });
    Ok(Shown { text, json })
}

/// The folder's name, lowercased, with anything but letters, digits, `-` and `_` made `-`.
fn default_name(dir: &Path) -> Result<String> {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let base = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = base
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_') => c,
            _ => '-',
        })
        .collect();
    if hive_manifest::is_identifier(&name) {
        Ok(name)
    } else {
        Err(Error::usage(format!(
            "the folder name `{base}` does not make a hive name: pass `--name NAME` \
             (lowercase letters, digits, `-` and `_`, starting with a letter)"
        )))
    }
}
