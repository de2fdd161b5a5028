//! Steps: one build action each, with everything its key is made of.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::hash::Digest;
use crate::lock::LockedSource;

/// One build action. `kind` and the inputs decide its key; `programs` (where the tools are
/// on this machine) does not, only their versions in `toolchain` do. Read back (by the Nix
/// engine's builder, `hivebuild step-exec`), its role comes from its name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "StepFields")]
pub struct Step {
    pub name: String,
    /// What the step is for; `name` is its spelling.
    #[serde(skip)]
    pub role: crate::Role,
    pub key: Digest,
    /// `<nix32>-<name>`: the folder name of its output in the store.
    pub store_name: String,
    pub kind: StepKind,
    /// Source folders the step reads, by name.
    pub sources: BTreeMap<String, SourceInput>,
    /// Steps whose outputs it reads.
    pub deps: Vec<String>,
    /// Tool name → version line.
    pub toolchain: BTreeMap<String, String>,
    /// Tool name → resolved path on this machine.
    pub programs: BTreeMap<String, PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StepKind {
    /// Fetch a git or archive source; its output must have the locked NAR hash.
    Fetch {
        source: String,
        locked: LockedSource,
    },
    /// Render a minijinja template folder with a context.
    Render {
        template: String,
        context: serde_json::Value,
    },
    /// Build a cargo package for a triple.
    #[serde(rename_all = "kebab-case")]
    Cargo {
        package: String,
        /// The package's name in its Cargo.toml.
        package_name: String,
        triple: String,
        crate_type: String,
        /// Crates built from source (`-Zbuild-std`); empty when the toolchain ships them.
        build_std: Vec<String>,
        /// Cargo features to enable.
        features: Vec<String>,
        /// `-C target-cpu` (the target's `[rust] cpu`); absent: the triple's baseline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu: Option<String>,
    },
    /// `make GOAL VAR=value...` in a source folder.
    Make {
        source: String,
        goal: Option<String>,
        vars: BTreeMap<String, Arg>,
    },
    /// Configure, build and install a `CMake` project with Ninja.
    #[serde(rename_all = "kebab-case")]
    Cmake {
        source: String,
        defines: BTreeMap<String, String>,
        c_compiler: String,
    },
    /// Run a program from another step's output.
    Tool { program: Arg, args: Vec<Arg> },
    /// The Microkit SDK, built from the seL4, Microkit and rust-sel4 sources for some boards
    /// and configurations: the host tool with one Rust toolchain (`host-cargo`), the
    /// run-time parts with another (`cargo`, with `build_std` when it has no prebuilt core).
    /// Microkit's git dependency on rust-sel4 is pointed at the `rust_sel4` source.
    #[serde(rename_all = "kebab-case")]
    MicrokitSdk {
        microkit: String,
        sel4: String,
        rust_sel4: String,
        boards: Vec<String>,
        configs: Vec<String>,
        host_triple: String,
        build_std: Vec<String>,
        /// The rust-sel4 commit Microkit's `Cargo.lock` must name, when the source is pinned.
        rust_sel4_commit: Option<String>,
    },
    /// A Unikraft unikernel: configure from the fragments (this step's platform lines, the
    /// runtime's `lean.config`, the app's `defconfig`), then make with `N=`, `O=`, `A=`,
    /// `L=`. What a library's `Makefile.uk` would download is laid out from its origin source
    /// first; a download it still tries fails the step, naming the library.
    #[serde(rename_all = "kebab-case")]
    Unikraft {
        core: String,
        /// The runtime first, then the external libraries the skill uses, in link order.
        libraries: Vec<UnikraftLibrary>,
        /// The app folder (a rendered template).
        app: Arg,
        /// A skill's own C sources (`HIVE_SKILL_SRC`), for the `c-app` template.
        skill_source: Option<String>,
        /// `N=`: the image's name; also the skill's name on its console.
        name: String,
        /// Unikraft's name of the architecture: `x86_64`, `arm64`.
        arch: String,
        cross_compile: String,
        /// The platform's configuration lines.
        fragment: String,
    },
    /// Write a file the plan computed (the system description).
    Write { file: String, contents: String },
    /// A boot asset: files of a Debian package pinned by version and the sha256 of its `.deb`.
    Asset {
        package: String,
        version: String,
        arch: String,
        sha256: String,
        /// The package's files the image takes (only these are kept).
        files: Vec<String>,
    },
}

impl StepKind {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Fetch { .. } => "fetch",
            Self::Render { .. } => "render",
            Self::Cargo { .. } => "cargo",
            Self::Make { .. } => "make",
            Self::Cmake { .. } => "cmake",
            Self::Tool { .. } => "tool",
            Self::Asset { .. } => "asset",
            Self::MicrokitSdk { .. } => "microkit-sdk",
            Self::Unikraft { .. } => "unikraft",
            Self::Write { .. } => "write",
        }
    }
}

/// An external Unikraft library of a step: its name (`lwip`), the source it is read from,
/// and the origin it would download.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnikraftLibrary {
    pub name: String,
    pub source: String,
    pub origin: Option<UnikraftOrigin>,
}

/// Where a library's download comes from instead: the source, and the names its fetch rule
/// expects (`O/lib<name>/<archive>`, unpacked to `O/lib<name>/origin/<unpack>/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnikraftOrigin {
    pub source: String,
    pub archive: String,
    pub unpack: String,
}

/// An argument or variable: text, or a path the engine fills in for this build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Arg {
    Text {
        text: String,
    },
    /// `prefix` + the path of `path` inside a dependency's output.
    Output {
        prefix: String,
        step: String,
        path: String,
    },
    /// `prefix` + the path of a source folder as copied into the build.
    Source {
        prefix: String,
        name: String,
    },
    /// `prefix` + the path of `path` inside this step's output folder.
    Out {
        prefix: String,
        path: String,
    },
}

impl Arg {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }
}

/// Where a source folder comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SourceInput {
    /// A local folder, with its content hash taken when the plan was made.
    Path { path: PathBuf, hash: Digest },
    /// The output of a fetch step.
    Fetched { step: String },
}

/// A step as it is written, without its role (which its name spells).
#[derive(Deserialize)]
struct StepFields {
    name: String,
    key: Digest,
    store_name: String,
    kind: StepKind,
    sources: BTreeMap<String, SourceInput>,
    deps: Vec<String>,
    toolchain: BTreeMap<String, String>,
    programs: BTreeMap<String, PathBuf>,
}

impl TryFrom<StepFields> for Step {
    type Error = String;

    fn try_from(fields: StepFields) -> Result<Self, String> {
        let role = crate::Role::parse(&fields.name)
            .ok_or_else(|| format!("`{}` is not the name of a step", fields.name))?;
        Ok(Self {
            name: fields.name,
            role,
            key: fields.key,
            store_name: fields.store_name,
            kind: fields.kind,
            sources: fields.sources,
            deps: fields.deps,
            toolchain: fields.toolchain,
            programs: fields.programs,
        })
    }
}
