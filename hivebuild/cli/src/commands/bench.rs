//! `hivebuild bench MANIFEST --target T`: the running hosted hive's figures in one run
//! (`hive_ops::bench`).

use hive_ops::Error;

use crate::cli::BenchArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &BenchArgs) -> Result<(), Error> {
    if args.runs == 0 {
        return Err(Error::usage("`--runs` must be at least 1"));
    }
    let reporter = CliReporter::new(settings);
    let benched = hive_ops::bench::bench(
        &settings.context(&reporter),
        &args.target.manifest,
        args.target.target.as_deref(),
        args.runs,
        &args.request,
        &super::brain_options(&args.brain)?,
        &super::notes(settings),
    )?;
    show(settings, &benched)
}
