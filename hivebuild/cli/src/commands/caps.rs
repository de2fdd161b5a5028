//! `hivebuild caps MANIFEST [--format text|dot|system] [--target T]`: the least-privilege
//! review view, and the Microkit system description it becomes on a board.

use hive_manifest::{Manifest, SystemKind};

use serde_json::json;

use crate::cli::{CapsArgs, CapsFormat};
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &CapsArgs) -> Result<(), CliError> {
    let manifest = hive_manifest::load_manifest(&args.manifest)?;
    let (text, document) = match args.format {
        CapsFormat::Text => (hive_sel4::graph::to_text(&manifest), None),
        CapsFormat::Dot => (hive_sel4::graph::to_dot(&manifest), None),
        CapsFormat::System => {
            let board = microkit_board(&manifest, args.target.as_deref())?;
            let xml = hive_sel4::system_xml(&manifest, &board);
            let document = json!({"board": board.name, "system": xml});
            (xml, Some(document))
        }
    };
    let document = document.unwrap_or_else(|| {
        json!({
            "hive": manifest.hive.name,
            "version": manifest.hive.version.to_string(),
            "components": hive_sel4::graph::components(&manifest),
        })
    });
    print_result(settings, &text, &document);
    Ok(())
}

/// The Microkit board of the target named, or of the hive's first seL4 target.
pub(crate) fn microkit_board(
    manifest: &Manifest,
    target: Option<&str>,
) -> Result<hive_sel4::Board, CliError> {
    let names: Vec<&String> = match target {
        Some(name) => vec![
            manifest
                .hive
                .targets
                .iter()
                .find(|t| *t == name)
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "`{name}` is not a target of hive `{}` (`{}`)",
                        manifest.hive.name,
                        manifest.hive.targets.join("`, `")
                    ))
                })?,
        ],
        None => manifest.hive.targets.iter().collect(),
    };
    for name in names {
        let target = hive_manifest::load_target(manifest, name)?;
        if target.system == SystemKind::Microkit {
            return hive_sel4::load_board(&hive_sel4::boards_file(&manifest.layers), &target.board)
                .map_err(|error| CliError::Refused {
                    message: error.to_string(),
                    hint: Some("add the board to sel4-platform/boards.toml".into()),
                    code: crate::exit_codes::USAGE,
                });
        }
    }
    Err(CliError::Refused {
        message: format!(
            "no target of hive `{}` builds its system with Microkit{}",
            manifest.hive.name,
            target
                .map(|t| format!(" (`{t}` uses the stand-ins)"))
                .unwrap_or_default()
        ),
        hint: Some("a target file says `system = \"microkit\"` in its `[target]`".into()),
        code: crate::exit_codes::USAGE,
    })
}
