//! Everything an operation can fail with, typed, each with what to do about it
//! ([`Error::hint`]) and the exit code scripts see ([`Error::exit_code`], from the one table
//! in [`exit_codes`]). The CLI renders these; it never picks a code itself.

use std::path::PathBuf;

/// Exit codes, part of hivebuild's interface (scripts and CI branch on them; docs/cli.md
/// lists them).
pub mod exit_codes {
    /// Success.
    pub const OK: u8 = 0;
    /// A build step failed.
    pub const BUILD_FAILED: u8 = 1;
    /// The command line is wrong (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// The manifest, a target file or the boards file is invalid.
    pub const INVALID_MANIFEST: u8 = 3;
    /// The plan could not be made: missing tools, an unlocked or stale source; `doctor`:
    /// something is missing.
    pub const PLAN_FAILED: u8 = 4;
    /// `build --check` found outputs that differ between two builds.
    pub const NOT_REPRODUCIBLE: u8 = 5;
    /// The store could not be used.
    pub const STORE_FAILED: u8 = 6;
    /// A source could not be fetched, or its hash did not match.
    pub const FETCH_FAILED: u8 = 7;
    /// What was asked for is not in the store yet.
    pub const NOT_BUILT: u8 = 8;
    /// QEMU could not boot an image (not installed, no machine for the target), or a guest
    /// did not power off in time.
    pub const BOOT_FAILED: u8 = 9;
    /// A signature, threshold, expiry or artefact check failed (`verify`, `inspect --manifest`).
    pub const VERIFY_FAILED: u8 = 10;
    /// A key could not be made, read or used.
    pub const KEY_FAILED: u8 = 11;
    /// An image could not be composed.
    pub const IMAGE_FAILED: u8 = 12;
    /// A QEMU test failed (a marker missing or late, a fail pattern seen), or its reports
    /// could not be written.
    pub const TEST_FAILED: u8 = 13;
    /// An update bundle could not be made, or a device refused it (`bundle`, `apply`).
    pub const UPDATE_REFUSED: u8 = 14;
    /// `new` could not write the project (the folder is taken, or a write failed).
    pub const NEW_FAILED: u8 = 15;

    /// Every code with its meaning, in order (for docs and the test that checks them).
    pub const ALL: [(u8, &str); 16] = [
        (OK, "success"),
        (BUILD_FAILED, "a build step failed"),
        (USAGE, "the command line is wrong"),
        (INVALID_MANIFEST, "the manifest or a target file is invalid"),
        (PLAN_FAILED, "no plan, or `doctor` found something missing"),
        (NOT_REPRODUCIBLE, "outputs differ between two builds"),
        (STORE_FAILED, "the store could not be used"),
        (
            FETCH_FAILED,
            "a source could not be fetched or did not match",
        ),
        (NOT_BUILT, "not in the store yet"),
        (BOOT_FAILED, "QEMU could not boot an image"),
        (VERIFY_FAILED, "a signature or file check failed"),
        (KEY_FAILED, "a key could not be made, read or used"),
        (IMAGE_FAILED, "an image could not be composed"),
        (TEST_FAILED, "a QEMU test failed"),
        (UPDATE_REFUSED, "a bundle could not be made or was refused"),
        (NEW_FAILED, "`new` could not write the project"),
    ];
}

/// What an operation was doing when a file could not be read or written: decides the exit
/// code of an I/O failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Image,
    Keys,
    Test,
    Update,
    Verify,
    /// Files the user asked for (`man --out DIR`).
    Output,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something that cannot be done as asked.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Manifest(#[from] hive_manifest::ManifestError),
    #[error("{0}")]
    Board(String),
    /// `skill add|remove` cannot make the edit.
    #[error(transparent)]
    Edit(#[from] hive_manifest::edit::EditError),
    #[error(
        "no target of hive `{hive}` builds its system with Microkit{}",
        named.as_ref().map(|t| format!(" (`{t}` uses the stand-ins)")).unwrap_or_default()
    )]
    NoMicrokitTarget { hive: String, named: Option<String> },
    #[error(transparent)]
    Plan(#[from] hive_plan::PlanError),
    #[error(transparent)]
    Lock(#[from] hive_plan::lock::LockError),
    #[error(
        "{count} thing{} missing: the steps or tests that need {} cannot run here",
        if *count == 1 { " is" } else { "s are" },
        if *count == 1 { "it" } else { "them" }
    )]
    Missing { count: usize },
    #[error(transparent)]
    Engine(#[from] hive_engine::EngineError),
    #[error(transparent)]
    Store(#[from] hive_store::StoreError),
    #[error("{count} step{} did not build the same twice", if *count == 1 { "" } else { "s" })]
    NotReproducible { count: usize },
    #[error("the plan has no step `{step}`; it has `{}`", known.join("`, `"))]
    NoStep { step: String, known: Vec<String> },
    #[error("step `{step}` of `{target}` is not in the store")]
    NotBuilt {
        step: String,
        target: String,
        manifest: PathBuf,
    },
    #[error(transparent)]
    Suite(#[from] hive_qemu::suite::SuiteError),
    #[error("`{name}` did not power off within {seconds} s")]
    NoPowerOff { name: String, seconds: u64 },
    #[error("the hosted Brain could not run")]
    Brain(#[source] Box<hive_process::ProcessError>),
    #[error(transparent)]
    Hive(#[from] crate::hive::HiveError),
    #[error(transparent)]
    Key(#[from] hive_sign::KeyError),
    #[error(transparent)]
    Sign(#[from] hive_sign::SignError),
    #[error(transparent)]
    Verify(#[from] hive_sign::VerifyError),
    #[error(transparent)]
    Release(#[from] hive_release::ReleaseError),
    /// A release folder given to `bundle` or `test --image` could not be used (the cause
    /// says why).
    #[error("`{}` is not a release folder hivebuild can read", dir.display())]
    ReleaseInput {
        dir: PathBuf,
        area: Area,
        #[source]
        source: Box<hive_release::ReleaseError>,
    },
    /// `found` and `wanted` say "hive `NAME` for `TARGET`".
    #[error("`{}` is a release of {found}, not of {wanted}", dir.display())]
    WrongRelease {
        dir: PathBuf,
        found: String,
        wanted: String,
        area: Area,
    },
    /// A file of a release folder that does not match what the release says of it: a file
    /// of a partition of its image (`partition`), or one of its own files.
    #[error("{}", tampered(dir, partition.as_deref(), file))]
    ReleaseTampered {
        dir: PathBuf,
        partition: Option<String>,
        file: String,
    },
    #[error("target `{target}` has no `[image]` section")]
    NoImageLayout { target: String },
    #[error("target `{target}` does not say which file of its image is the kernel")]
    NoImageKernel { target: String },
    #[error(transparent)]
    Image(#[from] hive_image::ImageError),
    #[error(transparent)]
    Update(#[from] hive_update::UpdateError),
    #[error(transparent)]
    New(#[from] hive_stock::starter::StarterError),
    #[error("failed to read the trust root `{}`", path.display())]
    TrustRoot {
        path: PathBuf,
        area: Area,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        area: Area,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// A failed file operation during `area`'s work.
    pub fn io(
        area: Area,
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            area,
            source,
        }
    }

    /// The trust root at `path` could not be read during `area`'s work.
    pub fn trust_root(area: Area, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::TrustRoot { path, area, source }
    }

    pub fn exit_code(&self) -> u8 {
        use exit_codes as code;
        use hive_engine::EngineError as E;
        use hive_qemu::suite::SuiteError as S;
        let area = |area: &Area| match area {
            Area::Image => code::IMAGE_FAILED,
            Area::Keys => code::KEY_FAILED,
            Area::Test => code::TEST_FAILED,
            Area::Update => code::UPDATE_REFUSED,
            Area::Verify => code::VERIFY_FAILED,
            Area::Output => code::USAGE,
        };
        match self {
            Self::Usage(_) | Self::NoMicrokitTarget { .. } | Self::NoStep { .. } => code::USAGE,
            Self::Manifest(_) | Self::Board(_) | Self::Edit(_) => code::INVALID_MANIFEST,
            Self::Plan(_) | Self::Lock(_) | Self::Missing { .. } => code::PLAN_FAILED,
            Self::Engine(E::Store(_)) | Self::Store(_) => code::STORE_FAILED,
            Self::Engine(
                E::Fetch { .. }
                | E::Offline { .. }
                | E::OfflineAsset { .. }
                | E::Asset { .. }
                | E::HashMismatch { .. }
                | E::UnknownRevision { .. },
            ) => code::FETCH_FAILED,
            Self::Engine(_) => code::BUILD_FAILED,
            Self::NotReproducible { .. } => code::NOT_REPRODUCIBLE,
            Self::NotBuilt { .. } => code::NOT_BUILT,
            Self::Suite(S::Qemu(_)) | Self::NoPowerOff { .. } | Self::Brain(_) | Self::Hive(_) => {
                code::BOOT_FAILED
            }
            Self::Suite(_) | Self::NoImageKernel { .. } => code::TEST_FAILED,
            Self::Key(_) | Self::Sign(_) | Self::Release(hive_release::ReleaseError::Sign(_)) => {
                code::KEY_FAILED
            }
            Self::Verify(_) | Self::Release(_) => code::VERIFY_FAILED,
            Self::Image(_) | Self::NoImageLayout { .. } => code::IMAGE_FAILED,
            Self::Update(_) | Self::ReleaseTampered { .. } => code::UPDATE_REFUSED,
            Self::ReleaseInput { area: a, .. }
            | Self::WrongRelease { area: a, .. }
            | Self::TrustRoot { area: a, .. }
            | Self::Io { area: a, .. } => area(a),
            Self::New(_) => code::NEW_FAILED,
        }
    }

    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Usage(_) => Some("see `hivebuild --help`".into()),
            Self::Board(_) => Some("add the board to sel4-platform/boards.toml".into()),
            Self::NoMicrokitTarget { .. } => {
                Some("a target file says `system = \"microkit\"` in its `[target]`".into())
            }
            Self::Plan(e) => e.hint(),
            Self::Engine(e) => e.hint(),
            Self::Missing { .. } => Some("install what each `missing` line names (`ci/install-deps` installs all of it on Debian bookworm)".into()),
            Self::NotReproducible { .. } => {
                Some("the files listed above differ between the two builds".into())
            }
            Self::NotBuilt {
                target, manifest, ..
            } => Some(format!(
                "build it first: `hivebuild build {} --target {target}`",
                manifest.display()
            )),
            Self::Suite(e) => e.hint(),
            Self::Hive(e) => e.hint(),
            Self::NoPowerOff { .. } => {
                Some("raise `--timeout`, or look at the console output above".into())
            }
            Self::ReleaseInput { area, .. } if *area == Area::Update => {
                Some("give an output folder of `hivebuild image -o DIR`".into())
            }
            Self::WrongRelease { area, .. } if *area == Area::Update => {
                Some("a delta goes between two releases of one hive and target".into())
            }
            Self::ReleaseTampered { .. } => {
                Some("check the release folder with `hivebuild verify`".into())
            }
            Self::NoImageLayout { target } => Some(format!(
                "describe its disk layout in `targets/{target}.toml` (see docs/image.md)"
            )),
            Self::NoImageKernel { .. } => {
                Some("set `image-kernel` in its `[qemu]` section".into())
            }
            Self::New(hive_stock::starter::StarterError::Exists { .. }) => {
                Some("pick a new folder, or empty this one".into())
            }
            Self::TrustRoot { .. } => Some("give the TUF root metadata to trust with `--trust-root ROOT`".into()),
            _ => None,
        }
    }
}

/// What [`Error::ReleaseTampered`] says.
fn tampered(dir: &std::path::Path, partition: Option<&str>, file: &str) -> String {
    match partition {
        Some(partition) => format!(
            "`{file}` in partition `{partition}` of `{}` does not match the release's file list",
            dir.display()
        ),
        None => format!(
            "`{}` does not match the release's signed metadata",
            dir.join(file).display()
        ),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "hive `NAME` for `TARGET`", as [`Error::WrongRelease`] says it.
pub fn release_of(hive: &str, target: &str) -> String {
    format!("hive `{hive}` for `{target}`")
}

/// The error's message and its causes on one line: "message: cause: cause".
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}
