//! One file per subcommand: each turns resolved settings into library calls.

pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod image;
pub(crate) mod inspect;
pub(crate) mod key;
mod latency;
pub(crate) mod lock;
pub(crate) mod plan;
pub(crate) mod root;
pub(crate) mod run;
pub(crate) mod sign;
mod signing;
pub(crate) mod store;
pub(crate) mod test;
pub(crate) mod verify;

use std::path::Path;

use hive_manifest::{Manifest, Target};
use hive_plan::{Lock, Plan, PlanOptions, Probe};
use hive_store::Store;

use crate::dispatch::CliError;
use crate::settings::Settings;

/// The manifest, and the target to work on: the one named, or the hive's only one.
pub(crate) fn load(manifest: &Path, target: Option<&str>) -> Result<(Manifest, Target), CliError> {
    let manifest = hive_manifest::load_manifest(manifest)?;
    let name = match (target, manifest.hive.targets.as_slice()) {
        (Some(name), _) => name.to_owned(),
        (None, [only]) => only.clone(),
        (None, targets) => {
            return Err(CliError::usage(format!(
                "`{}` has several targets: pick one with `--target` (`{}`)",
                manifest.hive.name,
                targets.join("`, `")
            )));
        }
    };
    let target = hive_manifest::load_target(&manifest.root, &name, &manifest)?;
    Ok((manifest, target))
}

/// The plan for a manifest and target, with tool versions cached in the store.
pub(crate) fn make_plan(
    settings: &Settings,
    store: Option<&Store>,
    manifest: &Manifest,
    target: &Target,
) -> Result<Plan, CliError> {
    let lock = Lock::load(&manifest.root)?;
    let probe = Probe::new(store.map(|s| s.cache_dir().join("toolchains-v1.json")));
    let options = PlanOptions {
        target,
        lock: &lock,
        overrides: &settings.overrides,
        probe: &probe,
        source_date_epoch: settings.engine.source_date_epoch,
        rustc: settings.rustc.clone(),
    };
    let plan = hive_plan::plan(manifest, &options);
    probe.save();
    Ok(plan?)
}

pub(crate) fn open_store(settings: &Settings) -> Result<Store, CliError> {
    Ok(Store::open(&settings.store_dir)?)
}

/// Remember what this manifest and target use, so that `store gc` keeps it. Written only
/// when it changed, to keep no-op builds cheap.
pub(crate) fn record_root(
    store: &Store,
    manifest: &Manifest,
    plan: &Plan,
    report: &hive_engine::BuildReport,
) -> Result<(), CliError> {
    let manifest_path =
        std::path::absolute(&manifest.file).unwrap_or_else(|_| manifest.file.clone());
    let root = hive_store::GcRoot {
        manifest: manifest_path.display().to_string(),
        target: plan.target.clone(),
        entries: report.steps.iter().map(|s| s.store_name.clone()).collect(),
    };
    let id = hive_plan::Digest::of(format!("{}\0{}", root.manifest, root.target).as_bytes()).hex();
    let id = &id[..16];
    let path = store.root().join(".roots").join(format!("{id}.json"));
    let current = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<hive_store::GcRoot>(&bytes).ok());
    if current.is_none_or(|c| c.entries != root.entries) {
        store.set_root(id, &root)?;
    }
    Ok(())
}

/// The images a hive boots, in order: the kernel, then each skill (with its name).
pub(crate) fn bootable_images(
    manifest: &Manifest,
    report: &hive_engine::BuildReport,
) -> Vec<(String, std::path::PathBuf, Option<String>)> {
    let output_of = |step: &str| {
        report
            .steps
            .iter()
            .find(|s| s.name == step)
            .map(|s| s.path.clone())
            .expect("the plan has this step")
    };
    let mut images = vec![(
        "kernel".to_owned(),
        output_of("kernel").join("kernel.elf"),
        None,
    )];
    for name in manifest.skills.keys() {
        let step = format!("skill-{name}");
        images.push((
            step.clone(),
            output_of(&step).join("skill.elf"),
            Some(name.clone()),
        ));
    }
    images
}
