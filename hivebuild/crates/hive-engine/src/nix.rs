//! The Nix engine (`--engine nix`): every step of the plan becomes a Nix derivation, and Nix
//! builds them, here or on its remote builders, with its binary caches.
//!
//! - The builder of every derivation is this hivebuild binary, added to the Nix store, running
//!   one step (`hivebuild step-exec`, [`crate::exec`]): the step logic is the native engine's.
//! - A local source folder enters the store as a content-addressed path (what
//!   `nix-store --add-fixed --recursive sha256` makes); a fetched source is a fixed-output
//!   derivation with the lock's NAR hash, its output imported from the native engine's fetch
//!   (so nothing is fetched twice and, offline, nothing at all). A boot asset is imported the
//!   same way, as a source.
//! - Each derivation carries the step's toolchain versions, and requires the system feature
//!   `hive-<hash of them>`: a builder without the same tools never gets the job.
//! - `.drv` files are written by [`hive_nix`] and imported with their references as an export
//!   stream; `nix-store --realise` builds what is missing.
//! - Every Nix setting hivebuild needs is passed as `--option`: a user's `nix.conf` needs no
//!   edit. Sandbox paths let the host's tools in (`/bin /usr /lib /lib64 /etc/alternatives`,
//!   `CARGO_HOME`, rustup's home, and the folder of any tool found elsewhere).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hive_nix::{Derivation, DerivationSet, ExportedPath, Planned};
use hive_plan::{Plan, SourceInput, Step, StepKind};
use hive_process::ProcessBuilder;
use hive_store::Store;
use serde::{Deserialize, Serialize};

use crate::exec::{EXEC_FORMAT, ExecSpec};
use crate::{BuildReport, EngineError, Event, Reporter, Settings, StepResult};

/// How to reach Nix: the store, builders and caches (`--nix-store`, `--builders`,
/// `--max-jobs`, `--cache`).
#[derive(Clone, Debug, Default)]
pub struct NixOptions {
    /// A store URI (`local?root=DIR`, `ssh-ng://host`, `daemon`) or the folder of a chroot
    /// store; `None`: Nix's default store.
    pub store: Option<String>,
    /// Remote builders: a machines line, or `@FILE` (Nix's `builders`).
    pub builders: Option<String>,
    /// Steps Nix builds at once on this machine (`0`: only on remote builders).
    pub max_jobs: Option<usize>,
    /// Binary caches to read from, and the public keys their signatures must match.
    pub substituters: Vec<String>,
    pub trusted_public_keys: Vec<String>,
    /// The hivebuild that runs steps (default: this program).
    pub exe: Option<PathBuf>,
}

impl NixOptions {
    /// Where this store's `/nix/store` is on this machine: inside a chroot store's root.
    pub fn real_store_dir(&self) -> PathBuf {
        let store_dir = PathBuf::from(hive_nix::STORE_DIR);
        let Some(store) = &self.store else {
            return store_dir;
        };
        let root = if store.starts_with('/') && !store.contains('?') {
            Some(store.as_str())
        } else {
            store
                .strip_prefix("local?")
                .and_then(|query| query.split('&').find_map(|kv| kv.strip_prefix("root=")))
        };
        root.map_or(store_dir, |root| {
            Path::new(root).join(hive_nix::STORE_DIR.trim_start_matches('/'))
        })
    }

    /// A Nix command on this store with hivebuild's settings.
    pub fn command(&self, program: &str) -> ProcessBuilder {
        let mut command = ProcessBuilder::new(program);
        if let Some(store) = &self.store {
            command = command.arg("--store").arg(store);
        }
        // Root without Nix's build users (a single-user install) builds as itself.
        if is_root() && !group_exists("nixbld") {
            command = command.args(["--option", "build-users-group", ""]);
        }
        command
            .args(["--option", "substituters"])
            .arg(self.substituters.join(" "))
            .args(["--option", "extra-trusted-public-keys"])
            .arg(self.trusted_public_keys.join(" "))
    }
}

/// A step's derivation and where its output is.
struct StepDrv {
    planned: Planned,
    /// Fetch and asset steps: outputs imported from the native engine, never built by Nix.
    imported: bool,
}

/// What a machine needs in its `nix.conf` to build some steps: the host folders let into the
/// sandbox (the tools, `CARGO_HOME`, rustup's home) and the system features naming the steps'
/// toolchains. hivebuild passes them as `--option`s here; a remote builder reads its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuilderNeeds {
    pub sandbox_paths: Vec<String>,
    pub system_features: Vec<String>,
}

impl BuilderNeeds {
    /// The lines to add to a builder's `nix.conf`.
    pub fn nix_conf(&self) -> String {
        format!(
            "extra-sandbox-paths = {}\nextra-system-features = {}\n",
            self.sandbox_paths.join(" "),
            self.system_features.join(" ")
        )
    }
}

/// What the derivations of a plan depend on besides its steps, as `lib.mkHive` takes them
/// (`hivebuild --json builder-conf` prints them under `settings`).
pub fn derivation_settings(settings: &Settings, root: &Path) -> serde_json::Value {
    serde_json::json!({
        "root": root,
        "system": system(),
        "source-date-epoch": settings.source_date_epoch,
        "cargo-home": settings.cargo_home,
        "rustup-home": settings.rustup_home,
        "rustup-toolchain": settings.rustup_toolchain,
        "home": settings.home,
    })
}

/// What building `steps` needs of a machine, with these settings.
pub fn builder_needs<'a>(
    steps: impl IntoIterator<Item = &'a Step>,
    settings: &Settings,
) -> BuilderNeeds {
    let mut paths: BTreeSet<String> = ["/bin", "/usr", "/lib", "/lib64", "/etc/alternatives"]
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .map(str::to_owned)
        .collect();
    for root in [Some(&settings.cargo_home), settings.rustup_home.as_ref()]
        .into_iter()
        .flatten()
    {
        if root.is_dir() {
            paths.insert(root.display().to_string());
        }
    }
    let mut features = BTreeSet::new();
    for step in steps {
        for program in step.programs.values() {
            if let Some(dir) = program.parent()
                && !["/bin", "/usr", "/lib"]
                    .iter()
                    .any(|p| program.starts_with(p))
            {
                paths.insert(dir.display().to_string());
            }
        }
        if !step.toolchain.is_empty() {
            features.insert(toolchain_feature(step));
        }
    }
    // A folder inside another one let in is in already.
    let nested: Vec<String> = paths
        .iter()
        .filter(|p| {
            paths
                .iter()
                .any(|outer| outer != *p && Path::new(p).starts_with(outer))
        })
        .cloned()
        .collect();
    for path in nested {
        paths.remove(&path);
    }
    BuilderNeeds {
        sandbox_paths: paths.into_iter().collect(),
        system_features: features.into_iter().collect(),
    }
}

/// Build every step of `plan` with Nix. `store` (hivebuild's own) keeps the engine's caches
/// and the outputs of fetch and asset steps, which it imports.
pub fn build(
    plan: &Plan,
    store: &Store,
    settings: &Settings,
    options: &NixOptions,
    reporter: &dyn Reporter,
) -> Result<BuildReport, EngineError> {
    let mut nix = Session::open(store, settings, options)?;
    let (report, _) = nix.build(plan, store, reporter)?;
    Ok(report)
}

/// Copy the outputs of a Nix build to a binary cache (`file:///DIR`, `s3://BUCKET`, ...),
/// signed with the Nix secret key in `secret_key`; the number of paths copied.
pub fn push(
    options: &NixOptions,
    report: &BuildReport,
    url: &str,
    secret_key: &Path,
) -> Result<usize, EngineError> {
    let separator = if url.contains('?') { '&' } else { '?' };
    let to = format!("{url}{separator}secret-key={}", secret_key.display());
    let paths: Vec<String> = report
        .steps
        .iter()
        .map(|s| format!("{}/{}", hive_nix::STORE_DIR, s.store_name))
        .collect();
    let command = options
        .command("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "copy",
            "--to",
        ])
        .arg(to)
        .args(&paths);
    command.output().map_err(|source| EngineError::Nix {
        source: Box::new(source),
    })?;
    Ok(paths.len())
}

/// `build --check` through Nix: build, then have Nix build every step again and compare
/// (`nix-store --realise --check`). Fetch and asset steps are checked by their fixed hash.
pub fn check(
    plan: &Plan,
    store: &Store,
    settings: &Settings,
    options: &NixOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<crate::CheckedStep>, EngineError> {
    let mut nix = Session::open(store, settings, options)?;
    let (_, drvs) = nix.build(plan, store, reporter)?;
    let steps: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| !drvs[&s.name].imported)
        .collect();
    let differing = nix.check(&steps, &drvs)?;
    Ok(steps
        .iter()
        .map(|step| {
            let same = !differing.contains(&step.name);
            reporter.report(&Event::Checked {
                step: &step.name,
                same,
            });
            let differences = if same {
                Vec::new()
            } else {
                // Nix keeps the second build beside the first (`--keep-failed`).
                let out = nix.real(&drvs[&step.name].planned.out_path);
                let mut again = out.clone().into_os_string();
                again.push(".check");
                crate::differing_files(&out, Path::new(&again))
            };
            crate::CheckedStep {
                name: step.name.clone(),
                same,
                differences,
            }
        })
        .collect())
}

/// The Nix system of this machine (`x86_64-linux`): every derivation's `system`.
pub fn system() -> String {
    format!("{}-linux", std::env::consts::ARCH)
}

/// The part of a store path after the store folder: `<hash>-<name>`.
fn base_name(store_path: &str) -> &str {
    store_path
        .strip_prefix(hive_nix::STORE_DIR)
        .map_or(store_path, |rest| rest.trim_start_matches('/'))
}

/// One build's dealings with Nix.
struct Session<'a> {
    settings: &'a Settings,
    options: &'a NixOptions,
    real_store_dir: PathBuf,
    /// What hivebuild remembers between runs (NAR hashes of sources and of itself).
    memo: Memo,
    memo_path: PathBuf,
    /// Whether `memo` learnt something this run (a no-op build writes nothing).
    memo_changed: bool,
    /// Nix's output while building, kept for the user.
    log: PathBuf,
    system: String,
}

impl<'a> Session<'a> {
    fn open(
        store: &Store,
        settings: &'a Settings,
        options: &'a NixOptions,
    ) -> Result<Self, EngineError> {
        let memo_path = store.cache_dir().join("nix-memo-v1.json");
        let memo = std::fs::read(&memo_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let logs = store.cache_dir().join("logs");
        std::fs::create_dir_all(&logs).map_err(EngineError::io(&logs))?;
        Ok(Self {
            settings,
            options,
            real_store_dir: options.real_store_dir(),
            memo,
            memo_path,
            log: logs.join("nix-build.log"),
            system: system(),
            memo_changed: false,
        })
    }

    fn real(&self, store_path: &str) -> PathBuf {
        self.real_store_dir.join(base_name(store_path))
    }

    /// Write the plan's derivations, realise what is missing, and report: the build's report
    /// and the derivations, by step name.
    fn build(
        &mut self,
        plan: &Plan,
        store: &Store,
        reporter: &dyn Reporter,
    ) -> Result<(BuildReport, BTreeMap<String, StepDrv>), EngineError> {
        let started = Instant::now();
        let drvs = self.derivations(plan, store, reporter)?;
        // In plan order: the report's steps and their NAR hashes follow it.
        let outputs: Vec<&str> = plan
            .steps
            .iter()
            .map(|s| drvs[&s.name].planned.out_path.as_str())
            .collect();
        let missing = self.invalid(&outputs)?;
        let to_build: Vec<&Step> = plan
            .steps
            .iter()
            .filter(|s| missing.contains(&drvs[&s.name].planned.out_path))
            .collect();
        reporter.report(&Event::Started {
            total: plan.steps.len(),
            to_build: to_build.len(),
        });
        for (step, out) in plan.steps.iter().zip(&outputs) {
            if !missing.contains(*out) {
                reporter.report(&Event::Cached {
                    step: &step.name,
                    path: &self.real(out),
                });
            }
        }
        let realised = if to_build.is_empty() {
            Realised::default()
        } else {
            self.realise(&to_build, &drvs, reporter)?
        };
        self.keep(&outputs, store)?;
        let hashes = self.nar_hashes(&outputs)?;
        let steps: Vec<StepResult> = plan
            .steps
            .iter()
            .zip(outputs.iter().zip(hashes))
            .map(|(step, (out, nar_hash))| StepResult {
                name: step.name.clone(),
                role: step.role.clone(),
                store_name: base_name(out).to_owned(),
                path: self.real(out),
                nar_hash,
                built: missing.contains(*out) && !realised.substituted.contains(&step.name),
                duration: realised
                    .durations
                    .get(&step.name)
                    .copied()
                    .unwrap_or_default(),
            })
            .collect();
        let report = BuildReport::finish(steps, started, reporter);
        Ok((report, drvs))
    }

    fn nix(&self, program: &str) -> ProcessBuilder {
        self.options.command(program)
    }

    fn run(command: &ProcessBuilder) -> Result<String, EngineError> {
        let output = command.output().map_err(|source| EngineError::Nix {
            source: Box::new(source),
        })?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The paths of `paths` that are not in the store.
    fn invalid(&self, paths: &[&str]) -> Result<BTreeSet<String>, EngineError> {
        if paths.is_empty() {
            return Ok(BTreeSet::new());
        }
        let stdout = Self::run(
            &self
                .nix("nix-store")
                .args(["--check-validity", "--print-invalid"])
                .args(paths),
        )?;
        Ok(stdout.lines().map(str::to_owned).collect())
    }

    /// Every step's derivation, written into the store with what it reads.
    fn derivations(
        &mut self,
        plan: &Plan,
        store: &Store,
        reporter: &dyn Reporter,
    ) -> Result<BTreeMap<String, StepDrv>, EngineError> {
        let scratch = tempfile::Builder::new()
            .prefix("hivebuild-nix-")
            .tempdir()
            .map_err(EngineError::io(&std::env::temp_dir()))?;
        let mut imports = Imports::default();
        let exe = self.program(&mut imports)?;
        let fetched = self.fetched_outputs(plan, store, reporter)?;

        let mut set = DerivationSet::new();
        let mut drvs: BTreeMap<String, StepDrv> = BTreeMap::new();
        for step in &plan.steps {
            let mut exec_step = step.clone();
            let mut input_srcs = BTreeSet::from([exe.clone()]);
            for (name, input) in &mut exec_step.sources {
                if let SourceInput::Path { path, hash } = input {
                    let store_path =
                        self.source(scratch.path(), name, path, &hash.hex(), &mut imports)?;
                    *path = PathBuf::from(&store_path);
                    input_srcs.insert(store_path);
                }
            }
            let mut deps = BTreeMap::new();
            let mut input_drvs = BTreeSet::new();
            for dep in &step.deps {
                let drv = drvs.get(dep).ok_or_else(|| EngineError::StepFailed {
                    step: step.name.clone(),
                    message: format!("the plan lists step `{dep}` after the steps that read it"),
                })?;
                deps.insert(dep.clone(), PathBuf::from(&drv.planned.out_path));
                input_drvs.insert(drv.planned.drv_path.clone());
            }
            let fetch = matches!(step.kind, StepKind::Fetch { .. } | StepKind::Asset { .. });
            let spec = ExecSpec {
                format: EXEC_FORMAT,
                step: exec_step,
                deps,
                source_date_epoch: self.settings.source_date_epoch,
                path: step_path(step),
                cargo_home: self.settings.cargo_home.clone(),
                rustup_home: self.settings.rustup_home.clone(),
                rustup_toolchain: self.settings.rustup_toolchain.clone(),
                home: self.settings.home.clone(),
                offline: !fetch,
            };
            let mut env = BTreeMap::from([
                // Canonical JSON (keys sorted), as Nix's `builtins.toJSON` writes it.
                (
                    "hiveStepExec".to_owned(),
                    serde_json::to_value(&spec)
                        .expect("specs serialise")
                        .to_string(),
                ),
                ("passAsFile".to_owned(), "hiveStepExec".to_owned()),
            ]);
            if !step.toolchain.is_empty() {
                env.insert("requiredSystemFeatures".to_owned(), toolchain_feature(step));
            }
            let fixed = fetched.get(&step.name).map(|(_, nar)| *nar);
            let planned = set
                .add(&Derivation {
                    name: step.name.clone(),
                    system: self.system.clone(),
                    builder: exe.clone(),
                    args: vec!["step-exec".to_owned()],
                    env,
                    input_drvs,
                    input_srcs,
                    fixed,
                })
                .map_err(|error| EngineError::StepFailed {
                    step: step.name.clone(),
                    message: error.to_string(),
                })?;
            if let Some((entry, _)) = fetched.get(&step.name) {
                // The native engine's output, imported as this fixed output.
                imports.add(
                    planned.out_path.clone(),
                    step.name.clone(),
                    entry.clone(),
                    false,
                );
            }
            drvs.insert(
                step.name.clone(),
                StepDrv {
                    planned,
                    imported: fetch,
                },
            );
        }
        imports.run(self, scratch.path())?;
        self.save_memo();
        self.write_drvs(plan, &drvs)?;
        Ok(drvs)
    }

    /// This hivebuild, in the store: the builder of every derivation.
    fn program(&mut self, imports: &mut Imports) -> Result<String, EngineError> {
        use std::os::unix::fs::MetadataExt as _;
        let exe = match &self.options.exe {
            Some(exe) => exe.clone(),
            None => {
                std::env::current_exe().map_err(EngineError::io(Path::new("/proc/self/exe")))?
            }
        };
        let meta = std::fs::metadata(&exe).map_err(EngineError::io(&exe))?;
        let id = format!(
            "{}:{}:{}.{}:{}",
            exe.display(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ino()
        );
        let remembered = self
            .memo
            .programs
            .get(&id)
            .and_then(|h| hive_plan::Digest::from_hex(h));
        let nar = if let Some(nar) = remembered {
            nar.0
        } else {
            let nar = nar_sha256(&exe)?;
            // Only the binary in use is remembered: the map never grows.
            self.memo.programs = BTreeMap::from([(id, hex(&nar))]);
            self.memo_changed = true;
            nar
        };
        let path = hive_nix::fixed_source_path(&nar, "hivebuild");
        imports.add(path.clone(), "hivebuild".into(), exe, false);
        Ok(path)
    }

    /// A local source folder's store path (its filtered copy, as the native engine copies it).
    fn source(
        &mut self,
        scratch: &Path,
        name: &str,
        folder: &Path,
        content_hash: &str,
        imports: &mut Imports,
    ) -> Result<String, EngineError> {
        let store_name = format!("source-{name}");
        let remembered = self
            .memo
            .sources
            .get(content_hash)
            .and_then(|h| hive_plan::Digest::from_hex(h));
        if let Some(nar) = remembered {
            let path = hive_nix::fixed_source_path(&nar.0, &store_name);
            imports.add(path.clone(), store_name, folder.to_owned(), true);
            return Ok(path);
        }
        let copy = scratch.join("sources").join(&store_name);
        crate::context::copy_tree(folder, &copy, true).map_err(EngineError::io(folder))?;
        let nar = nar_sha256(&copy)?;
        self.memo.sources.insert(content_hash.to_owned(), hex(&nar));
        self.memo_changed = true;
        let path = hive_nix::fixed_source_path(&nar, &store_name);
        imports.add(path.clone(), store_name, copy, false);
        Ok(path)
    }

    /// Fetch and asset steps run in the native engine (which keeps their outputs and, for
    /// fetches, checks the lock's hash); their outputs become fixed outputs in Nix.
    fn fetched_outputs(
        &self,
        plan: &Plan,
        store: &Store,
        reporter: &dyn Reporter,
    ) -> Result<BTreeMap<String, (PathBuf, [u8; 32])>, EngineError> {
        let steps: Vec<Step> = plan
            .steps
            .iter()
            .filter(|s| matches!(s.kind, StepKind::Fetch { .. } | StepKind::Asset { .. }))
            .cloned()
            .collect();
        if steps.is_empty() {
            return Ok(BTreeMap::new());
        }
        let fetch_plan = Plan {
            steps,
            ..plan.clone()
        };
        let native = Settings {
            nix: None,
            ..self.settings.clone()
        };
        let report = crate::build(&fetch_plan, store, &native, reporter)?;
        report
            .steps
            .into_iter()
            .map(|s| {
                let nar = hive_plan::Digest::parse_nix_sri(&s.nar_hash).ok_or_else(|| {
                    EngineError::StepFailed {
                        step: s.name.clone(),
                        message: format!("`{}` is not a NAR hash", s.nar_hash),
                    }
                })?;
                Ok((s.name, (s.path, nar.0)))
            })
            .collect()
    }

    /// Import the `.drv` files the store lacks, with their references.
    fn write_drvs(&self, plan: &Plan, drvs: &BTreeMap<String, StepDrv>) -> Result<(), EngineError> {
        let paths: Vec<&str> = plan
            .steps
            .iter()
            .map(|s| drvs[&s.name].planned.drv_path.as_str())
            .collect();
        let missing = self.invalid(&paths)?;
        let exported: Vec<ExportedPath<'_>> = plan
            .steps
            .iter()
            .map(|s| &drvs[&s.name].planned)
            .filter(|p| missing.contains(&p.drv_path))
            .map(|p| ExportedPath {
                path: &p.drv_path,
                contents: p.aterm.as_bytes(),
                references: p.references.iter().map(String::as_str).collect(),
            })
            .collect();
        if exported.is_empty() {
            return Ok(());
        }
        let stream = hive_nix::export_stream(&exported);
        let command = self.nix("nix-store").arg("--import");
        let mut child = command
            .spawn_piped()
            .map_err(|source| spawn_failed(&command, source))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || stdin.write_all(&stream));
        let output = child
            .wait_with_output()
            .map_err(EngineError::io(Path::new("nix-store")))?;
        let _ = writer.join();
        if !output.status.success() {
            return Err(EngineError::NixFailed {
                what: "importing the derivations".into(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(())
    }

    /// `--option`s of a build: the sandbox's host paths and this machine's system features.
    fn build_options(&self, steps: &[&Step]) -> Vec<String> {
        let needs = builder_needs(steps.iter().copied(), self.settings);
        let mut options = vec![
            "--option".to_owned(),
            "extra-sandbox-paths".to_owned(),
            needs.sandbox_paths.join(" "),
            "--option".to_owned(),
            "extra-system-features".to_owned(),
            needs.system_features.join(" "),
        ];
        if let Some(builders) = &self.options.builders {
            options.extend(["--option".into(), "builders".into(), builders.clone()]);
        }
        let jobs = self.options.max_jobs.unwrap_or(self.settings.jobs);
        options.extend(["--max-jobs".into(), jobs.to_string()]);
        options
    }

    /// Build the derivations of `steps`, reporting each as Nix starts and finishes it.
    fn realise(
        &self,
        steps: &[&Step],
        drvs: &BTreeMap<String, StepDrv>,
        reporter: &dyn Reporter,
    ) -> Result<Realised, EngineError> {
        let by_drv: BTreeMap<&str, &Step> = steps
            .iter()
            .map(|s| (drvs[&s.name].planned.drv_path.as_str(), *s))
            .collect();
        let command = self
            .nix("nix-store")
            .args(self.build_options(steps))
            .args(["--log-format", "internal-json", "--realise"])
            .args(by_drv.keys());
        let mut log = std::fs::File::create(&self.log).map_err(EngineError::io(&self.log))?;
        let _ = writeln!(log, "$ {}", command.display());
        let mut child = command
            .spawn_piped()
            .map_err(|source| spawn_failed(&command, source))?;
        drop(child.stdin.take());
        let stdout = child.stdout.take().expect("stdout is piped");
        let drain = std::thread::spawn(move || std::io::read_to_string(stdout));
        let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut progress = Progress::default();
        for line in std::io::BufRead::lines(stderr) {
            let Ok(line) = line else { break };
            let _ = writeln!(log, "{line}");
            progress.line(&line, &by_drv, drvs, self, reporter);
        }
        let status = child
            .wait()
            .map_err(EngineError::io(Path::new("nix-store")))?;
        let _ = drain.join();
        if status.success() {
            // A remote build's log does not reach us line by line: what was not reported
            // done is done now.
            for (_, (step, started)) in std::mem::take(&mut progress.running) {
                progress.durations.insert(step, started.elapsed());
            }
            for step in steps {
                if !progress.substituted.contains(&step.name)
                    && !progress.reported.contains(&step.name)
                {
                    reporter.report(&Event::Built {
                        step: &step.name,
                        path: &self.real(&drvs[&step.name].planned.out_path),
                        duration: progress
                            .durations
                            .get(&step.name)
                            .copied()
                            .unwrap_or_default(),
                    });
                }
            }
            return Ok(Realised {
                durations: progress.durations,
                substituted: progress.substituted,
            });
        }
        let message = if progress.errors.is_empty() {
            format!("nix-store exited with {status}")
        } else {
            progress.errors.join("\n")
        };
        match progress.failed {
            Some(step) => {
                reporter.report(&Event::Failed { step: &step });
                Err(EngineError::StepFailed { step, message })
            }
            None => Err(EngineError::NixFailed {
                what: "building".into(),
                message,
            }),
        }
    }

    /// Build `steps` again and compare with their outputs; the names of those that differ.
    fn check(
        &self,
        steps: &[&Step],
        drvs: &BTreeMap<String, StepDrv>,
    ) -> Result<BTreeSet<String>, EngineError> {
        let command = self
            .nix("nix-store")
            .args(self.build_options(steps))
            .args(["--realise", "--check", "--keep-going", "--keep-failed"])
            .args(steps.iter().map(|s| &drvs[&s.name].planned.drv_path));
        let output = command.output();
        let text = match &output {
            Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
            Err(error) => error.tail().unwrap_or_default().to_owned(),
        };
        let differing: BTreeSet<String> = text
            .lines()
            .filter(|line| line.contains("may not be deterministic"))
            .filter_map(|line| {
                steps
                    .iter()
                    .find(|s| line.contains(&drvs[&s.name].planned.drv_path))
                    .map(|s| s.name.clone())
            })
            .collect();
        match output {
            Ok(_) => Ok(differing),
            Err(_) if !differing.is_empty() => Ok(differing),
            Err(source) => Err(EngineError::Nix {
                source: Box::new(source),
            }),
        }
    }

    /// Make every output a Nix GC root (an indirect root: a symlink in hivebuild's store
    /// cache, one folder per Nix store), so that `nix-collect-garbage` keeps what the last
    /// build used, as `hivebuild store gc` does. A root in place already costs nothing.
    fn keep(&self, outputs: &[&str], store: &Store) -> Result<(), EngineError> {
        let store_id = self.options.store.as_deref().unwrap_or("default");
        let roots = store
            .cache_dir()
            .join("nix-roots")
            .join(&hive_plan::Digest::of(store_id.as_bytes()).hex()[..16]);
        std::fs::create_dir_all(&roots).map_err(EngineError::io(&roots))?;
        for out in outputs {
            let link = roots.join(base_name(out));
            if link.symlink_metadata().is_ok() {
                continue;
            }
            Self::run(&self.nix("nix-store").arg("--add-root").arg(&link).args([
                "--indirect",
                "--realise",
                out,
            ]))?;
        }
        Ok(())
    }

    /// The NAR hash of each of `paths`, in order.
    fn nar_hashes(&self, paths: &[&str]) -> Result<Vec<String>, EngineError> {
        let stdout = Self::run(
            &self
                .nix("nix-store")
                .args(["--query", "--hash"])
                .args(paths),
        )?;
        let hashes: Vec<String> = stdout.lines().map(str::to_owned).collect();
        if hashes.len() != paths.len() {
            return Err(EngineError::NixFailed {
                what: "reading NAR hashes".into(),
                message: format!("{} hashes for {} paths", hashes.len(), paths.len()),
            });
        }
        Ok(hashes)
    }

    fn save_memo(&self) {
        if !self.memo_changed {
            return;
        }
        if let Ok(bytes) = serde_json::to_vec_pretty(&self.memo) {
            let _ = hive_store::write_atomic(&self.memo_path, &bytes);
        }
    }
}

/// What a `nix-store --realise` did: how long each step it built took, and which steps it
/// took from a binary cache instead.
#[derive(Default)]
struct Realised {
    durations: BTreeMap<String, Duration>,
    substituted: BTreeSet<String>,
}

/// Paths to add to the store if it lacks them: store path → (name, folder, filtered?).
#[derive(Default)]
struct Imports(BTreeMap<String, (String, PathBuf, bool)>);

impl Imports {
    fn add(&mut self, path: String, name: String, from: PathBuf, filtered: bool) {
        self.0.insert(path, (name, from, filtered));
    }

    /// Add what the store lacks (`nix-store --add-fixed --recursive sha256`, from a copy named
    /// as the store path is), checking each lands at the path computed for it.
    fn run(self, nix: &Session<'_>, scratch: &Path) -> Result<(), EngineError> {
        let paths: Vec<&str> = self.0.keys().map(String::as_str).collect();
        let missing = nix.invalid(&paths)?;
        if missing.is_empty() {
            return Ok(());
        }
        let dir = scratch.join("add");
        let mut copies = Vec::new();
        for path in &missing {
            let (name, from, filtered) = &self.0[path];
            let copy = dir.join(base_name(path)).join(name);
            std::fs::create_dir_all(copy.parent().expect("has a parent"))
                .map_err(EngineError::io(&copy))?;
            crate::context::copy_tree(from, &copy, *filtered).map_err(EngineError::io(from))?;
            copies.push((path, copy));
        }
        let stdout = Session::run(
            &nix.nix("nix-store")
                .args(["--add-fixed", "--recursive", "sha256"])
                .args(copies.iter().map(|(_, copy)| copy)),
        )?;
        let added: Vec<&str> = stdout.lines().collect();
        for ((expected, copy), added) in copies.iter().zip(&added) {
            if expected.as_str() != *added {
                return Err(EngineError::NixFailed {
                    what: format!("adding `{}`", copy.display()),
                    message: format!("it landed at `{added}`, not at `{expected}`"),
                });
            }
        }
        Ok(())
    }
}

/// What Nix's `internal-json` log says while building.
#[derive(Default)]
struct Progress {
    /// Activity id → the step it builds and when it started.
    running: BTreeMap<u64, (String, Instant)>,
    durations: BTreeMap<String, Duration>,
    /// Steps whose `Built` event was reported.
    reported: BTreeSet<String>,
    /// Steps whose output came from a binary cache.
    substituted: BTreeSet<String>,
    errors: Vec<String>,
    failed: Option<String>,
}

/// Nix's activity type of one derivation's build (`actBuild`).
const ACT_BUILD: u64 = 105;
/// Nix's activity type of one path taken from a substituter (`actSubstitute`).
const ACT_SUBSTITUTE: u64 = 108;
/// Nix's result type of a line of a build's log (`resBuildLogLine`).
const RES_BUILD_LOG_LINE: u64 = 101;

impl Progress {
    fn line(
        &mut self,
        line: &str,
        by_drv: &BTreeMap<&str, &Step>,
        drvs: &BTreeMap<String, StepDrv>,
        nix: &Session<'_>,
        reporter: &dyn Reporter,
    ) {
        let Some(json) = line.strip_prefix("@nix ") else {
            return;
        };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(json) else {
            return;
        };
        let id = event["id"].as_u64().unwrap_or(0);
        match event["action"].as_str() {
            Some("start") if event["type"].as_u64() == Some(ACT_BUILD) => {
                let drv = event["fields"][0].as_str().unwrap_or_default();
                // A build handed to a remote builder may start twice (tried, postponed).
                if let Some(step) = by_drv.get(drv)
                    && !self.running.values().any(|(name, _)| *name == step.name)
                {
                    reporter.report(&Event::Running {
                        step: &step.name,
                        kind: step.kind.label(),
                    });
                    self.running.insert(id, (step.name.clone(), Instant::now()));
                }
            }
            Some("start") if event["type"].as_u64() == Some(ACT_SUBSTITUTE) => {
                let path = event["fields"][0].as_str().unwrap_or_default();
                let cache = event["fields"][1].as_str().unwrap_or_default();
                let found = by_drv
                    .values()
                    .find(|step| drvs[&step.name].planned.out_path == path);
                if let Some(step) = found
                    && self.substituted.insert(step.name.clone())
                {
                    reporter.report(&Event::Substituted {
                        step: &step.name,
                        path: &nix.real(path),
                        cache,
                    });
                }
            }
            // Nix keeps a build's activity open until the whole run ends; the builder's
            // last log line says when its step is done.
            Some("result") if event["type"].as_u64() == Some(RES_BUILD_LOG_LINE) => {
                let text = event["fields"][0].as_str().unwrap_or_default();
                if text.starts_with(crate::exec::DONE_MARKER)
                    && let Some((step, started)) = self.running.remove(&id)
                {
                    let path = nix.real(&drvs[&step].planned.out_path);
                    let duration = started.elapsed();
                    reporter.report(&Event::Built {
                        step: &step,
                        path: &path,
                        duration,
                    });
                    self.reported.insert(step.clone());
                    self.durations.insert(step, duration);
                }
            }
            Some("msg") if event["level"].as_u64() == Some(0) => {
                let message = event["msg"].as_str().unwrap_or_default();
                let message = strip_ansi(message);
                if self.failed.is_none() {
                    self.failed = by_drv
                        .iter()
                        .find(|(drv, _)| message.contains(*drv))
                        .map(|(_, step)| step.name.clone());
                }
                self.errors.push(message);
            }
            _ => {}
        }
    }
}

/// A Nix program that could not be started.
fn spawn_failed(command: &ProcessBuilder, source: std::io::Error) -> EngineError {
    EngineError::Nix {
        source: Box::new(hive_process::ProcessError::Spawn {
            command: command.display(),
            source,
        }),
    }
}

/// Nix colours its messages even in JSON.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `PATH` for a step: the folders of its tools, then the system's.
fn step_path(step: &Step) -> String {
    let mut dirs: Vec<String> = Vec::new();
    for program in step.programs.values() {
        if let Some(dir) = program.parent().map(|d| d.display().to_string())
            && !dirs.contains(&dir)
        {
            dirs.push(dir);
        }
    }
    for dir in ["/usr/local/bin", "/usr/bin", "/bin"] {
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_owned());
        }
    }
    dirs.join(":")
}

/// The system feature a builder must offer to build `step`: its toolchain's identity, the
/// first 16 hex digits of the sha256 of its versions' canonical JSON (what `lib.mkHive`
/// computes with `builtins.hashString` in Nix).
pub fn toolchain_feature(step: &Step) -> String {
    let versions = serde_json::to_value(&step.toolchain).expect("versions serialise");
    let digest = hive_plan::Digest::of_canonical(&versions);
    format!("hive-toolchain-{}", &digest.hex()[..16])
}

fn nar_sha256(path: &Path) -> Result<[u8; 32], EngineError> {
    let nar = hive_store::nar_hash(path).map_err(EngineError::io(path))?;
    hive_plan::Digest::parse_nix_sri(&nar.hash)
        .map(|d| d.0)
        .ok_or_else(|| EngineError::io(path)(std::io::Error::other("not a NAR hash")))
}

fn hex(bytes: &[u8; 32]) -> String {
    hive_plan::Digest(*bytes).hex()
}

/// NAR hashes hivebuild computed before, so that a no-op build hashes nothing big: a local
/// source's by its content hash, this program's by its file's identity.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Memo {
    /// Source content hash (hex) → NAR sha256 (hex) of its filtered copy.
    sources: BTreeMap<String, String>,
    /// `path:size:mtime:inode` of the hivebuild binary → its NAR sha256 (hex).
    programs: BTreeMap<String, String>,
}

/// Whether this process runs as root (`/proc/self` is owned by the process's user).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt as _;
        m.uid() == 0
    })
}

fn group_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/group").is_ok_and(|groups| {
        groups
            .lines()
            .any(|line| line.split(':').next() == Some(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chroot_store_is_found_from_its_folder_or_its_uri() {
        let with = |store: Option<&str>| NixOptions {
            store: store.map(str::to_owned),
            ..NixOptions::default()
        };
        assert_eq!(with(None).real_store_dir(), Path::new("/nix/store"));
        assert_eq!(
            with(Some("/tmp/n")).real_store_dir(),
            Path::new("/tmp/n/nix/store")
        );
        assert_eq!(
            with(Some("local?root=/tmp/r&state=/x")).real_store_dir(),
            Path::new("/tmp/r/nix/store")
        );
        assert_eq!(
            with(Some("daemon")).real_store_dir(),
            Path::new("/nix/store")
        );
    }

    #[test]
    fn nix_colours_are_taken_out_of_messages() {
        assert_eq!(
            strip_ansi("\u{1b}[31;1merror:\u{1b}[0m builder failed"),
            "error: builder failed"
        );
    }
}
