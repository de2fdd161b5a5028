//! `hivebuild plan MANIFEST --target T --format text|json|dot`.

use crate::cli::{PlanArgs, PlanFormat};
use crate::dispatch::CliError;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &PlanArgs) -> Result<(), CliError> {
    let (manifest, target) = super::load(&args.target.manifest, args.target.target.as_deref())?;
    let store = super::open_store(settings)?;
    let plan = super::make_plan(settings, Some(&store), &manifest, &target)?;
    let text = match args.format {
        PlanFormat::Text => plan.to_text(),
        PlanFormat::Json => serde_json::to_string_pretty(&plan).expect("plans serialise") + "\n",
        PlanFormat::Dot => plan.to_dot(),
    };
    // `--json` is `--format json` on one line, as every command's `--json` is.
    let document = serde_json::to_value(&plan).expect("plans serialise");
    crate::output::print_result(settings, &text, &document);
    Ok(())
}
