//! `hivebuild builder-conf MANIFEST --target T`: the `nix.conf` lines (sandbox paths, system
//! features) and the machines-file line a remote Nix builder needs for this hive's steps.

use hive_ops::Error;

use crate::cli::ManifestTargetArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ManifestTargetArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let cx = settings.context(&reporter);
    let target = args.target.target.as_deref();
    let (manifest, target) = hive_ops::project::load(&args.target.manifest, target)?;
    show(
        settings,
        &hive_ops::build::builder_conf(&cx, &manifest, &target)?,
    )
}
