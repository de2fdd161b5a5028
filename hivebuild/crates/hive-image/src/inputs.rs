//! Where the bytes of each file in an image come from: step outputs, unpacked boot assets,
//! and templates rendered with the hive's context.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hive_manifest::image::FileSource;

use crate::ImageError;

/// Everything a layout's files can be taken from.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Step name → its output folder.
    pub steps: BTreeMap<String, PathBuf>,
    /// Asset name → its unpacked folder.
    pub assets: BTreeMap<String, PathBuf>,
    /// The project root, for templates.
    pub root: PathBuf,
    /// What templates see (`hive`, `target`, `image`).
    pub context: serde_json::Value,
}

impl Inputs {
    pub(crate) fn bytes(&self, source: &FileSource) -> Result<Vec<u8>, ImageError> {
        let read = |dir: Option<&PathBuf>,
                    what: &str,
                    name: &str,
                    file: &str|
         -> Result<Vec<u8>, ImageError> {
            let dir = dir.ok_or_else(|| ImageError::UnknownInput {
                what: what.into(),
                name: name.into(),
                known: known(self, what),
            })?;
            let path = dir.join(file);
            std::fs::read(&path).map_err(|error| ImageError::MissingFile {
                source_name: source.to_string(),
                path: path.clone(),
                error,
            })
        };
        match source {
            FileSource::Step { step, file } => read(self.steps.get(step), "step", step, file),
            FileSource::Asset { asset, file } => read(self.assets.get(asset), "asset", asset, file),
            FileSource::Template { path } => self.render(path),
        }
    }

    fn render(&self, path: &str) -> Result<Vec<u8>, ImageError> {
        let full = self.root.join(path);
        let text = std::fs::read_to_string(&full).map_err(|error| ImageError::MissingFile {
            source_name: format!("template:{path}"),
            path: full.clone(),
            error,
        })?;
        let mut environment = minijinja::Environment::new();
        environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        environment.set_keep_trailing_newline(true);
        environment
            .render_str(&text, &self.context)
            .map(String::into_bytes)
            .map_err(|error| ImageError::Template {
                template: path.into(),
                message: error.to_string(),
            })
    }
}

fn known(inputs: &Inputs, what: &str) -> Vec<String> {
    let map = if what == "step" {
        &inputs.steps
    } else {
        &inputs.assets
    };
    map.keys().cloned().collect()
}
