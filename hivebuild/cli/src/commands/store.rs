//! `hivebuild store path|ls|gc`.

use std::fmt::Write as _;

use serde_json::json;

use hive_ops::{Error, Shown};

use crate::cli::{StoreCommand, StorePathArgs};
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: StoreCommand) -> Result<(), Error> {
    match command {
        StoreCommand::Path(args) => path(settings, &args),
        StoreCommand::Ls => list(settings),
        StoreCommand::Gc => gc(settings),
    }
}

fn path(settings: &Settings, args: &StorePathArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let cx = settings.context(&reporter);
    let store = cx.open_store()?;
    let (Some(manifest), Some(step)) = (&args.manifest, &args.step) else {
        let root = store.root().display().to_string();
        let json = json!({"path": root});
        return show(
            settings,
            &Shown {
                text: format!("{root}\n"),
                json,
            },
        );
    };
    let (manifest, target) = hive_ops::project::load(manifest, args.target.as_deref())?;
    let plan = hive_ops::build::plan(&cx, &store, &manifest, &target)?;
    let step = plan.step(step).ok_or_else(|| Error::NoStep {
        step: step.clone(),
        known: plan.steps.iter().map(|s| s.name.clone()).collect(),
    })?;
    let entry = store
        .lookup(&step.store_name)
        .ok_or_else(|| Error::NotBuilt {
            step: step.name.clone(),
            target: plan.target.clone(),
            manifest: manifest.file.clone(),
        })?;
    let path = entry.path.display().to_string();
    let json = json!({"path": path, "step": step.name, "store-name": step.store_name});
    show(
        settings,
        &Shown {
            text: format!("{path}\n"),
            json,
        },
    )
}

fn list(settings: &Settings) -> Result<(), Error> {
    let store = hive_store::Store::open(&settings.store_dir)?;
    let entries = store.list()?;
    let mut text = String::new();
    for entry in &entries {
        let _ = writeln!(
            text,
            "{}  {}  {} bytes (NAR)",
            entry.name, entry.record.nar_hash, entry.record.nar_size
        );
    }
    let document = json!(entries
        .iter()
        .map(|e| json!({"name": e.name, "path": e.path, "step": e.record.step, "nar-hash": e.record.nar_hash, "nar-size": e.record.nar_size}))
        .collect::<Vec<_>>());
    show(
        settings,
        &Shown {
            text,
            json: document,
        },
    )
}

fn gc(settings: &Settings) -> Result<(), Error> {
    let store = hive_store::Store::open_exclusive(&settings.store_dir)?;
    let report = store.gc()?;
    let text = format!(
        "removed {} entries, {} bytes\n",
        report.removed.len(),
        report.bytes
    );
    let json = json!({"removed": report.removed, "bytes": report.bytes});
    show(settings, &Shown { text, json })
}
