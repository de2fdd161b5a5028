//! `hivebuild check MANIFEST`: validate a manifest and every target file it names.

use serde_json::json;

use crate::cli::ManifestArgs;
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ManifestArgs) -> Result<(), CliError> {
    let manifest = super::load_checked(&args.manifest)?;
    let skills: Vec<&String> = manifest.skills.keys().collect();
    let text = format!(
        "ok: hive `{}` {}: {}\n",
        manifest.hive.name,
        manifest.hive.version,
        super::contents(&manifest),
    );
    let document = json!({
        "ok": true,
        "hive": manifest.hive.name,
        "version": manifest.hive.version.to_string(),
        "targets": manifest.hive.targets,
        "skills": skills,
    });
    print_result(settings, &text, &document);
    Ok(())
}
