//! The suites hivebuild holds a hive's images to: [`smoke`], [`faults`] and
//! [`boot_latency`]. Each takes the boots to make and the manifest's `[tests]` (patterns
//! compiled when the manifest was read), reports progress through a [`Reporter`], and returns
//! a result that knows its JSON document, JUnit XML, console transcripts, text and verdict;
//! [`crate::report::write`] writes any of them to a report folder the one way.

mod faults;
mod latency;
mod smoke;

use std::path::{Path, PathBuf};

use hive_manifest::Target;

pub use faults::{FaultsReport, Scenario, faults, skill_faults};
pub use latency::{LatencyReport, Measured, boot_latency};
pub use smoke::{Case, SmokeReport, smoke};

use crate::{AccelChoice, Machine, QemuError};

/// One boot a suite makes.
#[derive(Clone, Debug)]
pub struct Boot {
    /// The case's name in reports: `kernel`, or the skill's step name.
    pub name: String,
    pub image: PathBuf,
    /// The skill this boot is about (`None`: the system itself).
    pub skill: Option<String>,
    /// The skill runs inside the system's image (seL4): expect the system's markers first.
    pub in_system: bool,
    /// QEMU arguments besides the machine's (`-dtb FILE`, a skill's network device).
    pub extra: Vec<String>,
    /// More of them, under TCG only (`-icount`).
    pub tcg_extra: Vec<String>,
    /// The system's police starts this skill and times it (seL4): how.
    pub police: Option<crate::spawn::PoliceStart>,
}

/// What every suite needs besides its boots: the hive and target, where KVM probe answers
/// are cached, and where progress goes.
pub struct Bench<'a> {
    pub hive: &'a str,
    pub target: &'a Target,
    pub kvm_cache: Option<&'a Path>,
    pub reporter: &'a dyn Reporter,
}

impl Bench<'_> {
    /// The machine that boots `image`, with the accelerator chosen for it (a KVM probe boot
    /// waits for `marker`).
    pub fn machine(
        &self,
        image: &Path,
        marker: Option<&str>,
    ) -> Result<(Machine, AccelChoice), SuiteError> {
        let choice = crate::choose_accel(self.target, image, marker, self.kvm_cache);
        let machine = crate::machine_for(self.target, choice.accel)?;
        Ok((machine, choice))
    }

    /// The machine that boots `boot`, with its arguments.
    pub fn boot_machine(
        &self,
        boot: &Boot,
        marker: Option<&str>,
    ) -> Result<(Machine, AccelChoice), SuiteError> {
        let (mut machine, choice) = self.machine(&boot.image, marker)?;
        machine.args.extend(boot.extra.iter().cloned());
        if choice.accel == crate::Accel::Tcg {
            machine.args.extend(boot.tcg_extra.iter().cloned());
        }
        Ok((machine, choice))
    }

    fn report(&self, event: &Event<'_>) {
        self.reporter.report(event);
    }
}

/// Progress of a suite, for the user: a boot starts, and how it went.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    Booting {
        suite: &'a str,
        case: &'a str,
        machine: &'a str,
    },
    Finished {
        suite: &'a str,
        case: &'a str,
        passed: bool,
        /// One line: a time, or why it failed.
        detail: &'a str,
    },
}

pub trait Reporter: Sync {
    fn report(&self, event: &Event<'_>);
}

/// A reporter that drops everything.
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: &Event<'_>) {}
}

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// QEMU could not be run, or the target has no machine.
    #[error(transparent)]
    Qemu(#[from] QemuError),
    /// The manifest has no `[tests.SECTION]`.
    #[error("`{}` has no `[tests.{section}]` section", manifest.display())]
    NoSection {
        manifest: PathBuf,
        section: &'static str,
    },
    /// `[tests.smoke]` has no marker that says the boot is ready.
    #[error("`[tests.smoke]` has no marker for `{boot}`")]
    NoMarker { boot: String },
    #[error("failed to write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Some cases failed.
    #[error("{message}")]
    Failed { message: String, hint: String },
}

impl SuiteError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Qemu(QemuError::NoConfig { target }) => {
                Some(format!("add a `[qemu]` section to `targets/{target}.toml`"))
            }
            Self::Qemu(_) => Some(
                "install QEMU: `ci/install-deps` (Debian), or your system's qemu-system packages"
                    .into(),
            ),
            Self::NoSection { section, .. } => Some(format!(
                "declare {}; see docs/manifest.md#tests",
                match *section {
                    "faults" => "the crash command and the markers to expect",
                    _ => "the console markers each image prints",
                }
            )),
            Self::Failed { hint, .. } => Some(hint.clone()),
            Self::NoMarker { .. } | Self::Write { .. } => None,
        }
    }
}

pub(crate) fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> SuiteError + '_ {
    move |source| SuiteError::Write {
        path: path.to_owned(),
        source,
    }
}
