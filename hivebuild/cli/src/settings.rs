//! Settings: global flags and environment variables (`hive_ops::env`) merged in one place,
//! and the [`Context`] operations get. Each command turns its own arguments into the options
//! of the operation it calls.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use hive_ops::{Context, Error, env};

use crate::cli::{EngineKind, GlobalArgs};

/// `SOURCE_DATE_EPOCH` when none is set: 1980-01-01, the earliest time FAT can store.
pub(crate) const DEFAULT_SOURCE_DATE_EPOCH: u64 = 315_532_800;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    Json,
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) store_dir: PathBuf,
    pub(crate) output: Output,
    /// Colour and progress bars: stderr is a terminal and `NO_COLOR` is not set.
    pub(crate) terminal: bool,
    pub(crate) overrides: BTreeMap<String, PathBuf>,
    pub(crate) rustc: Option<PathBuf>,
    /// `--trusted-key`: for `cache pull` also without `--engine nix`.
    pub(crate) trusted_keys: Vec<String>,
    pub(crate) engine: hive_engine::Settings,
}

impl Settings {
    pub(crate) fn resolve(args: &GlobalArgs) -> Result<Self, Error> {
        let output = match (args.json, args.quiet, args.verbose) {
            (true, _, _) => Output::Json,
            (_, true, _) => Output::Quiet,
            (_, _, true) => Output::Verbose,
            _ => Output::Normal,
        };
        let store_dir = match &args.store {
            Some(dir) => dir.clone(),
            None => dirs::cache_dir()
                .ok_or_else(|| {
                    Error::usage("no cache folder is known for this user: pass `--store DIR`")
                })?
                .join("hivebuild")
                .join("store"),
        };
        let mut overrides = BTreeMap::new();
        for spec in &args.sources {
            let (name, path) = spec
                .split_once('=')
                .filter(|(name, path)| !name.is_empty() && !path.is_empty())
                .ok_or_else(|| Error::usage(format!("`--source {spec}` is not NAME=PATH")))?;
            let what = format!("--source {name}={path}");
            let path = hive_ops::context::local_folder(&what, path.as_ref())?;
            overrides.insert(name.to_owned(), path);
        }
        let source_date_epoch = match std::env::var(env::SOURCE_DATE_EPOCH) {
            Ok(text) => text.parse().map_err(|_| {
                Error::usage(format!(
                    "`{}={text}` is not a number of seconds",
                    env::SOURCE_DATE_EPOCH
                ))
            })?,
            Err(_) => DEFAULT_SOURCE_DATE_EPOCH,
        };
        let home = dirs::home_dir();
        let cargo_home = std::env::var_os(env::CARGO_HOME)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".cargo")))
            .unwrap_or_else(|| PathBuf::from("/nonexistent-cargo-home"));
        let jobs = args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        if jobs == 0 {
            return Err(Error::usage(
                "`-j 0`: at least one step must be able to run",
            ));
        }
        if args.engine != EngineKind::Nix {
            for (flag, given) in [
                ("--nix-store", args.nix_store.is_some()),
                ("--builders", args.builders.is_some()),
                ("--max-jobs", args.max_jobs.is_some()),
                ("--cache", !args.caches.is_empty()),
            ] {
                if given {
                    return Err(Error::usage(format!(
                        "`{flag}` is for the Nix engine: add `--engine nix`"
                    )));
                }
            }
        }
        Ok(Self {
            store_dir,
            output,
            terminal: std::io::stderr().is_terminal() && std::env::var_os(env::NO_COLOR).is_none(),
            overrides,
            rustc: std::env::var_os(env::HIVEBUILD_RUSTC).map(PathBuf::from),
            trusted_keys: args.trusted_keys.clone(),
            engine: hive_engine::Settings {
                jobs,
                offline: args.offline,
                source_date_epoch,
                path: std::env::var_os(env::PATH).unwrap_or_default(),
                cargo_home,
                rustup_home: hive_plan::toolchain::rustup_home().filter(|dir| dir.is_dir()),
                rustup_toolchain: std::env::var(env::RUSTUP_TOOLCHAIN).ok(),
                home,
                nix: (args.engine == EngineKind::Nix).then(|| hive_engine::nix::NixOptions {
                    store: args.nix_store.clone(),
                    builders: args.builders.clone(),
                    max_jobs: args.max_jobs,
                    substituters: args.caches.clone(),
                    trusted_public_keys: args.trusted_keys.clone(),
                    ..hive_engine::nix::NixOptions::default()
                }),
            },
        })
    }

    /// What an operation gets, with progress going to `reporter`.
    pub(crate) fn context<'a>(&self, reporter: &'a dyn hive_ops::Reporter) -> Context<'a> {
        Context {
            store_dir: self.store_dir.clone(),
            overrides: self.overrides.clone(),
            rustc: self.rustc.clone(),
            engine: self.engine.clone(),
            reporter,
        }
    }
}
