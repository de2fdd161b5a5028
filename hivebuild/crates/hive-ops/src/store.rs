//! `store path|ls|gc`: what is in the store, and where.

use std::fmt::Write as _;
use std::path::Path;

use hive_store::Store;
use serde_json::json;

use crate::{Context, Error, Result, Shown};

/// The store folder, or with a manifest and step the output folder of that step.
pub fn path(cx: &Context<'_>, step: Option<(&Path, &str)>, target: Option<&str>) -> Result<Shown> {
    let store = cx.open_store()?;
    let Some((manifest, step)) = step else {
        let root = store.root().display().to_string();
        return Ok(Shown {
            text: format!("{root}\n"),
            json: json!({"path": root}),
        });
    };
    let (manifest, target) = crate::project::load(manifest, target)?;
    let plan = crate::build::plan(cx, &store, &manifest, &target)?;
    let step = plan.step(step).ok_or_else(|| Error::NoStep {
        step: step.to_owned(),
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
    Ok(Shown {
        text: format!("{path}\n"),
        json: json!({"path": path, "step": step.name, "store-name": step.store_name}),
    })
}

/// Every entry: name, NAR hash and size.
pub fn list(store_dir: &Path) -> Result<Shown> {
    let entries = Store::open(store_dir)?.list()?;
    let mut text = String::new();
    for entry in &entries {
        let _ = writeln!(
            text,
            "{}  {}  {} bytes (NAR)",
            entry.name, entry.record.nar_hash, entry.record.nar_size
        );
    }
    let json = json!(entries
        .iter()
        .map(|e| json!({"name": e.name, "path": e.path, "step": e.record.step, "nar-hash": e.record.nar_hash, "nar-size": e.record.nar_size}))
        .collect::<Vec<_>>());
    Ok(Shown { text, json })
}

/// Remove entries no recent build uses, and leftovers of killed builds.
pub fn gc(store_dir: &Path) -> Result<Shown> {
    let report = Store::open_exclusive(store_dir)?.gc()?;
    Ok(Shown {
        text: format!(
            "removed {} entries, {} bytes\n",
            report.removed.len(),
            report.bytes
        ),
        json: json!({"removed": report.removed, "bytes": report.bytes}),
    })
}
