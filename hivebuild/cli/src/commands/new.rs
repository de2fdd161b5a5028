//! `hivebuild new DIR [--name NAME]` (`hive_ops::project::new`).

use hive_ops::Error;

use crate::cli::NewArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &NewArgs) -> Result<(), Error> {
    show(
        settings,
        &hive_ops::project::new(&args.dir, args.name.as_deref())?,
    )
}
