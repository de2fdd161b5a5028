//! `hivebuild ask MANIFEST --target T "REQUEST"`: one request to the hosted hive's Brain
//! (`hive_ops::ask`).

use hive_ops::Error;

use crate::cli::AskArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &AskArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let asked = hive_ops::ask::ask(
        &settings.context(&reporter),
        &args.target.manifest,
        args.target.target.as_deref(),
        &args.request,
        &super::brain_options(&args.brain)?,
        &super::notes(settings),
    )?;
    show(settings, &asked)
}
