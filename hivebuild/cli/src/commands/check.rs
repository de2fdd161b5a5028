//! `hivebuild check MANIFEST`: validate a manifest and every target file it names.

use serde_json::json;

use crate::cli::ManifestArgs;
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ManifestArgs) -> Result<(), CliError> {
    let manifest = hive_manifest::load_manifest(&args.manifest)?;
    for target in &manifest.hive.targets {
        hive_manifest::load_target(&manifest, target)?;
    }
    let skills: Vec<&String> = manifest.skills.keys().collect();
    let text = format!(
        "ok: hive `{}` {}: the Brain and {} skill{} ({}), targets `{}`\n",
        manifest.hive.name,
        manifest.hive.version,
        skills.len(),
        if skills.len() == 1 { "" } else { "s" },
        skills
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        manifest.hive.targets.join("`, `"),
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
