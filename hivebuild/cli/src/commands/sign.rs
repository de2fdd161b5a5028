//! `hivebuild sign DIR --sign-key KEY...`: add signatures to a release folder.

use hive_ops::signing::Signers;
use hive_ops::{Error, Shown};
use serde_json::json;

use crate::cli::SignArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &SignArgs) -> Result<(), Error> {
    let signers = Signers::named(&super::signers(&args.signers))?;
    if signers.list.is_empty() {
        return Err(Error::usage(
            "nothing to sign with: give `--sign-key KEY` or `--signer CMD --signer-pub PUB`",
        ));
    }
    let count = hive_release::add_signatures(&args.dir, &signers.as_dyn())?;
    let text = format!(
        "signed `{}`: {count} signature{} now\n",
        args.dir.join(hive_release::TARGETS_FILE).display(),
        if count == 1 { "" } else { "s" }
    );
    show(
        settings,
        &Shown {
            text,
            json: json!({"signatures": count}),
        },
    )
}
