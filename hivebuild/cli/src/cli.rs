//! The command line, as clap types. `settings` resolves the global flags; each command reads
//! its own arguments and turns them into the options of the operation it calls.

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
    #[arg(long, global = true, env = hive_ops::env::HIVEBUILD_STORE, value_name = "DIR")]
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
    /// What builds the steps: hivebuild itself into its store, or Nix (each step a
    /// derivation, built here, on remote builders or taken from binary caches)
    #[arg(long, global = true, value_enum, env = hive_ops::env::HIVEBUILD_ENGINE, default_value = "native")]
    pub(crate) engine: EngineKind,
    /// With `--engine nix`: the Nix store (a URI such as `local?root=DIR`, or a chroot store's
    /// folder) [default: Nix's own]
    #[arg(long, global = true, env = hive_ops::env::HIVEBUILD_NIX_STORE, value_name = "URI")]
    pub(crate) nix_store: Option<String>,
    /// With `--engine nix`: remote builders, as Nix's `builders` setting (`@FILE` for a
    /// machines file)
    #[arg(long, global = true, value_name = "SPEC")]
    pub(crate) builders: Option<String>,
    /// With `--engine nix`: steps built at once on this machine (`0`: remote builders only)
    #[arg(long, global = true, value_name = "N")]
    pub(crate) max_jobs: Option<usize>,
    /// With `--engine nix`: a binary cache to take step outputs from (`file:///DIR`,
    /// `s3://BUCKET`; repeatable); its signatures must match a `--trusted-key`
    #[arg(long = "cache", global = true, value_name = "URL")]
    pub(crate) caches: Vec<String>,
    /// With `--engine nix`: a public key caches may sign with (`NAME:BASE64`; repeatable)
    #[arg(long = "trusted-key", global = true, value_name = "KEY")]
    pub(crate) trusted_keys: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum EngineKind {
    Native,
    Nix,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Make a new hive project: a manifest, a Brain package and one templated skill
    New(NewArgs),
    /// Validate a manifest and its target files
    Check(ManifestArgs),
    /// What each target needs on this machine: tools, sources, assets, QEMU, KVM; found or missing
    Doctor(DoctorArgs),
    /// Show the build plan for one target
    Plan(PlanArgs),
    /// Show who may touch what: the capability graph, or the generated seL4 system description
    Caps(CapsArgs),
    /// Build a hive for one target (steps already in the store are skipped)
    Build(BuildArgs),
    /// Print the `nix.conf` lines a remote Nix builder needs to build a hive's steps
    /// (`--engine nix --builders`)
    BuilderConf(ManifestTargetArgs),
    /// Build a hive, then boot its kernel and skills in QEMU with the console attached
    Run(RunArgs),
    /// Start the hosted hive (police, skills, a thinking Brain), ask its Brain one request,
    /// print the answer
    Ask(AskArgs),
    /// Measure the running hosted hive: on-demand skill spawns, the Brain's LLM next to
    /// llama.cpp, its router and its memory
    Bench(BenchArgs),
    /// Boot the hive in QEMU and hold it to the manifest's `[tests]`
    #[command(subcommand)]
    Test(TestCommand),
    /// Pin the manifest's git and archive sources in `hive.lock`
    Lock(LockArgs),
    /// Build a hive and compose its signed disk image for one target
    Image(ImageArgs),
    /// Add signatures to the signed metadata of an image output folder
    Sign(SignArgs),
    /// Check an image output folder: signatures, threshold, expiry, every artefact and file
    Verify(VerifyArgs),
    /// Read a disk image back: partitions and files; with `--files`, check every file
    Inspect(InspectArgs),
    /// Make a signed update bundle from a release folder (`bundle inspect FILE` reads one)
    Bundle(BundleArgs),
    /// Play a device's updater: verify a bundle and install it into a device folder's A/B slots
    Apply(ApplyArgs),
    /// Add a bundle to a static TUF repository (created with `--trust-root` the first time)
    Publish(PublishArgs),
    /// Play a device's updater against a repository: refresh, pick, download, verify, apply
    FetchUpdate(FetchUpdateArgs),
    /// Make signing keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Make and rotate the trust root (TUF root metadata)
    #[command(subcommand)]
    Root(RootCommand),
    /// Look into the store
    #[command(subcommand)]
    Store(StoreCommand),
    /// Add or remove a skill in a manifest, in place (comments and layout kept)
    #[command(subcommand)]
    Skill(SkillCommand),
    /// Share step outputs through a Nix binary cache: push (signed), pull, make a key
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Run one step inside a Nix build: the builder of `--engine nix`'s derivations
    #[command(hide = true)]
    StepExec(StepExecArgs),
    /// Print a shell completion script (`hivebuild completions bash > /etc/bash_completion.d/hivebuild`)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page, or with `--out DIR` write one page per command there
    Man {
        /// A folder for `hivebuild.1` and a page per subcommand (`hivebuild-build.1`, ...)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ManifestTargetArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StepExecArgs {
    /// The step to run, as the Nix engine writes it [default: `$hiveStepExecPath`]
    #[arg(long, value_name = "FILE", env = "hiveStepExecPath")]
    pub(crate) spec: PathBuf,
    /// Where its output goes (must not exist) [default: `$out`]
    #[arg(long, value_name = "DIR", env = "out")]
    pub(crate) out: PathBuf,
    /// An empty folder to build in [default: `$NIX_BUILD_TOP/hive`]
    #[arg(long, value_name = "DIR")]
    pub(crate) scratch: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct BundleArgs {
    #[command(subcommand)]
    pub(crate) command: Option<BundleCommand>,
    /// The release to bring devices to: an output folder of `hivebuild image -o`
    #[arg(long, value_name = "RELEASE_DIR", required = true)]
    pub(crate) to: Option<PathBuf>,
    /// The release devices run now: makes a delta bundle (changed components as patches,
    /// unchanged ones left out)
    #[arg(long, value_name = "RELEASE_DIR", requires = "from_version")]
    pub(crate) from: Option<PathBuf>,
    /// With `--from`: the bundle version devices on that release run
    #[arg(long, value_name = "N", requires = "from")]
    pub(crate) from_version: Option<u64>,
    /// Only this component (a skill: `skill-NAME.elf`): devices keep all their others
    #[arg(long, value_name = "NAME")]
    pub(crate) component: Option<String>,
    /// The bundle file to write
    #[arg(short, long, value_name = "FILE", required = true)]
    pub(crate) output: Option<PathBuf>,
    /// The bundle version: devices take only versions above the one they run
    #[arg(long = "bundle-version", value_name = "N", required = true)]
    pub(crate) version: Option<u64>,
    #[command(flatten)]
    pub(crate) signers: SignerArgs,
    /// How long the bundle's signed metadata stays valid (`365d`, `12h`)
    #[arg(long, default_value = "365d", value_name = "DURATION")]
    pub(crate) expires: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BundleCommand {
    /// What a bundle holds and says of itself (its signatures are not checked here)
    Inspect {
        /// The bundle file
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The bundle file
    pub(crate) file: PathBuf,
    /// The device folder (A/B slots and state); an empty one is provisioned
    #[arg(long, value_name = "DIR")]
    pub(crate) device: PathBuf,
    /// The TUF root to provision an empty device with
    #[arg(long, value_name = "ROOT")]
    pub(crate) trust_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// The bundle file
    pub(crate) bundle: PathBuf,
    /// The repository folder (serve it with any HTTP server)
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: PathBuf,
    /// The repository's first root, when it does not exist yet
    #[arg(long, value_name = "ROOT")]
    pub(crate) trust_root: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) signers: SignerArgs,
    /// How long the repository's metadata stays valid (`7d`, `12h`)
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub(crate) expires: String,
}

#[derive(Debug, Args)]
pub(crate) struct FetchUpdateArgs {
    /// The repository: `http://HOST:PORT/PATH`, or a folder
    #[arg(long, value_name = "URL")]
    pub(crate) repo: String,
    /// The device folder
    #[arg(long, value_name = "DIR")]
    pub(crate) device: PathBuf,
    /// The TUF root to provision an empty device with
    #[arg(long, value_name = "ROOT")]
    pub(crate) trust_root: Option<PathBuf>,
    /// An empty device's hardware id (a provisioned device knows its own)
    #[arg(long, value_name = "ID")]
    pub(crate) hardware_id: Option<String>,
}

/// Who signs: key files and external signer commands.
#[derive(Debug, Args)]
pub(crate) struct SignerArgs {
    /// A private key file (`NAME.key`, mode 0600); repeatable
    #[arg(long = "sign-key", value_name = "KEY")]
    pub(crate) sign_keys: Vec<PathBuf>,
    /// An external signer (HSM/KMS): `sh -c CMD` gets the bytes on stdin and prints the signature
    #[arg(long, value_name = "CMD", requires = "signer_pub")]
    pub(crate) signer: Option<String>,
    /// The public key (`NAME.pub`) of the external signer
    #[arg(long, value_name = "PUB", requires = "signer")]
    pub(crate) signer_pub: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImageArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Output folder for the image, its file list, SBOM and signed metadata
    #[arg(short, long, value_name = "DIR")]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) signers: SignerArgs,
    /// How long the signed metadata stays valid (`365d`, `12h`)
    #[arg(long, default_value = "365d", value_name = "DURATION")]
    pub(crate) expires: String,
    /// Write every byte instead of leaving holes (for tools that cannot take sparse files)
    #[arg(long)]
    pub(crate) dense: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// An output folder of `hivebuild image`
    pub(crate) dir: PathBuf,
    #[command(flatten)]
    pub(crate) signers: SignerArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// An output folder of `hivebuild image`
    pub(crate) dir: PathBuf,
    /// The TUF root to trust [default: the hive's `[update] trust-root`, or the development
    /// root for development-signed output]
    #[arg(long, value_name = "ROOT")]
    pub(crate) trust_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A disk image
    pub(crate) image: PathBuf,
    /// The image's file list (`NAME.manifest.json` of a release folder) to check every file
    /// against (`--manifest` is an older name for it)
    #[arg(long, alias = "manifest", value_name = "FILE")]
    pub(crate) files: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Write `PREFIX.key` (private, mode 0600) and `PREFIX.pub` (TUF key JSON)
    Generate {
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// Build a hive with Nix and copy every step's output to a binary cache, signed
    Push {
        /// The cache: `file:///DIR`, `s3://BUCKET`, ... (any Nix store URI)
        url: String,
        #[command(flatten)]
        target: TargetArgs,
        /// The Nix secret key to sign with (`cache key` makes one)
        #[arg(long, value_name = "FILE")]
        sign_key: PathBuf,
    },
    /// Take every step's output of a hive from a binary cache (signed with a `--trusted-key`)
    /// into the Nix store; building anything is an error
    Pull {
        /// The cache: `file:///DIR`, `s3://BUCKET`, ...
        url: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Write a Nix signing key pair for a cache: `PREFIX.secret` and `PREFIX.public`
    Key {
        /// The key's name, written in every signature (`ci.example.org-1`)
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RootCommand {
    /// Write version 1 of a trust root: the given keys and threshold for every role
    Init(RootArgs),
    /// Write the next version of a trust root, signed by the old threshold and the new
    Rotate {
        /// The current (trusted) root
        #[arg(long, value_name = "ROOT")]
        root: PathBuf,
        #[command(flatten)]
        args: RootArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RootArgs {
    /// A public key (`NAME.pub`) of the root's roles; repeatable
    #[arg(long = "key", value_name = "PUB", required = true)]
    pub(crate) keys: Vec<PathBuf>,
    /// Signatures by distinct keys each role needs
    #[arg(long, default_value_t = 1)]
    pub(crate) threshold: u32,
    /// How long the root stays valid (`365d`)
    #[arg(long, default_value = "365d", value_name = "DURATION")]
    pub(crate) expires: String,
    #[command(flatten)]
    pub(crate) signers: SignerArgs,
    /// Where to write the root
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The project folder (made; it may exist if it is empty)
    pub(crate) dir: PathBuf,
    /// The hive's name [default: the folder's name, lowercased]
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ManifestArgs {
    /// The hive manifest (for example `manifests/demo.toml`)
    pub(crate) manifest: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SkillCommand {
    /// Add `[skills.NAME]` (and the other side of each of its channels); refused, and the file
    /// left as it was, when the result would not pass `check`
    Add(SkillAddArgs),
    /// Remove `[skills.NAME]` and `channel:NAME` from every other component; refused, and the
    /// file left as it was, when the result would not pass `check`
    Remove {
        /// The skill
        name: String,
        /// The hive manifest
        #[arg(long, short, default_value = "hive.toml", value_name = "FILE")]
        manifest: PathBuf,
    },
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("build").required(true).args(["template", "path"]))]
pub(crate) struct SkillAddArgs {
    /// The skill's name
    pub(crate) name: String,
    /// Render it from this template (a folder of `unikraft-templates/`)
    #[arg(long, value_name = "TEMPLATE")]
    pub(crate) template: Option<String>,
    /// Build it from this folder of the project
    #[arg(long, value_name = "DIR")]
    pub(crate) path: Option<String>,
    /// What it may touch (`channel:brain`, `net:udp:4001`, ...); repeatable or comma-separated
    #[arg(long, value_delimiter = ',', value_name = "CAP")]
    pub(crate) caps: Vec<String>,
    /// Its memory (`16MiB`)
    #[arg(long, value_name = "SIZE")]
    pub(crate) memory: Option<String>,
    /// The hive manifest
    #[arg(long, short, default_value = "hive.toml", value_name = "FILE")]
    pub(crate) manifest: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The hive manifest [default: `hive.toml`, else every manifest in `manifests/`]
    pub(crate) manifest: Option<PathBuf>,
    /// Only this target
    #[arg(long, short, conflicts_with = "all_targets")]
    pub(crate) target: Option<String>,
    /// Every target of the hive (what happens when no target is named)
    #[arg(long)]
    pub(crate) all_targets: bool,
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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum CapsFormat {
    Text,
    Dot,
    /// The Microkit system description (`.system` XML)
    System,
}

#[derive(Debug, Args)]
pub(crate) struct CapsArgs {
    /// The hive manifest
    pub(crate) manifest: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: CapsFormat,
    /// With `--format system`: the seL4 target whose board it is for (default: the hive's
    /// first `system = "microkit"` target)
    #[arg(long, short)]
    pub(crate) target: Option<String>,
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
    #[command(flatten)]
    pub(crate) brain: BrainArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AskArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// What to ask, in words ("extract the text of samples/report.pdf")
    pub(crate) request: String,
    #[command(flatten)]
    pub(crate) brain: BrainArgs,
}

/// How the hosted Brain runs (`run`, `ask`, `bench`).
#[derive(Debug, Args)]
pub(crate) struct BrainArgs {
    /// A folder for one of the Brain's stores, over its default (repeatable; `files` is the
    /// current folder, others `$HIVE_STORES/NAME`)
    #[arg(long = "brain-store", value_name = "NAME=PATH")]
    pub(crate) stores: Vec<String>,
    /// Threads for the Brain's LLM [default: every core]
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Spawns measured at the police (the first five also go through the Brain)
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) runs: usize,
    /// What the Brain is asked for each spawn it measures
    #[arg(long, default_value = "extract the text of samples/report.pdf")]
    pub(crate) request: String,
    #[command(flatten)]
    pub(crate) brain: BrainArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TestCommand {
    /// Boot the kernel and every skill; each must print its `[tests.smoke]` markers in order
    Smoke(TestArgs),
    /// Time from spawn to ready, cold and warm, of a floor kernel, the kernel and every skill
    BootLatency(LatencyArgs),
    /// Crash skills through the console: the police must restart them (or stop them past
    /// their limit) while the Brain's heartbeat goes on
    Faults(TestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct LatencyArgs {
    #[command(flatten)]
    pub(crate) test: TestArgs,
    /// Boots per image and mode
    #[arg(long, default_value_t = 20)]
    pub(crate) runs: usize,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Where reports and console transcripts go [default: test-reports/<hive>-<target>]
    #[arg(long, value_name = "DIR")]
    pub(crate) report_dir: Option<PathBuf>,
    /// Also write JUnit XML here [default: <report dir>/<suite>.junit.xml]
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Test the kernel of an existing release folder (`hivebuild image -o DIR`) instead of
    /// building
    #[arg(long, value_name = "DIR")]
    pub(crate) image: Option<PathBuf>,
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
