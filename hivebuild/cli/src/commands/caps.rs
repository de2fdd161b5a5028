//! `hivebuild caps MANIFEST [--format text|dot|system]`: the least-privilege review view.

use crate::cli::{CapsArgs, CapsFormat};
use crate::dispatch::CliError;

pub(crate) fn run(args: &CapsArgs) -> Result<(), CliError> {
    let manifest = hive_manifest::load_manifest(&args.manifest)?;
    let text = match args.format {
        CapsFormat::Text => hive_sel4::graph::to_text(&manifest),
        CapsFormat::Dot => hive_sel4::graph::to_dot(&manifest),
        CapsFormat::System => hive_sel4::system_xml(&manifest),
    };
    crate::output::emit(&text);
    Ok(())
}
