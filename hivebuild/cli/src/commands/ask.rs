//! `hivebuild ask MANIFEST --target T "REQUEST"`: one request to the hosted hive's Brain
//! (`hive_ops::ask`).

use hive_ops::Error;
use hive_ops::hive::Options;

use crate::cli::AskArgs;
use crate::output::{CliReporter, show};
use crate::settings::{Output, Settings};

pub(crate) fn run(settings: &Settings, args: &AskArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let options = Options {
        stores: super::stores(&args.stores)?,
        threads: args.threads,
    };
    let quiet = matches!(settings.output, Output::Json | Output::Quiet);
    let asked = hive_ops::ask::ask(
        &settings.context(&reporter),
        &args.target.manifest,
        args.target.target.as_deref(),
        &args.request,
        &options,
        &|line| {
            if !quiet {
                eprintln!("{line}");
            }
        },
    )?;
    show(settings, &asked)
}
