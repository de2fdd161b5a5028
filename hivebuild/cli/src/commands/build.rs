//! `hivebuild build MANIFEST --target T [--check]` (with `--json`: the engine's events as
//! JSON lines, the last one `finished`).

use hive_ops::Error;

use crate::cli::BuildArgs;
use crate::output::{CliReporter, emit, show};
use crate::settings::{Output, Settings};

pub(crate) fn run(settings: &Settings, args: &BuildArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let cx = settings.context(&reporter);
    let target = args.target.target.as_deref();
    let (manifest, target) = hive_ops::project::load(&args.target.manifest, target)?;
    if args.check {
        return show(settings, &hive_ops::build::check(&cx, &manifest, &target)?);
    }
    let built = hive_ops::build::build(&cx, &manifest, &target)?;
    if settings.output == Output::Verbose {
        for step in &built.report.steps {
            emit(&format!("{} {}\n", step.name, step.path.display()));
        }
    }
    Ok(())
}
