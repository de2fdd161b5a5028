//! Render a template folder: `*.j2` files through minijinja (suffix dropped), the rest
//! copied. Undefined variables are errors, so a template cannot silently render blanks.

use std::fs;
use std::path::Path;

use crate::EngineError;
use crate::context::StepContext;

pub(crate) fn run(
    context: &StepContext<'_>,
    template: &str,
    values: &serde_json::Value,
) -> Result<(), EngineError> {
    let root = &context.sources[template];
    let mut environment = minijinja::Environment::new();
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment.set_keep_trailing_newline(true);
    let mut files: Vec<_> = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| EngineError::Io {
            path: root.clone(),
            source: e.into(),
        })?;
    files.retain(|entry| entry.file_type().is_file());
    for entry in files {
        let relative = entry
            .path()
            .strip_prefix(root)
            .expect("walk stays under root");
        let name = relative.to_string_lossy();
        let (target, rendered) = if let Some(stem) = name.strip_suffix(".j2") {
            let text = fs::read_to_string(entry.path()).map_err(|source| EngineError::Io {
                path: entry.path().to_owned(),
                source,
            })?;
            let rendered =
                environment
                    .render_str(&text, values)
                    .map_err(|error| EngineError::Template {
                        template: format!("{template}/{name}"),
                        message: error.to_string(),
                    })?;
            (context.out.join(stem), Some(rendered))
        } else {
            (context.out.join(relative), None)
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|source| EngineError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        let written = match rendered {
            Some(text) => fs::write(&target, text),
            None => fs::copy(entry.path(), &target).map(drop),
        };
        written.map_err(|source| EngineError::Io {
            path: Path::new(&target).to_owned(),
            source,
        })?;
    }
    Ok(())
}
