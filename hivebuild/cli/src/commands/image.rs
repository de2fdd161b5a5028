//! `hivebuild image MANIFEST --target T -o DIR [--sign-key KEY...]` (`hive_ops::image`).

use hive_ops::Error;
use hive_ops::image::ImageOptions;

use crate::cli::ImageArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ImageArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let options = ImageOptions {
        manifest: &args.target.manifest,
        target: args.target.target.as_deref(),
        output: &args.output,
        signers: &super::signers(&args.signers),
        expires: &args.expires,
        dense: args.dense,
    };
    show(
        settings,
        &hive_ops::image::image(&settings.context(&reporter), &options)?,
    )
}
