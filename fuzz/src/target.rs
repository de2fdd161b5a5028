//! The target-file parser (`targets/NAME.toml`), through validation: as for manifests, an
//! accepted file printed anew is the same target, and a refusal is well-formed.

use hive_manifest::ManifestError;

use crate::manifest::{check_diagnostics, reprint};

pub fn check(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    // A target file's `[target] name` must be its file's: the file is named after what it says.
    let name = text
        .parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|d| d.get("target")?.get("name")?.as_str().map(str::to_owned))
        .filter(|n| hive_manifest::is_identifier(n))
        .unwrap_or_else(|| "fuzz".into());
    let root = crate::repo_root();
    let path = root.join("targets").join(format!("{name}.toml"));
    match hive_manifest::parse_target(&path, text, root) {
        Ok(model) => {
            let printed = reprint(text);
            let again = hive_manifest::parse_target(&path, &printed, root).unwrap_or_else(|e| {
                panic!("accepted, but refused once printed anew: {e}\n{printed}")
            });
            assert_eq!(
                format!("{model:?}"),
                format!("{again:?}"),
                "printed anew, the target is another:\n{printed}"
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
