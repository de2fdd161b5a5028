//! `hivebuild fetch-update --repo URL --device DIR`: play a device's updater against a
//! repository.

use hive_ops::Error;

use crate::cli::FetchUpdateArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &FetchUpdateArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let fetched = hive_ops::bundle::fetch_update(
        &args.repo,
        &args.device,
        args.trust_root.as_deref(),
        args.hardware_id.as_deref(),
        &reporter,
    )?;
    show(settings, &fetched)
}
