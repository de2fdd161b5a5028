//! The command line, as clap types. Nothing outside `settings` and `dispatch` reads these.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hivebuild",
    version,
    about = "Builds Hive: seL4 + a Brain + unikernel skills, from a hive manifest"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags"
)]
pub(crate) struct GlobalArgs {
    /// Store folder [default: <cache dir>/hivebuild/store]
    #[arg(long, global = true, env = crate::env_vars::HIVEBUILD_STORE, value_name = "DIR")]
    pub(crate) store: Option<PathBuf>,
    /// Machine-readable output: a JSON document, or JSON lines of events while building
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print nothing but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print more: cached steps, store paths
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Never touch the network
    #[arg(long, global = true)]
    pub(crate) offline: bool,
    /// Steps to run at once [default: number of CPUs]
    #[arg(short, long, global = true, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Use a local folder for a source, for this run only (repeatable)
    #[arg(long = "source", global = true, value_name = "NAME=PATH")]
    pub(crate) sources: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Validate a manifest and its target files
    Check(ManifestArgs),
    /// Show the build plan for one target
    Plan(PlanArgs),
    /// Build a hive for one target (steps already in the store are skipped)
    Build(BuildArgs),
    /// Build a hive, then boot its kernel and skills in QEMU with the console attached
    Run(RunArgs),
    /// Pin the manifest's git and archive sources in `hive.lock`
    Lock(LockArgs),
    /// Look into the store
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Args)]
pub(crate) struct ManifestArgs {
    /// The hive manifest (for example `manifests/demo.toml`)
    pub(crate) manifest: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// The hive manifest
    pub(crate) manifest: PathBuf,
    /// A target of the hive (a file of `targets/`); may be left out when the hive has one
    #[arg(long, short)]
    pub(crate) target: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PlanFormat {
    Text,
    Json,
    Dot,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: PlanFormat,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Rebuild every step into a scratch store and compare the outputs byte for byte
    #[arg(long)]
    pub(crate) check: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Stop each guest after this many seconds
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub(crate) timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// The hive manifest
    pub(crate) manifest: PathBuf,
    /// Re-resolve every source, not only the ones that changed
    #[arg(long)]
    pub(crate) update: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Print the store folder, or with MANIFEST and STEP the output folder of that step
    Path(StorePathArgs),
    /// List the store's entries
    Ls,
    /// Remove entries no recent build uses, and leftovers of killed builds
    Gc,
}

#[derive(Debug, Args)]
pub(crate) struct StorePathArgs {
    /// The hive manifest
    #[arg(requires = "step")]
    pub(crate) manifest: Option<PathBuf>,
    /// A step of the plan (`kernel`, `brain`, `skill-net`, `system`, ...)
    pub(crate) step: Option<String>,
    #[arg(long, short)]
    pub(crate) target: Option<String>,
}
