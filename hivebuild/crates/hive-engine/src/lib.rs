//! The native engine: builds a [`Plan`] into a [`Store`].
//!
//! Ready steps run in parallel (`jobs` at a time), each in its own folder and clean
//! environment (see [`context`]); a step whose output is already stored is skipped. Progress
//! goes to a [`Reporter`]. `check` rebuilds every step into a scratch store and compares NAR
//! hashes, listing the files that differ, as `nix build --rebuild` does.

mod context;
pub mod exec;
pub mod nix;
pub mod reporter;
mod steps;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use hive_plan::{Plan, Step, StepKind};
use hive_store::{Begin, Normalise, Store, StoreError};

pub use context::MAPPED_BUILD_DIR;
pub use reporter::{Event, Reporter, Silent};
pub use steps::fetch::{LockOptions, lock};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("step `{step}` failed")]
    Step {
        step: String,
        #[source]
        source: Box<hive_process::ProcessError>,
    },
    #[error("step `{step}` failed: {message}")]
    StepFailed { step: String, message: String },
    #[error("failed to render template `{template}`: {message}")]
    Template { template: String, message: String },
    #[error("failed to fetch source `{name}`")]
    Fetch {
        name: String,
        #[source]
        error: Box<hive_process::ProcessError>,
    },
    #[error("source `{name}` is not in the store and `--offline` forbids fetching it")]
    Offline { name: String },
    #[error("boot asset `{name}` is not in the store and `--offline` forbids downloading it")]
    OfflineAsset { name: String },
    #[error("hash mismatch for source `{name}`: expected {expected}, got {actual}")]
    HashMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("revision `{revision}` of source `{name}` was not found at {url}")]
    UnknownRevision {
        name: String,
        revision: String,
        url: String,
    },
    #[error("boot asset `{name}`: {message}")]
    Asset { name: String, message: String },
    #[error("Nix failed")]
    Nix {
        #[source]
        source: Box<hive_process::ProcessError>,
    },
    #[error("Nix failed {what}: {message}")]
    NixFailed { what: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("failed to access `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    /// `map_err` for an I/O error on `path`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + use<> {
        let path = path.to_owned();
        move |source| Self::Io { path, source }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Offline { name } => Some(format!(
                "give a local checkout with `--source {name}=PATH` (or `{}=PATH`), or run once with network",
                hive_plan::source_env_var(name)
            )),
            Self::Fetch { name, .. } => Some(format!(
                "without network, give a local checkout with `--source {name}=PATH` (or `{}=PATH`)",
                hive_plan::source_env_var(name)
            )),
            Self::OfflineAsset { .. } => {
                Some("run once with network: assets are kept in the store".into())
            }
            Self::HashMismatch { .. } => Some(
                "the upstream changed under its pin: check it, then `hivebuild lock --update`"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// How the engine runs steps; resolved by the CLI from flags and the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Steps run at once.
    pub jobs: usize,
    pub offline: bool,
    pub source_date_epoch: u64,
    /// `PATH` as steps see it.
    pub path: OsString,
    pub cargo_home: PathBuf,
    pub rustup_home: Option<PathBuf>,
    pub rustup_toolchain: Option<String>,
    /// The user's home folder: no output may contain its path.
    pub home: Option<PathBuf>,
    /// Build through Nix instead (`--engine nix`).
    pub nix: Option<nix::NixOptions>,
}

/// What happened to one step.
#[derive(Clone, Debug)]
pub struct StepResult {
    pub name: String,
    pub role: hive_plan::Role,
    pub store_name: String,
    pub path: PathBuf,
    pub nar_hash: String,
    /// Built in this run (false: found in the store).
    pub built: bool,
    pub duration: Duration,
}

#[derive(Clone, Debug)]
pub struct BuildReport {
    /// In plan order.
    pub steps: Vec<StepResult>,
    pub duration: Duration,
}

impl BuildReport {
    /// The output folder of the step playing `role` in this build.
    pub fn output(&self, role: &hive_plan::Role) -> Option<&Path> {
        self.steps
            .iter()
            .find(|s| s.role == *role)
            .map(|s| s.path.as_path())
    }

    /// Where an artefact of this build is (`None`: the plan has no such step).
    pub fn artefact(&self, artefact: &hive_plan::Artefact) -> Option<PathBuf> {
        self.output(&artefact.role)
            .map(|dir| dir.join(&artefact.file))
    }

    pub fn built(&self) -> usize {
        self.steps.iter().filter(|s| s.built).count()
    }

    /// The report of a build that started at `started`, reported as finished.
    pub(crate) fn finish(
        steps: Vec<StepResult>,
        started: Instant,
        reporter: &dyn Reporter,
    ) -> Self {
        let report = Self {
            steps,
            duration: started.elapsed(),
        };
        reporter.report(&Event::Finished {
            built: report.built(),
            cached: report.steps.len() - report.built(),
            duration: report.duration,
        });
        report
    }
}

/// Build every step of the plan that is not in the store yet.
pub fn build(
    plan: &Plan,
    store: &Store,
    settings: &Settings,
    reporter: &dyn Reporter,
) -> Result<BuildReport, EngineError> {
    if let Some(options) = &settings.nix {
        return nix::build(plan, store, settings, options, reporter);
    }
    let started = Instant::now();
    let mut cached: BTreeMap<String, StepResult> = BTreeMap::new();
    for step in &plan.steps {
        if let Some(entry) = store.lookup(&step.store_name) {
            cached.insert(
                step.name.clone(),
                result(step, &entry, false, Duration::ZERO),
            );
        }
    }
    reporter.report(&Event::Started {
        total: plan.steps.len(),
        to_build: plan.steps.len() - cached.len(),
    });
    for result in cached.values() {
        reporter.report(&Event::Cached {
            step: &result.name,
            path: &result.path,
        });
    }
    let results = if cached.len() == plan.steps.len() {
        cached
    } else {
        Scheduler::run(plan, store, settings, reporter, cached)?
    };
    let steps: Vec<StepResult> = plan
        .steps
        .iter()
        .map(|s| results[&s.name].clone())
        .collect();
    Ok(BuildReport::finish(steps, started, reporter))
}

fn result(step: &Step, entry: &hive_store::Entry, built: bool, duration: Duration) -> StepResult {
    StepResult {
        name: step.name.clone(),
        role: step.role.clone(),
        store_name: entry.name.clone(),
        path: entry.path.clone(),
        nar_hash: entry.record.nar_hash.clone(),
        built,
        duration,
    }
}

/// Runs ready steps on `jobs` threads; the first failure stops new steps from starting.
struct Scheduler<'a> {
    plan: &'a Plan,
    store: &'a Store,
    settings: &'a Settings,
    reporter: &'a dyn Reporter,
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    done: BTreeMap<String, StepResult>,
    started: BTreeSet<String>,
    error: Option<EngineError>,
}

impl<'a> Scheduler<'a> {
    fn run(
        plan: &'a Plan,
        store: &'a Store,
        settings: &'a Settings,
        reporter: &'a dyn Reporter,
        done: BTreeMap<String, StepResult>,
    ) -> Result<BTreeMap<String, StepResult>, EngineError> {
        let started = done.keys().cloned().collect();
        let scheduler = Scheduler {
            plan,
            store,
            settings,
            reporter,
            state: Mutex::new(State {
                done,
                started,
                error: None,
            }),
            wake: Condvar::new(),
        };
        std::thread::scope(|scope| {
            for _ in 0..settings.jobs.max(1) {
                scope.spawn(|| scheduler.worker());
            }
        });
        let state = scheduler.state.into_inner().expect("scheduler state");
        match state.error {
            Some(error) => Err(error),
            None => Ok(state.done),
        }
    }

    fn worker(&self) {
        loop {
            let (step, deps) = {
                let mut state = self.state.lock().expect("scheduler state");
                loop {
                    if state.error.is_some() || state.started.len() == self.plan.steps.len() {
                        return;
                    }
                    let ready = self.plan.steps.iter().find(|s| {
                        !state.started.contains(&s.name)
                            && s.deps.iter().all(|d| state.done.contains_key(d))
                    });
                    if let Some(step) = ready {
                        state.started.insert(step.name.clone());
                        let deps: BTreeMap<String, PathBuf> = step
                            .deps
                            .iter()
                            .map(|d| (d.clone(), state.done[d].path.clone()))
                            .collect();
                        break (step, deps);
                    }
                    state = self.wake.wait(state).expect("scheduler state");
                }
            };
            let outcome = build_step(step, &deps, self.store, self.settings, self.reporter);
            let mut state = self.state.lock().expect("scheduler state");
            match outcome {
                Ok(result) => {
                    state.done.insert(step.name.clone(), result);
                }
                Err(error) => {
                    self.reporter.report(&Event::Failed { step: &step.name });
                    state.error.get_or_insert(error);
                }
            }
            self.wake.notify_all();
        }
    }
}

/// Build one step into `store`, reading dependencies' outputs from `deps`.
fn build_step(
    step: &Step,
    deps: &BTreeMap<String, PathBuf>,
    store: &Store,
    settings: &Settings,
    reporter: &dyn Reporter,
) -> Result<StepResult, EngineError> {
    let started = Instant::now();
    let build = match store.begin(&step.store_name)? {
        Begin::Done(entry) => {
            reporter.report(&Event::Cached {
                step: &step.name,
                path: &entry.path,
            });
            return Ok(result(step, &entry, false, Duration::ZERO));
        }
        Begin::Build(build) => build,
    };
    reporter.report(&Event::Running {
        step: &step.name,
        kind: step.kind.label(),
    });
    let context = context::StepContext::prepare(
        step,
        settings,
        build.dir(),
        build.out(),
        store.cache_dir(),
        deps,
    )?;
    steps::run(&context)?;
    let normalise = normalise_for(settings, step, build.dir(), store.root());
    let entry = build.commit(&step.name, step.kind.label(), &step.key.hex(), &normalise)?;
    let duration = started.elapsed();
    reporter.report(&Event::Built {
        step: &step.name,
        path: &entry.path,
        duration,
    });
    Ok(result(step, &entry, true, duration))
}

/// How a step's output is normalised, and what it must not contain: the path of the folder
/// it was built in, the user's home, and (but in a fetched source, which is pinned by its
/// hash) the path of the store its inputs come from, hivebuild's or Nix's: an output that
/// names a store path would differ between engines and stores.
fn normalise_for(settings: &Settings, step: &Step, build_dir: &Path, store: &Path) -> Normalise {
    let mut forbidden = vec![(
        "build folder".to_owned(),
        build_dir.as_os_str().as_encoded_bytes().to_vec(),
    )];
    if !matches!(step.kind, StepKind::Fetch { .. } | StepKind::Asset { .. }) {
        forbidden.push((
            "store".to_owned(),
            format!("{}/", store.display()).into_bytes(),
        ));
    }
    if let Some(home) = settings
        .home
        .as_deref()
        .filter(|h| h.components().count() > 1)
    {
        forbidden.push((
            "home folder".to_owned(),
            format!("{}/", home.display()).into_bytes(),
        ));
    }
    Normalise {
        mtime: i64::try_from(settings.source_date_epoch).unwrap_or(0),
        forbidden,
    }
}

/// One step's `--check` verdict.
#[derive(Clone, Debug)]
pub struct CheckedStep {
    pub name: String,
    pub same: bool,
    /// Files (relative to the output) that differ, when not the same.
    pub differences: Vec<String>,
}

/// Rebuild every step into a scratch store, reading dependencies from `store`, and compare
/// each output's NAR hash with the stored one. Fetch steps are checked by their pinned hash
/// when fetched and are not fetched again.
pub fn check(
    plan: &Plan,
    store: &Store,
    settings: &Settings,
    reporter: &dyn Reporter,
) -> Result<Vec<CheckedStep>, EngineError> {
    if let Some(options) = &settings.nix {
        return nix::check(plan, store, settings, options, reporter);
    }
    let first = build(plan, store, settings, reporter)?;
    let scratch = tempfile::Builder::new()
        .prefix("hivebuild-check-")
        .tempdir()
        .map_err(|source| EngineError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let scratch_store = Store::open(scratch.path())?;
    let outputs: BTreeMap<String, PathBuf> = first
        .steps
        .iter()
        .map(|s| (s.name.clone(), s.path.clone()))
        .collect();
    let mut checked = Vec::new();
    for (step, original) in plan.steps.iter().zip(&first.steps) {
        if let StepKind::Fetch { .. } | StepKind::Asset { .. } = step.kind {
            continue;
        }
        let deps = step
            .deps
            .iter()
            .map(|d| (d.clone(), outputs[d].clone()))
            .collect();
        let again = build_step(step, &deps, &scratch_store, settings, reporter)?;
        let same = again.nar_hash == original.nar_hash;
        let differences = if same {
            Vec::new()
        } else {
            differing_files(&original.path, &again.path)
        };
        reporter.report(&Event::Checked {
            step: &step.name,
            same,
        });
        checked.push(CheckedStep {
            name: step.name.clone(),
            same,
            differences,
        });
    }
    Ok(checked)
}

/// Relative paths that are in one tree only, or differ in content or executable bit.
fn differing_files(a: &Path, b: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let files = |root: &Path| -> BTreeMap<String, (bool, Vec<u8>)> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .flatten()
            .filter(|e| !e.file_type().is_dir())
            .map(|e| {
                let relative = e
                    .path()
                    .strip_prefix(root)
                    .unwrap_or(e.path())
                    .to_string_lossy()
                    .into_owned();
                let executable = e
                    .metadata()
                    .is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
                let bytes = if e.file_type().is_symlink() {
                    std::fs::read_link(e.path())
                        .map(|t| t.into_os_string().into_encoded_bytes())
                        .unwrap_or_default()
                } else {
                    std::fs::read(e.path()).unwrap_or_default()
                };
                (relative, (executable, bytes))
            })
            .collect()
    };
    let (left, right) = (files(a), files(b));
    let names: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    names
        .into_iter()
        .filter(|n| left.get(*n) != right.get(*n))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn differing_files_names_changed_missing_and_mode_changed_files() {
        use std::os::unix::fs::PermissionsExt;
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [a.path(), b.path()] {
            fs::create_dir(dir.join("bin")).unwrap();
            fs::write(dir.join("same"), "x").unwrap();
            fs::write(dir.join("bin/tool"), "t").unwrap();
        }
        fs::write(a.path().join("changed"), "1").unwrap();
        fs::write(b.path().join("changed"), "2").unwrap();
        fs::write(a.path().join("only-a"), "").unwrap();
        fs::set_permissions(b.path().join("bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            differing_files(a.path(), b.path()),
            ["bin/tool", "changed", "only-a"]
        );
    }

    #[test]
    fn sources_are_copied_without_build_output_and_hidden_files() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        fs::create_dir_all(from.path().join("src")).unwrap();
        fs::create_dir_all(from.path().join("target/debug")).unwrap();
        fs::write(from.path().join("src/lib.rs"), "").unwrap();
        fs::write(from.path().join("target/debug/junk"), "").unwrap();
        fs::write(from.path().join(".git"), "").unwrap();
        std::os::unix::fs::symlink("src/lib.rs", from.path().join("link")).unwrap();
        let copy = to.path().join("copy");
        context::copy_tree(from.path(), &copy, true).unwrap();
        assert!(copy.join("src/lib.rs").is_file());
        assert!(!copy.join("target").exists());
        assert!(!copy.join(".git").exists());
        assert_eq!(
            fs::read_link(copy.join("link")).unwrap(),
            Path::new("src/lib.rs")
        );
        // Outputs of dependencies are copied whole.
        let all = to.path().join("all");
        context::copy_tree(from.path(), &all, false).unwrap();
        assert!(all.join("target/debug/junk").is_file() && all.join(".git").is_file());
    }
}
