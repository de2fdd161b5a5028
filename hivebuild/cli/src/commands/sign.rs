//! `hivebuild sign DIR --sign-key KEY...`: add signatures to a release folder.

use serde_json::json;

use super::signing::{as_dyn, signers};
use crate::cli::SignArgs;
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &SignArgs) -> Result<(), CliError> {
    let signers = signers(&args.signers)?;
    if signers.is_empty() {
        return Err(CliError::usage(
            "nothing to sign with: give `--sign-key KEY` or `--signer CMD --signer-pub PUB`",
        ));
    }
    let count = hive_release::add_signatures(&args.dir, &as_dyn(&signers))?;
    let text = format!(
        "signed `{}`: {count} signature{} now\n",
        args.dir.join(hive_release::TARGETS_FILE).display(),
        if count == 1 { "" } else { "s" }
    );
    print_result(settings, &text, &json!({"signatures": count}));
    Ok(())
}
