//! The folder and environment one step runs in.
//!
//! Each step gets a temporary folder in the store with `src/` (copies of its source
//! folders), `deps/` (copies of its dependencies' outputs), `work/`, `home/`, `tmp/` and
//! `out/`. Programs run with an empty environment but for what is set here: `PATH`, a
//! scratch `HOME`, `SOURCE_DATE_EPOCH`, `TZ=UTC`, `LC_ALL=C` and umask 022. The temporary
//! folder's path is mapped to `/hive/build` in compiler flags, so outputs do not depend on
//! where the store is.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hive_plan::{Arg, Step};
use hive_process::ProcessBuilder;

use crate::{EngineError, Settings};

/// What the build folder is called inside outputs.
pub const MAPPED_BUILD_DIR: &str = "/hive/build";

pub(crate) struct StepContext<'a> {
    pub(crate) step: &'a Step,
    pub(crate) settings: &'a Settings,
    pub(crate) dir: PathBuf,
    pub(crate) out: PathBuf,
    pub(crate) work: PathBuf,
    pub(crate) log: PathBuf,
    /// The store's cache (`<store>/.cache`): what a step may keep between builds to be
    /// incremental; never an input of an output's identity.
    pub(crate) cache: PathBuf,
    /// Source name → its copy under `src/`.
    pub(crate) sources: BTreeMap<String, PathBuf>,
    /// Source name → the store entry it was fetched into (content-addressed: its identity),
    /// for fetched sources.
    pub(crate) fetched: BTreeMap<String, String>,
    /// Dependency name → its copy under `deps/`.
    pub(crate) deps: BTreeMap<String, PathBuf>,
}

impl<'a> StepContext<'a> {
    /// Lay out the step's folder: copy its sources and its dependencies' outputs.
    pub(crate) fn prepare(
        step: &'a Step,
        settings: &'a Settings,
        dir: &Path,
        out: &Path,
        cache: PathBuf,
        dep_outputs: &BTreeMap<String, PathBuf>,
    ) -> Result<Self, EngineError> {
        let log = cache.join("logs").join(format!("{}.log", step.store_name));
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| EngineError::Io { path, source }
        };
        for sub in ["src", "deps", "work", "home", "tmp"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(io_error(&path))?;
        }
        if let Some(parent) = log.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        fs::write(&log, "").map_err(io_error(&log))?;
        let mut sources = BTreeMap::new();
        let mut fetched = BTreeMap::new();
        for (name, input) in &step.sources {
            let from = match input {
                hive_plan::SourceInput::Path { path, .. } => path.clone(),
                hive_plan::SourceInput::Fetched { step } => {
                    let entry = &dep_outputs[step];
                    let entry_name = entry.file_name().unwrap_or_default();
                    fetched.insert(name.clone(), entry_name.to_string_lossy().into_owned());
                    entry.clone()
                }
            };
            let to = dir.join("src").join(name);
            copy_tree(&from, &to, true).map_err(io_error(&from))?;
            sources.insert(name.clone(), to);
        }
        let mut deps = BTreeMap::new();
        for name in &step.deps {
            let to = dir.join("deps").join(name);
            copy_tree(&dep_outputs[name], &to, false).map_err(io_error(&dep_outputs[name]))?;
            deps.insert(name.clone(), to);
        }
        Ok(Self {
            step,
            settings,
            dir: dir.to_owned(),
            out: out.to_owned(),
            work: dir.join("work"),
            log,
            cache,
            sources,
            fetched,
            deps,
        })
    }

    /// A process with the clean environment.
    pub(crate) fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> ProcessBuilder {
        ProcessBuilder::new(program)
            .clear_env()
            .env("PATH", &self.settings.path)
            .env("HOME", self.dir.join("home"))
            .env("TMPDIR", self.dir.join("tmp"))
            .env(
                "SOURCE_DATE_EPOCH",
                self.settings.source_date_epoch.to_string(),
            )
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .umask(0o022)
            .die_with_parent()
            .cwd(&self.work)
    }

    /// Run a command, its output appended to the step's log.
    pub(crate) fn run(&self, command: &ProcessBuilder) -> Result<(), EngineError> {
        use std::io::Write as _;
        if let Ok(mut log) = fs::OpenOptions::new().append(true).open(&self.log) {
            let _ = writeln!(log, "$ {}", command.display());
        }
        command
            .run_logged(&self.log)
            .map_err(|source| EngineError::Step {
                step: self.step.name.clone(),
                source: Box::new(source),
            })
    }

    /// C compiler flags that map the build folder to a fixed path.
    pub(crate) fn c_flags(&self) -> String {
        format!(
            "-ffile-prefix-map={}={MAPPED_BUILD_DIR}",
            self.dir.display()
        )
    }

    /// The resolved path of a tool the plan found for this step.
    pub(crate) fn program(&self, role: &str) -> PathBuf {
        self.step
            .programs
            .get(role)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(role))
    }

    /// An argument's text for this build.
    pub(crate) fn arg(&self, arg: &Arg) -> String {
        match arg {
            Arg::Text { text } => text.clone(),
            Arg::Output { prefix, step, path } => join(prefix, &self.deps[step], path),
            Arg::Source { prefix, name } => join(prefix, &self.sources[name], ""),
            Arg::Out { prefix, path } => join(prefix, &self.out, path),
        }
    }
}

fn join(prefix: &str, base: &Path, path: &str) -> String {
    let full = if path.is_empty() {
        base.to_owned()
    } else {
        base.join(path)
    };
    format!("{prefix}{}", full.display())
}

/// Copy a folder (or file), keeping symlinks as symlinks; copies are writable by their
/// owner. For a source (`sources_only`), leave out what source hashing leaves out
/// (`target/`, hidden entries).
pub(crate) fn copy_tree(from: &Path, to: &Path, sources_only: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        return std::os::unix::fs::symlink(fs::read_link(from)?, to);
    }
    if meta.is_file() {
        fs::copy(from, to)?;
        let mode = meta.permissions().mode() | 0o200;
        return fs::set_permissions(to, fs::Permissions::from_mode(mode));
    }
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if !sources_only || hive_plan::hash::is_source_entry(&name.to_string_lossy()) {
            copy_tree(&entry.path(), &to.join(&name), sources_only)?;
        }
    }
    Ok(())
}
