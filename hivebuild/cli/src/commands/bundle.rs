//! `hivebuild bundle --to RELEASE_DIR -o FILE --bundle-version N [--from DIR ...]` and
//! `hivebuild bundle inspect FILE` (`hive_ops::bundle`, docs/bundle-format.md).

use hive_ops::Error;
use hive_ops::bundle::BundleOptions;

use crate::cli::{BundleArgs, BundleCommand};
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &BundleArgs) -> Result<(), Error> {
    if let Some(BundleCommand::Inspect { file }) = &args.command {
        return show(settings, &hive_ops::bundle::inspect(file)?);
    }
    let (Some(to), Some(output), Some(version)) = (&args.to, &args.output, args.version) else {
        return Err(Error::usage(
            "`bundle` needs `--to RELEASE_DIR`, `-o FILE` and `--bundle-version N`",
        ));
    };
    let options = BundleOptions {
        to,
        from: args.from.as_deref().map(|from| (from, args.from_version)),
        component: args.component.as_deref(),
        output,
        version,
        signers: &super::signers(&args.signers),
        expires: &args.expires,
    };
    show(settings, &hive_ops::bundle::bundle(&options)?)
}
