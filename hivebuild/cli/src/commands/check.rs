//! `hivebuild check MANIFEST`: validate a manifest and every target file it names.

use hive_ops::{Error, Shown};
use serde_json::json;

use crate::cli::ManifestArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ManifestArgs) -> Result<(), Error> {
    let manifest = hive_ops::project::load_checked(&args.manifest)?;
    let hive = &manifest.hive;
    let text = format!(
        "ok: hive `{}` {}: {}\n",
        hive.name,
        hive.version,
        hive_ops::project::contents(&manifest),
    );
    let json = json!({
        "ok": true,
        "hive": hive.name,
        "version": hive.version.to_string(),
        "targets": hive.targets,
        "skills": manifest.skills.keys().collect::<Vec<_>>(),
    });
    show(settings, &Shown { text, json })
}
