//! Crash consistency by fault injection below the process, in the manner of the I/O-error
//! and crash tests of `SQLite`: run an operation with a preloaded library (`inject.c`) that counts its
//! writes, fsyncs and renames of files under one folder and makes the N-th fail (EIO, ENOSPC,
//! a short write) or stops the process right after it, for every N the operation reaches; after
//! each, the caller checks that the next run finds a consistent state.
//!
//! The operation runs in a child process (usually the test binary itself, re-run on one
//! ignored test); the library is built with the host's C compiler the first time it is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// What the N-th call gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The call fails with EIO.
    Eio,
    /// The call fails with ENOSPC.
    Enospc,
    /// A write writes half its bytes, then fails with ENOSPC (an fsync or rename: EIO).
    Short,
    /// The call is done, then the process is killed (SIGKILL).
    Stop,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Eio, Kind::Enospc, Kind::Short, Kind::Stop];

    fn name(self) -> &'static str {
        match self {
            Kind::Eio => "eio",
            Kind::Enospc => "enospc",
            Kind::Short => "short",
            Kind::Stop => "stop",
        }
    }
}

/// A fault at one point of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The call, from 1, in the order the operation makes them.
    pub at: usize,
    pub kind: Kind,
}

/// One counted call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `write`, `fsync`, `fdatasync` or `rename`.
    pub op: String,
    pub path: PathBuf,
}

/// How a run under the library ended, and the calls it made.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub calls: Vec<Call>,
}

/// The preloaded library, built.
pub struct Injector {
    library: PathBuf,
}

/// What a sweep covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The calls the operation makes: its injection points.
    pub points: usize,
    /// Runs with a fault: every point, every kind.
    pub runs: usize,
}

impl Injector {
    /// Build the library (once per machine and source: it is kept in the temporary folder).
    /// An error says why it could not be (no C compiler).
    pub fn build() -> Result<Self, String> {
        const SOURCE: &str = include_str!("inject.c");
        let hash = SOURCE.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let dir = std::env::temp_dir().join(format!("hive-faults-{hash:016x}"));
        let library = dir.join("inject.so");
        if library.is_file() {
            return Ok(Self { library });
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let unique = format!("{}-{:?}", std::process::id(), std::thread::current().id());
        let source = dir.join(format!("inject-{unique}.c")).with_extension("c");
        std::fs::write(&source, SOURCE).map_err(|e| format!("{}: {e}", source.display()))?;
        let built = dir.join(format!("inject-{unique}.so"));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let output = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&built)
            .arg(&source)
            .arg("-ldl")
            .output()
            .map_err(|e| format!("no C compiler `{cc}` to build the fault injector: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`{cc}` could not build the fault injector:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        std::fs::rename(&built, &library).map_err(|e| format!("{}: {e}", library.display()))?;
        let _ = std::fs::remove_file(source);
        Ok(Self { library })
    }

    /// For a test: the injector, or `None` with a line saying why the test did not run (no C
    /// compiler); with `HIVEBUILD_REQUIRE_TOOLS` set, that fails the test instead.
    pub fn for_test() -> Option<Self> {
        match Self::build() {
            Ok(injector) => Some(injector),
            Err(why) => {
                assert!(
                    std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
                    "{why}"
                );
                eprintln!("skipped: {why}");
                None
            }
        }
    }

    /// Run `command` with the library: its calls on files under `under` (an absolute folder)
    /// are counted and, with `fault`, one of them gets it.
    pub fn run(&self, mut command: Command, under: &Path, fault: Option<Fault>) -> Run {
        let log = std::env::temp_dir().join(format!(
            "hive-faults-log-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&log);
        command
            .env("LD_PRELOAD", &self.library)
            .env("HIVE_FAULT_UNDER", under)
            .env("HIVE_FAULT_LOG", &log)
            .env_remove("HIVE_FAULT_PID")
            .env("HIVE_FAULT_AT", fault.map_or(0, |f| f.at).to_string())
            .env("HIVE_FAULT_KIND", fault.map_or("eio", |f| f.kind.name()));
        let output = command.output().expect("the operation starts");
        let calls = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let (_, op, path) = (parts.next()?, parts.next()?, parts.next()?);
                Some(Call {
                    op: op.to_owned(),
                    path: PathBuf::from(path),
                })
            })
            .collect();
        let _ = std::fs::remove_file(&log);
        Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            calls,
        }
    }

    /// Every injection point of an operation, with every kind of fault: `prepare` makes a
    /// fresh state and returns the command that runs the operation on it; after each run,
    /// `check` judges the state the run left (it panics when that is not consistent). The
    /// first run, without a fault, counts the points (and must leave a consistent state too).
    pub fn sweep(
        &self,
        under: &Path,
        mut prepare: impl FnMut() -> Command,
        mut check: impl FnMut(Option<Fault>, &Run),
    ) -> Report {
        let clean = self.run(prepare(), under, None);
        assert!(
            clean.status.success(),
            "the operation fails without a fault: {clean:?}"
        );
        check(None, &clean);
        let points = clean.calls.len();
        assert!(
            points > 0,
            "the operation makes no call under {}",
            under.display()
        );
        let mut runs = 0;
        for at in 1..=points {
            for kind in Kind::ALL {
                let fault = Fault { at, kind };
                let run = self.run(prepare(), under, Some(fault));
                check(Some(fault), &run);
                runs += 1;
            }
        }
        Report { points, runs }
    }
}
