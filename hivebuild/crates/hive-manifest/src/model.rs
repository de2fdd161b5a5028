//! The validated manifest: what the rest of hivebuild works with.
//!
//! Everything here has been checked: names are identifiers, sizes and durations parsed,
//! capabilities parsed and consistent (channels two-sided, peers exist), paths exist.
//! Paths are relative to the project root and use `/`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::caps::Capability;
use crate::units::Size;

#[derive(Clone, Debug)]
pub struct Manifest {
    /// The manifest file as given.
    pub file: PathBuf,
    /// Where the files the manifest names are found: the project root (where its relative
    /// paths start), then hivebuild's stock.
    pub layers: crate::Layers,
    pub hive: Hive,
    pub kernel: Kernel,
    pub platform: Platform,
    pub brain: Brain,
    pub skills: BTreeMap<String, Skill>,
    pub update: Option<Update>,
    pub sources: BTreeMap<String, Source>,
    /// Other hives, by name (`[peers]`).
    pub peers: BTreeMap<String, Peer>,
    /// What the QEMU tests expect (`[tests]`).
    pub tests: Tests,
}

impl Manifest {
    /// The project root: relative paths in the manifest start here.
    pub fn root(&self) -> &std::path::Path {
        &self.layers.project
    }

    /// The folder of the skill template `name` (the project's, else the stock's).
    pub fn template_dir(&self, name: &str) -> Option<PathBuf> {
        self.layers.template(name).map(|found| found.path)
    }
}

/// The `[tests]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tests {
    pub smoke: Option<Smoke>,
    pub faults: Option<Faults>,
}

/// Fault injection: crash skills through a console command and watch the police and the
/// Brain. The manifest's patterns may use `{skill}`; here they are compiled for each skill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Faults {
    /// The skills to crash, each with its patterns.
    pub skills: Vec<FaultSkill>,
    /// From a crash to the skill's ready marker, at most.
    pub restart_within: Duration,
    /// The longest the Brain's heartbeat may pause.
    pub max_gap: Duration,
}

/// One skill to crash, and what to watch for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSkill {
    pub name: String,
    /// What to type on the kernel's console to crash it.
    pub command: String,
    /// The skill is up, at boot and after a restart.
    pub ready: Pattern,
    /// The police reports the skill's fault.
    pub fault: Pattern,
    /// The police gave up on the skill (past its restart limit).
    pub stopped: Pattern,
    /// The Brain is alive.
    pub heartbeat: Pattern,
}

/// What a smoke test expects on the serial console of each image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smoke {
    /// Markers the kernel prints, in order.
    pub kernel: Vec<Marker>,
    /// Markers each skill prints, in order, by skill (the manifest's `{skill}` filled in).
    pub skills: BTreeMap<String, Vec<Marker>>,
    /// Patterns that fail a boot as soon as they appear.
    pub fail: Vec<Pattern>,
}

impl Smoke {
    /// The marker that says skill `skill` is ready: its last.
    pub fn skill_ready(&self, skill: &str) -> Option<&Marker> {
        self.skills.get(skill)?.last()
    }
}

/// A regular expression to wait for, at most `within` after the marker before it (or the
/// start of the boot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub pattern: Pattern,
    pub within: Duration,
}

/// A regular expression of the manifest, compiled once, when the manifest was validated.
#[derive(Clone, Debug)]
pub struct Pattern(regex::Regex);

impl Pattern {
    pub(crate) fn new(regex: regex::Regex) -> Self {
        Self(regex)
    }

    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// A literal text, escaped (`Pattern::literal("a.b")` matches only `a.b`).
    pub fn literal(text: &str) -> Self {
        Self(regex::Regex::new(&regex::escape(text)).expect("an escaped text is a valid pattern"))
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Pattern {}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct Hive {
    pub name: String,
    pub version: semver::Version,
    pub targets: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KernelConfig {
    Debug,
    Release,
    Benchmark,
}

impl KernelConfig {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "debug" => Some(Self::Debug),
            "release" => Some(Self::Release),
            "benchmark" => Some(Self::Benchmark),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Release => "release",
            Self::Benchmark => "benchmark",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Kernel {
    pub config: KernelConfig,
    /// Per-target config, by target name.
    pub overrides: BTreeMap<String, KernelConfig>,
}

impl Kernel {
    /// The kernel config for one target, overrides applied.
    pub fn config_for(&self, target: &str) -> KernelConfig {
        self.overrides.get(target).copied().unwrap_or(self.config)
    }
}

/// Which sources build the platform parts (names of `[sources.*]` entries).
#[derive(Clone, Debug)]
pub struct Platform {
    /// A `CMake` project: the kernel and its loader.
    pub kernel: String,
    /// A Make project every templated skill is built on.
    pub skill_base: String,
    /// The Brain's channel for skills on `skill_base` that hold `channel:brain`: a folder
    /// with the skill runtime's `channel.c`, `serve.c` and `include/` (the same C the
    /// Unikraft skills run). Without it, such a skill ends after `ready`.
    pub skill_runtime: Option<String>,
    /// A Make project for the host tool that packs the system image.
    pub packer: String,
    /// `[platform.microkit]`: what builds the targets whose system is seL4 through Microkit.
    pub microkit: Option<Microkit>,
    /// `[platform.unikraft]`: what builds skills as Unikraft unikernels, on the targets whose
    /// skills boot as virtual machines of their own.
    pub unikraft: Option<Unikraft>,
}

impl Platform {
    /// Every source name a role names, in role order (a name may repeat).
    pub fn source_names(&self) -> impl Iterator<Item = &str> {
        let microkit = self.microkit.iter().flat_map(|m| {
            [&m.sel4, &m.microkit, &m.rust_sel4, &m.pd_base, &m.police].map(String::as_str)
        });
        let unikraft = self.unikraft.iter().flat_map(|u| {
            [u.core.as_str(), u.runtime.as_str()]
                .into_iter()
                .chain(u.libraries.values().flat_map(|l| {
                    std::iter::once(l.source.as_str())
                        .chain(l.origin.as_ref().map(|o| o.source.as_str()))
                }))
        });
        [&self.kernel, &self.skill_base, &self.packer]
            .map(String::as_str)
            .into_iter()
            .chain(self.skill_runtime.as_deref())
            .chain(microkit)
            .chain(unikraft)
    }
}

/// The sources of Unikraft skills (names of `[sources.*]` entries).
#[derive(Clone, Debug)]
pub struct Unikraft {
    /// The Unikraft core: its build system, platforms and internal libraries.
    pub core: String,
    /// The skill runtime, a Unikraft library every skill links: its `main`, the console
    /// markers, the lean configuration every skill starts from.
    pub runtime: String,
    /// External Unikraft libraries by name (`lwip`: built in `O/liblwip/`).
    pub libraries: BTreeMap<String, UnikraftLibrary>,
}

/// An external Unikraft library, and what its `Makefile.uk` would download, provided instead
/// from a pinned source.
#[derive(Clone, Debug)]
pub struct UnikraftLibrary {
    pub source: String,
    pub origin: Option<Origin>,
}

/// A library's download: the source that holds its tree, the file name the library's fetch
/// rule writes (`STABLE-2_1_2_RELEASE.zip`) and the folder the archive unpacks to.
#[derive(Clone, Debug)]
pub struct Origin {
    pub source: String,
    pub archive: String,
    pub unpack: String,
}

/// The sources of the seL4 platform (names of `[sources.*]` entries).
#[derive(Clone, Debug)]
pub struct Microkit {
    /// The seL4 kernel.
    pub sel4: String,
    /// Microkit: its SDK build, tool, loader, monitor and libmicrokit.
    pub microkit: String,
    /// rust-sel4, the git dependency of Microkit's tool and capDL initialiser.
    pub rust_sel4: String,
    /// A Make project that builds protection domains (goals `police`, `brain`, `skill`).
    pub pd_base: String,
    /// The police's app folder.
    pub police: String,
}

#[derive(Clone, Debug)]
pub struct Brain {
    /// A cargo package, relative to the project root.
    pub path: String,
    pub memory: Size,
    pub caps: Vec<Capability>,
    /// Cargo features to enable (checked against the package when it is built).
    pub features: Vec<String>,
    /// seL4 scheduling priority (0–253; the police has 254).
    pub priority: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    Always,
    OnFailure,
    Never,
}

impl Restart {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::OnFailure => "on-failure",
            Self::Never => "never",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkillBuild {
    /// Rendered from `unikraft-templates/NAME` and built on the platform's skill base.
    Template(String),
    /// A Make project of its own, relative to the project root.
    Path(String),
}

#[derive(Clone, Debug)]
pub struct Skill {
    pub name: String,
    pub build: SkillBuild,
    pub memory: Size,
    pub caps: Vec<Capability>,
    pub restart: Restart,
    /// How many restarts the police allows before it stops the skill.
    pub restart_limit: u32,
    pub lazy: bool,
    pub boot_budget: Option<Duration>,
    /// seL4 scheduling priority (0–253).
    pub priority: u8,
    /// What the Brain's planner knows of the skill; a skill without one is never chosen by
    /// the planner (it may still deliver to the Brain).
    pub interface: Option<Interface>,
    /// The ed25519 public keys of the hives whose signed messages this skill hands to the
    /// Brain (a skill with a `net:` capability checks every message against them): its
    /// `peers`, each a key or the name of a `[peers.NAME]`.
    pub peers: Vec<[u8; 32]>,
}

impl Skill {
    /// How many times the police restarts it before stopping it: `restart-limit`, or none
    /// when its policy is `never`.
    pub fn restarts_allowed(&self) -> u32 {
        match self.restart {
            Restart::Never => 0,
            _ => self.restart_limit,
        }
    }
}

/// `[peers.NAME]`: a hive this one may talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    /// Its ed25519 public key: it signs what it sends.
    pub key: [u8; 32],
    /// Where its network skill listens (IPv4: the peer protocol's sends carry IPv4). A peer
    /// without one can send to this hive, not be sent to.
    pub address: Option<std::net::SocketAddrV4>,
}

/// `[skills.NAME.interface]`: a one-line description (the router embeds it) and the request's
/// arguments (the LLM fills them under a grammar made from their kinds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub description: String,
    /// In name order.
    pub request: Vec<Argument>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argument {
    pub name: String,
    pub kind: ArgumentKind,
}

/// What an argument holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgumentKind {
    /// Free text on one line.
    Text,
    /// A whole number.
    Integer,
    /// A path inside the Brain's `files` store; the job carries the file's bytes.
    File,
    /// One of the given words.
    OneOf(Vec<String>),
    /// One of the hive's `[peers]` with an address: the job carries a message to it, signed
    /// by the Brain with the hive's key (the request's `text` argument is the message).
    Peer,
}

impl ArgumentKind {
    /// The manifest's spelling: `text`, `integer`, `file`, `peer`, `one-of:a|b`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "text" => Some(Self::Text),
            "peer" => Some(Self::Peer),
            "integer" => Some(Self::Integer),
            "file" => Some(Self::File),
            _ => {
                let words: Vec<String> = text
                    .strip_prefix("one-of:")?
                    .split('|')
                    .map(str::to_owned)
                    .collect();
                let plain = |w: &String| {
                    !w.is_empty()
                        && w.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                };
                words.iter().all(plain).then_some(Self::OneOf(words))
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct Update {
    pub channel: String,
    pub trust_root: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A git repository at a revision; the lock pins the commit and tree hash.
    Git { url: String, rev: String },
    /// An archive; its sha256 is given in the manifest.
    Tarball { url: String, sha256: String },
    /// A folder in or next to the project, hashed at build time.
    Path { path: String },
    /// A folder of hivebuild's stock (`components/NAME`), for a `[platform]` role that no
    /// `[sources.NAME]` declares; hashed at build time like a path.
    Stock { path: PathBuf },
}

pub const DEFAULT_SKILL_MEMORY: Size = Size(16 << 20);
pub const DEFAULT_BRAIN_MEMORY: Size = Size(256 << 20);
pub const DEFAULT_RESTART_LIMIT: u32 = 3;
/// Priorities: the police above the Brain above the skills, unless the manifest says.
pub const POLICE_PRIORITY: u8 = 254;
pub const DEFAULT_BRAIN_PRIORITY: u8 = 200;
pub const DEFAULT_SKILL_PRIORITY: u8 = 100;
/// Microkit's limits: protection domains in a system, and ids (children, channels,
/// interrupts) of one protection domain: 0–61.
pub const MAX_PDS: usize = 63;
pub const MAX_IDS: usize = 62;
/// What that leaves a hive (hive-sel4 assigns the ids): the police's ids are the Brain's
/// channel (0), one per skill (1–60) and the console's interrupt (61); a skill's are the
/// police's (0), the Brain's (1) and one per other peer.
pub const MAX_SKILLS: usize = MAX_IDS - 2;
pub const MAX_CHANNELS: usize = MAX_IDS - 2;
