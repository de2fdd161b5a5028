//! Plan and build a hive for a target, with tool answers cached in the store and the build
//! remembered as a gc root.

use hive_manifest::{Manifest, Target};
use hive_plan::{Lock, Plan, PlanOptions, Probe};
use hive_store::Store;
use serde_json::json;

use crate::{Context, Error, Result};

/// A tool probe whose answers (paths, versions) are cached in the store, when there is one.
pub fn probe(store: Option<&Store>) -> Probe {
    Probe::new(store.map(|s| s.cache_dir().join("toolchains-v1.json")))
}

/// Where the QEMU driver keeps its KVM probe answers: in the store's cache, beside the tool
/// probe's.
pub fn kvm_cache(store: &Store) -> std::path::PathBuf {
    store.cache_dir().join("kvm-probe-v1.json")
}

/// The plan for a manifest and target.
pub fn plan(cx: &Context<'_>, store: &Store, manifest: &Manifest, target: &Target) -> Result<Plan> {
    let probe = probe(Some(store));
    let plan = with_options(cx, &probe, manifest, target, |options| {
        hive_plan::plan(manifest, options)
    });
    probe.save();
    plan
}

/// The plan and every tool it runs, found or missing (for `doctor`, which asks many plans
/// with one probe and saves its answers once).
pub fn survey(
    cx: &Context<'_>,
    probe: &Probe,
    manifest: &Manifest,
    target: &Target,
) -> Result<hive_plan::Survey> {
    with_options(cx, probe, manifest, target, |options| {
        hive_plan::survey(manifest, options)
    })
}

/// Call `plan` with what planning reads besides the manifest and target: the lock, the
/// local source folders, and the probe that finds tools.
fn with_options<T>(
    cx: &Context<'_>,
    probe: &Probe,
    manifest: &Manifest,
    target: &Target,
    plan: impl FnOnce(&PlanOptions<'_>) -> Result<T, hive_plan::PlanError>,
) -> Result<T> {
    let lock = Lock::load(manifest.root())?;
    let overrides = cx.source_overrides(manifest)?;
    let options = PlanOptions {
        target,
        lock: &lock,
        overrides: &overrides,
        probe,
        source_date_epoch: cx.engine.source_date_epoch,
        rustc: cx.rustc.clone(),
    };
    Ok(plan(&options)?)
}

/// What building a hive for a target leaves: the store, the plan, and each step's output.
pub struct Built {
    pub store: Store,
    pub plan: Plan,
    pub report: hive_engine::BuildReport,
}

/// Build a hive for a target and remember it as a gc root.
pub fn build(cx: &Context<'_>, manifest: &Manifest, target: &Target) -> Result<Built> {
    let store = cx.open_store()?;
    let plan = plan(cx, &store, manifest, target)?;
    let report = hive_engine::build(&plan, &store, &cx.engine, cx.reporter)?;
    record_root(&store, manifest, &plan, &report)?;
    Ok(Built {
        store,
        plan,
        report,
    })
}

/// What a remote Nix builder of this hive needs in its `nix.conf` (`hivebuild builder-conf`).
pub fn builder_conf(
    cx: &Context<'_>,
    manifest: &Manifest,
    target: &Target,
) -> Result<crate::Shown> {
    let store = cx.open_store()?;
    let plan = plan(cx, &store, manifest, target)?;
    let needs = hive_engine::nix::builder_needs(&plan.steps, &cx.engine);
    let system = hive_engine::nix::system();
    let text = format!(
        "# nix.conf of a remote builder for hive `{}` on `{}` (hivebuild --engine nix)\n{}\
         # its line in the machines file (--builders @FILE): URI SYSTEM KEY JOBS SPEED FEATURES\n\
         # ssh-ng://builder {system} /path/to/key 1 1 {}\n",
        plan.hive,
        plan.target,
        needs.nix_conf(),
        needs.system_features.join(",")
    );
    Ok(crate::Shown {
        text,
        json: json!({
            "system": system,
            "sandbox-paths": needs.sandbox_paths,
            "system-features": needs.system_features,
            "settings": hive_engine::nix::derivation_settings(&cx.engine, manifest.root()),
        }),
    })
}

/// `build --check`: rebuild every step into a scratch store and compare.
pub struct Checked(pub Vec<hive_engine::CheckedStep>);

pub fn check(cx: &Context<'_>, manifest: &Manifest, target: &Target) -> Result<Checked> {
    let store = cx.open_store()?;
    let plan = plan(cx, &store, manifest, target)?;
    Ok(Checked(hive_engine::check(
        &plan,
        &store,
        &cx.engine,
        cx.reporter,
    )?))
}

impl crate::Outcome for Checked {
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut text = String::new();
        let differing: Vec<_> = self.0.iter().filter(|c| !c.same).collect();
        for step in &differing {
            let _ = writeln!(text, "step `{}` differs between two builds:", step.name);
            for file in &step.differences {
                let _ = writeln!(text, "  {file}");
            }
        }
        if differing.is_empty() {
            let _ = writeln!(
                text,
                "all {} rebuilt steps are bit-for-bit the same",
                self.0.len()
            );
        }
        text
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "check": self.0.iter().map(|c| json!({"step": c.name, "same": c.same, "differences": c.differences})).collect::<Vec<_>>(),
        })
    }

    fn verdict(&self) -> Result<()> {
        match self.0.iter().filter(|c| !c.same).count() {
            0 => Ok(()),
            count => Err(Error::NotReproducible { count }),
        }
    }
}

/// Remember what this manifest and target use, so that `store gc` keeps it. Written only
/// when it changed, to keep no-op builds cheap.
fn record_root(
    store: &Store,
    manifest: &Manifest,
    plan: &Plan,
    report: &hive_engine::BuildReport,
) -> Result<()> {
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
