//! `hivebuild caps MANIFEST [--format text|dot|system] [--target T]`: the least-privilege
//! review view, and the Microkit system description it becomes on a board.

use hive_ops::{Error, Shown};
use serde_json::json;

use crate::cli::{CapsArgs, CapsFormat};
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &CapsArgs) -> Result<(), Error> {
    let manifest = hive_manifest::load_manifest(&args.manifest)?;
    let graph = || {
        json!({
            "hive": manifest.hive.name,
            "version": manifest.hive.version.to_string(),
            "components": hive_sel4::graph::components(&manifest),
        })
    };
    let shown = match args.format {
        CapsFormat::Text => Shown {
            text: hive_sel4::graph::to_text(&manifest),
            json: graph(),
        },
        CapsFormat::Dot => Shown {
            text: hive_sel4::graph::to_dot(&manifest),
            json: graph(),
        },
        CapsFormat::System => {
            let board = hive_ops::project::microkit_board(&manifest, args.target.as_deref())?;
            let xml = hive_sel4::system_xml(&manifest, &board);
            Shown {
                json: json!({"board": board.name, "system": xml}),
                text: xml,
            }
        }
    };
    show(settings, &shown)
}
