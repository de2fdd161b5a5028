//! `hivebuild build MANIFEST --target T [--check]`.

use std::fmt::Write as _;

use serde_json::json;

use crate::cli::BuildArgs;
use crate::dispatch::CliError;
use crate::output::{CliReporter, print_result};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &BuildArgs) -> Result<(), CliError> {
    let (manifest, target) = super::load(&args.target.manifest, args.target.target.as_deref())?;
    let store = super::open_store(settings)?;
    let plan = super::make_plan(settings, Some(&store), &manifest, &target)?;
    let reporter = CliReporter::new(settings);
    if args.check {
        let checked = hive_engine::check(&plan, &store, &settings.engine, &reporter)?;
        let differing: Vec<_> = checked.iter().filter(|c| !c.same).collect();
        let mut text = String::new();
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
                checked.len()
            );
        }
        let document = json!({
            "check": checked.iter().map(|c| json!({"step": c.name, "same": c.same, "differences": c.differences})).collect::<Vec<_>>(),
        });
        print_result(settings, &text, &document);
        return if differing.is_empty() {
            Ok(())
        } else {
            Err(CliError::NotReproducible(differing.len()))
        };
    }
    let report = hive_engine::build(&plan, &store, &settings.engine, &reporter)?;
    record_root(&store, &manifest, &plan, &report)?;
    if settings.output == crate::settings::Output::Verbose {
        for step in &report.steps {
            crate::output::emit(&format!("{} {}\n", step.name, step.path.display()));
        }
    }
    Ok(())
}

/// Remember what this manifest and target use, so that `store gc` keeps it. Written only
/// when it changed, to keep no-op builds cheap.
fn record_root(
    store: &hive_store::Store,
    manifest: &hive_manifest::Manifest,
    plan: &hive_plan::Plan,
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
    let path = store
        .root()
        .join(".roots")
        .join(format!("{}.json", &id[..16]));
    let current = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<hive_store::GcRoot>(&b).ok());
    if current.is_none_or(|c| c.entries != root.entries) {
        store.set_root(&id[..16], &root)?;
    }
    let _ = print_result;
    Ok(())
}
