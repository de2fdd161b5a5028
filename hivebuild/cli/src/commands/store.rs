//! `hivebuild store path|ls|gc`.

use std::fmt::Write as _;

use serde_json::json;

use crate::cli::{StoreCommand, StorePathArgs};
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: StoreCommand) -> Result<(), CliError> {
    match command {
        StoreCommand::Path(args) => path(settings, &args),
        StoreCommand::Ls => list(settings),
        StoreCommand::Gc => gc(settings),
    }
}

fn path(settings: &Settings, args: &StorePathArgs) -> Result<(), CliError> {
    let store = super::open_store(settings)?;
    let (Some(manifest), Some(step)) = (&args.manifest, &args.step) else {
        let root = store.root().display();
        print_result(
            settings,
            &format!("{root}\n"),
            &json!({"path": root.to_string()}),
        );
        return Ok(());
    };
    let (manifest, target) = super::load(manifest, args.target.as_deref())?;
    let plan = super::make_plan(settings, Some(&store), &manifest, &target)?;
    let step = plan.step(step).ok_or_else(|| {
        let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
        CliError::usage(format!(
            "the plan has no step `{step}`; it has `{}`",
            names.join("`, `")
        ))
    })?;
    let entry = store
        .lookup(&step.store_name)
        .ok_or_else(|| CliError::Refused {
            message: format!(
                "step `{}` of `{}` is not in the store",
                step.name, plan.target
            ),
            hint: Some(format!(
                "build it first: `hivebuild build {} --target {}`",
                manifest.file.display(),
                plan.target
            )),
            code: crate::exit_codes::NOT_BUILT,
        })?;
    let path = entry.path.display();
    print_result(
        settings,
        &format!("{path}\n"),
        &json!({"path": path.to_string(), "step": step.name, "store-name": step.store_name}),
    );
    Ok(())
}

fn list(settings: &Settings) -> Result<(), CliError> {
    let store = super::open_store(settings)?;
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
    print_result(settings, &text, &document);
    Ok(())
}

fn gc(settings: &Settings) -> Result<(), CliError> {
    let store = hive_store::Store::open_exclusive(&settings.store_dir)?;
    let report = store.gc()?;
    let text = format!(
        "removed {} entries, {} bytes\n",
        report.removed.len(),
        report.bytes
    );
    print_result(
        settings,
        &text,
        &json!({"removed": report.removed, "bytes": report.bytes}),
    );
    Ok(())
}
