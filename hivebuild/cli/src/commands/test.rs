//! `hivebuild test smoke|faults|boot-latency MANIFEST --target T` (`hive_ops::test`, the
//! suites of `hive_qemu::suite`).

use hive_ops::Error;
use hive_ops::test::{ReportOptions, Suite};

use crate::cli::TestCommand;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: TestCommand) -> Result<(), Error> {
    let (suite, args) = match command {
        TestCommand::Smoke(args) => (Suite::Smoke, args),
        TestCommand::Faults(args) => (Suite::Faults, args),
        TestCommand::BootLatency(args) => (Suite::BootLatency { runs: args.runs }, args.test),
    };
    let reporter = CliReporter::new(settings);
    let reports = ReportOptions {
        dir: args.report_dir,
        junit: args.junit,
    };
    let tested = hive_ops::test::run(
        &settings.context(&reporter),
        &args.target.manifest,
        args.target.target.as_deref(),
        suite,
        args.image.as_deref(),
        &reports,
    )?;
    show(settings, &tested)
}
