//! `hivebuild sign DIR --sign-key KEY...`: add signatures to a release folder.

use hive_ops::Error;

use crate::cli::SignArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &SignArgs) -> Result<(), Error> {
    let signers = super::signers(&args.signers);
    show(settings, &hive_ops::release::sign(&args.dir, &signers)?)
}
