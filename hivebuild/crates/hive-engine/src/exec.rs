//! One step, built outside the store: what the Nix engine's builder (`hivebuild step-exec`)
//! runs inside a Nix sandbox. The step runs with the native engine's own code, in the same
//! folder layout and clean environment, and its output is normalised the same way before
//! it is copied to `$out`: the same plan gives the same bytes whichever engine builds it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hive_plan::Step;
use serde::{Deserialize, Serialize};

use crate::{EngineError, Settings, context, normalise_for, steps};

/// The version of [`ExecSpec`]'s layout. Changelog: 1 — first version.
pub const EXEC_FORMAT: u32 = 1;

/// What the builder runs: one step, where its inputs are, and the settings its output
/// depends on. Everything here is part of the derivation, so of its identity.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExecSpec {
    pub format: u32,
    /// The step, its local sources already replaced by their store paths.
    pub step: Step,
    /// Dependency name → its output folder.
    pub deps: BTreeMap<String, PathBuf>,
    pub source_date_epoch: u64,
    /// `PATH` as the step's programs see it.
    pub path: String,
    pub cargo_home: PathBuf,
    pub rustup_home: Option<PathBuf>,
    pub rustup_toolchain: Option<String>,
    /// The home folder of the user who planned the build: no output may contain its path.
    pub home: Option<PathBuf>,
    /// Only a fetch may use the network (a fixed-output derivation gets it).
    pub offline: bool,
}

impl ExecSpec {
    /// The settings a step of this spec runs with, `jobs` at a time inside it.
    pub fn settings(&self, jobs: usize) -> Settings {
        Settings {
            jobs,
            offline: self.offline,
            source_date_epoch: self.source_date_epoch,
            path: self.path.clone().into(),
            cargo_home: self.cargo_home.clone(),
            rustup_home: self.rustup_home.clone(),
            rustup_toolchain: self.rustup_toolchain.clone(),
            home: self.home.clone(),
            nix: None,
        }
    }
}

/// Build the step of `spec` in `scratch` (an empty folder) and copy its normalised output to
/// `out`, which must not exist yet.
pub fn exec(spec: &ExecSpec, scratch: &Path, out: &Path, jobs: usize) -> Result<(), EngineError> {
    if spec.format != EXEC_FORMAT {
        return Err(EngineError::StepFailed {
            step: spec.step.name.clone(),
            message: format!(
                "the step was written in format {}; this hivebuild runs format {EXEC_FORMAT}",
                spec.format
            ),
        });
    }
    let settings = spec.settings(jobs);
    let dir = scratch.join("build");
    let built = dir.join("out");
    std::fs::create_dir_all(&built).map_err(EngineError::io(&built))?;
    let context = context::StepContext::prepare(
        &spec.step,
        &settings,
        &dir,
        &built,
        scratch.join("cache"),
        &spec.deps,
    )?;
    let ran = steps::run(&context);
    if let Ok(log) = std::fs::read_to_string(&context.log) {
        // The step's commands' output goes to the builder's log, which Nix keeps, whether
        // the step worked or not.
        eprint!("{log}");
    }
    ran?;
    let normalise = normalise_for(&settings, &spec.step, &dir, Path::new(hive_nix::STORE_DIR));
    hive_store::normalise_output(&built, &normalise)?;
    context::copy_tree(&built, out, false).map_err(EngineError::io(out))?;
    // The Nix engine reads this line in the build's log: the step is done.
    eprintln!("{DONE_MARKER}{}", spec.step.name);
    Ok(())
}

/// The last line the builder prints, naming its step, once the output is in place.
pub const DONE_MARKER: &str = "hivebuild step-exec: built ";

/// Read a spec written by the Nix engine.
pub fn read_spec(path: &Path) -> Result<ExecSpec, EngineError> {
    let bytes = std::fs::read(path).map_err(EngineError::io(path))?;
    serde_json::from_slice(&bytes).map_err(|error| EngineError::StepFailed {
        step: "step-exec".into(),
        message: format!("`{}` is not a step to run: {error}", path.display()),
    })
}
