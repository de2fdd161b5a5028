//! `hivebuild verify DIR [--trust-root ROOT]` (`hive_ops::release::verify`).

use hive_ops::Error;

use crate::cli::VerifyArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &VerifyArgs) -> Result<(), Error> {
    let trust_root = args.trust_root.as_deref();
    show(settings, &hive_ops::release::verify(&args.dir, trust_root)?)
}
