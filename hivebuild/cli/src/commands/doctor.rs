//! `hivebuild doctor [MANIFEST] [--target T | --all-targets]` (`hive_ops::doctor`).

use hive_ops::Error;

use crate::cli::DoctorArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &DoctorArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let cx = settings.context(&reporter);
    let report = hive_ops::doctor::doctor(&cx, args.manifest.as_deref(), args.target.as_deref())?;
    show(settings, &report)
}
