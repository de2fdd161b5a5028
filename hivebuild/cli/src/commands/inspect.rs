//! `hivebuild inspect IMAGE [--manifest FILES]` (`hive_ops::release::inspect`).

use hive_ops::Error;

use crate::cli::InspectArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &InspectArgs) -> Result<(), Error> {
    let inspected = hive_ops::release::inspect(&args.image, args.files.as_deref())?;
    show(settings, &inspected)
}
