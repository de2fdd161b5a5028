//! `hivebuild new DIR [--name NAME]`: write the starter hive (`hive_stock::starter`) and
//! check it as `check` would, so that what `new` makes always builds.

use std::path::Path;

use serde_json::json;

use hive_ops::{Error, Shown};

use crate::cli::NewArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &NewArgs) -> Result<(), Error> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(&args.dir)?,
    };
    if !hive_manifest::is_identifier(&name) {
        return Err(Error::usage(format!(
            "`{name}` is not a usable hive name: lowercase letters, digits, `-` and `_`, \
             starting with a letter (pass `--name NAME`)"
        )));
    }
    let written = hive_stock::starter::write(&args.dir, &name)?;
    let manifest = hive_ops::project::load_checked(&args.dir.join("hive.toml"))?;
    let dir = args.dir.display();
    let text = format!(
        "created hive `{name}` in `{dir}`: {}\n\
         \n\
         next:\n  \
           cd {dir}\n  \
           hivebuild check hive.toml\n  \
           hivebuild build hive.toml --target x86_64\n  \
           hivebuild test smoke hive.toml --target x86_64\n",
        hive_ops::project::contents(&manifest),
    );
    let json = json!({
            "hive": name,
            "dir": args.dir,
            "files": written,
            "targets": manifest.hive.targets,
            "stock": manifest.layers.stock,
    });
    show(settings, &Shown { text, json })
}

/// The folder's name, lowercased, with anything but letters, digits, `-` and `_` made `-`.
fn default_name(dir: &Path) -> Result<String, Error> {
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
