//! `hivebuild plan MANIFEST --target T --format text|json|dot` (`--json` is `--format json`
//! on one line, as every command's `--json` is).

use hive_ops::{Error, Shown};

use crate::cli::{PlanArgs, PlanFormat};
use crate::output::{CliReporter, show};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &PlanArgs) -> Result<(), Error> {
    let reporter = CliReporter::new(settings);
    let cx = settings.context(&reporter);
    let target = args.target.target.as_deref();
    let (manifest, target) = hive_ops::project::load(&args.target.manifest, target)?;
    let plan = hive_ops::build::plan(&cx, &cx.open_store()?, &manifest, &target)?;
    let text = match args.format {
        PlanFormat::Text => plan.to_text(),
        PlanFormat::Json => serde_json::to_string_pretty(&plan).expect("plans serialise") + "\n",
        PlanFormat::Dot => plan.to_dot(),
    };
    let json = serde_json::to_value(&plan).expect("plans serialise");
    show(settings, &Shown { text, json })
}
