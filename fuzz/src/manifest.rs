//! The manifest parser, through validation (`hivebuild check`): an accepted manifest printed
//! anew (read into values and printed by the `toml` crate: comments and layout gone) is accepted
//! again as the same hive; a refused one gets diagnostics whose spans lie in the text and whose
//! rendering is bounded.

use hive_manifest::{Diagnostics, Layers, ManifestError};

pub fn check(data: &[u8]) -> bool {
    // The loader refuses what is not UTF-8 before any parsing (`read_bounded`).
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let layers = Layers::project_only(crate::repo_root());
    let path = crate::repo_root().join("manifests/fuzz.toml");
    match hive_manifest::parse_manifest(&path, text, &layers) {
        Ok(model) => {
            let printed = reprint(text);
            let again =
                hive_manifest::parse_manifest(&path, &printed, &layers).unwrap_or_else(|e| {
                    panic!("accepted, but refused once printed anew: {e}\n{printed}")
                });
            assert_eq!(
                format!("{model:?}"),
                format!("{again:?}"),
                "printed anew, the manifest is another hive:\n{printed}"
            );
            true
        }
        Err(ManifestError::Invalid(diagnostics)) => {
            check_diagnostics(&diagnostics, text);
            false
        }
        Err(other) => panic!("parsing text read no file, yet: {other}"),
    }
}

/// The same TOML document read into values and printed anew by the `toml` crate (another
/// printer than the parser's own).
pub(crate) fn reprint(text: &str) -> String {
    let table: toml::Table = toml::from_str(text).expect("accepted text is TOML");
    toml::to_string_pretty(&table).expect("a TOML table prints")
}

/// What every refusal must be: at least one diagnostic, each span inside the text and on
/// character boundaries, at most [`Diagnostics::SHOWN`] rendered, each of those in the
/// rendering.
pub(crate) fn check_diagnostics(diagnostics: &Diagnostics, text: &str) {
    assert!(!diagnostics.list.is_empty(), "refused without a diagnostic");
    for d in &diagnostics.list {
        assert!(
            d.span.start <= d.span.end
                && d.span.end <= text.len()
                && text.is_char_boundary(d.span.start)
                && text.is_char_boundary(d.span.end),
            "`{}`: span {:?} is not a range of the {}-byte text",
            d.message,
            d.span,
            text.len()
        );
    }
    let rendered = diagnostics.render(false);
    assert!(diagnostics.shown().len() <= Diagnostics::SHOWN);
    // The renderer shows whitespace and control characters its own way (a tab as spaces, a
    // carriage return as `␍`): compared by their letters and digits.
    let visible = |text: &str| -> String { text.chars().filter(|c| c.is_alphanumeric()).collect() };
    let shown = visible(&rendered);
    for d in diagnostics.shown() {
        assert!(
            shown.contains(&visible(d.message.lines().next().unwrap_or_default())),
            "`{}` is not in the rendering",
            d.message
        );
    }
}
