//! `hivebuild publish BUNDLE --repo DIR [--trust-root ROOT]`: add a bundle to a static TUF
//! repository.

use hive_ops::Error;

use crate::cli::PublishArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &PublishArgs) -> Result<(), Error> {
    let published = hive_ops::bundle::publish(
        &args.repo,
        &args.bundle,
        args.trust_root.as_deref(),
        &super::signers(&args.signers),
        &args.expires,
    )?;
    show(settings, &published)
}
