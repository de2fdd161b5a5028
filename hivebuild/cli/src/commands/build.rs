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
    super::record_root(&store, &manifest, &plan, &report)?;
    if settings.output == crate::settings::Output::Verbose {
        for step in &report.steps {
            crate::output::emit(&format!("{} {}\n", step.name, step.path.display()));
        }
    }
    Ok(())
}
