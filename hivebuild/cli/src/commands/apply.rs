//! `hivebuild apply FILE --device DIR [--trust-root ROOT]`: play a device's updater.

use hive_ops::Error;

use crate::cli::ApplyArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ApplyArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let trust_root = args.trust_root.as_deref();
    show(
        settings,
        &hive_ops::bundle::apply(&args.file, &args.device, trust_root, &reporter)?,
    )
}
