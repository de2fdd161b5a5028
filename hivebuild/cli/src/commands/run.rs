//! `hivebuild run MANIFEST --target T`: build, then boot the hive with the console attached
//! (`hive_ops::run`).

use std::time::Duration;

use hive_ops::Error;

use crate::cli::RunArgs;
use crate::output::CliReporter;
use crate::settings::{Output, Settings};

pub(crate) fn run(settings: &Settings, args: &RunArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let cx = settings.context(&reporter);
    let quiet = settings.output == Output::Quiet;
    hive_ops::run::run(
        &cx,
        &args.target.manifest,
        args.target.target.as_deref(),
        Duration::from_secs(args.timeout),
        &super::brain_options(&args.brain)?,
        &mut std::io::stdout(),
        &|line| {
            if !quiet {
                eprintln!("{line}");
            }
        },
    )
}
