//! `hivebuild inspect IMAGE [--manifest MANIFEST]`.

use std::fmt::Write as _;

use crate::cli::InspectArgs;
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &InspectArgs) -> Result<(), CliError> {
    let found = hive_image::inspect(&args.image)?;
    let mut text = found.to_text();
    let mut document = serde_json::to_value(&found).expect("inspections serialise");
    if let Some(path) = &args.manifest {
        let bytes = std::fs::read(path).map_err(|error| CliError::Refused {
            message: format!("failed to read `{}`: {error}", path.display()),
            hint: None,
            code: crate::exit_codes::VERIFY_FAILED,
        })?;
        let manifest: hive_image::ImageManifest =
            serde_json::from_slice(&bytes).map_err(|error| CliError::Refused {
                message: format!("`{}` is not an image manifest: {error}", path.display()),
                hint: None,
                code: crate::exit_codes::VERIFY_FAILED,
            })?;
        let differences = hive_image::verify(&args.image, &manifest)?;
        document["differences"] = serde_json::json!(differences);
        if !differences.is_empty() {
            print_result(settings, &text, &document);
            return Err(CliError::Release(hive_release::ReleaseError::Differences(
                differences,
            )));
        }
        let files: usize = manifest.partitions.iter().map(|p| p.files.len()).sum();
        let _ = writeln!(
            text,
            "every file ({files}) and partition matches `{}`",
            path.display()
        );
    }
    print_result(settings, &text, &document);
    Ok(())
}
