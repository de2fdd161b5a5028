//! `hivebuild lock MANIFEST [--update]`: pin git and archive sources in `hive.lock`.

use hive_engine::LockOptions;
use hive_ops::{Error, Shown};
use hive_plan::Lock;
use serde_json::json;

use crate::cli::LockArgs;
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &LockArgs) -> Result<(), Error> {
    let manifest = hive_manifest::load_manifest(&args.manifest)?;
    let old = Lock::load(manifest.root())?;
    let options = LockOptions {
        offline: settings.engine.offline,
        update: args.update,
    };
    let lock = hive_engine::lock(&manifest, &old, &options, &CliReporter::new(settings))?;
    let changed = lock != old;
    if changed {
        lock.save(manifest.root())?;
    }
    let path = manifest.root().join(hive_plan::lock::LOCK_FILE);
    let count = lock.sources.len();
    let text = format!(
        "{} `{}`: {count} source{} pinned\n",
        if changed { "wrote" } else { "unchanged" },
        path.display(),
        if count == 1 { "" } else { "s" }
    );
    let json = json!({"lock": path, "changed": changed, "sources": lock.sources.keys().collect::<Vec<_>>()});
    show(settings, &Shown { text, json })
}
