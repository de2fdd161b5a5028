//! `hivebuild store path|ls|gc` (`hive_ops::store`).

use hive_ops::Error;

use crate::cli::StoreCommand;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: StoreCommand) -> Result<(), Error> {
    let shown = match command {
        StoreCommand::Path(args) => {
            let reporter = CliReporter::new(settings);
            let step = args.manifest.as_deref().zip(args.step.as_deref());
            let cx = settings.context(&reporter);
            hive_ops::store::path(&cx, step, args.target.as_deref())?
        }
        StoreCommand::Ls => hive_ops::store::list(&settings.store_dir)?,
        StoreCommand::Gc => hive_ops::store::gc(&settings.store_dir)?,
    };
    show(settings, &shown)
}
