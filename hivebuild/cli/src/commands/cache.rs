//! `hivebuild cache push URL MANIFEST --sign-key FILE`, `cache pull URL MANIFEST
//! --trusted-key KEY`, `cache key --name NAME --out PREFIX`: a hive's step outputs shared
//! through a Nix binary cache (`hive_ops::cache`).

use hive_ops::Error;

use crate::cli::CacheCommand;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: CacheCommand) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let cx = settings.context(&reporter);
    match command {
        CacheCommand::Push {
            url,
            target,
            sign_key,
        } => {
            let (manifest, t) =
                hive_ops::project::load(&target.manifest, target.target.as_deref())?;
            show(
                settings,
                &hive_ops::cache::push(&cx, &manifest, &t, &url, &sign_key)?,
            )
        }
        CacheCommand::Pull { url, target } => {
            if settings.trusted_keys.is_empty() {
                return Err(Error::usage(
                    "`cache pull` takes only signed outputs: give the cache's key with `--trusted-key NAME:BASE64`",
                ));
            }
            let (manifest, t) =
                hive_ops::project::load(&target.manifest, target.target.as_deref())?;
            show(
                settings,
                &hive_ops::cache::pull(&cx, &manifest, &t, &url, &settings.trusted_keys)?,
            )
        }
        CacheCommand::Key { name, out } => show(settings, &hive_ops::cache::key(&name, &out)?),
    }
}
