//! One runner for external tools.
//!
//! Every program hivebuild starts (cargo, make, cmake, git, curl, the Microkit tool, QEMU)
//! goes through [`ProcessBuilder`], so that a failure always carries the full command line,
//! the exit status and the tail of what the program printed, and so that build steps get the
//! same clean environment wherever they run. Modelled on cargo-util's `ProcessBuilder`.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// How many lines of output an error keeps.
pub const TAIL_LINES: usize = 20;

/// A command to run, with its environment spelled out.
#[derive(Clone, Debug)]
pub struct ProcessBuilder {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: BTreeMap<OsString, OsString>,
    clear_env: bool,
    umask: Option<u32>,
    die_with_parent: bool,
}

/// Why a process could not be run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("failed to start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status})")]
    Failed {
        command: String,
        status: String,
        /// The last [`TAIL_LINES`] lines of combined output.
        tail: String,
        /// Where the full output was written, when it went to a log file.
        log: Option<PathBuf>,
    },
    #[error("failed to read the output of `{command}`: {source}")]
    Io {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

impl ProcessError {
    /// The tail of the program's output, if it ran.
    pub fn tail(&self) -> Option<&str> {
        match self {
            Self::Failed { tail, .. } => Some(tail),
            _ => None,
        }
    }
}

/// What a successful run printed.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ProcessBuilder {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            cwd: None,
            env: BTreeMap::new(),
            clear_env: false,
            umask: None,
            die_with_parent: false,
        }
    }

    /// The same command line and environment for another program (one tool's environment
    /// around a script that runs it).
    #[must_use]
    pub fn with_program(mut self, program: impl AsRef<OsStr>) -> Self {
        program.as_ref().clone_into(&mut self.program);
        self
    }

    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    #[must_use]
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .insert(key.as_ref().to_owned(), value.as_ref().to_owned());
        self
    }

    /// Start from an empty environment: only variables set with [`Self::env`] are seen.
    #[must_use]
    pub fn clear_env(mut self) -> Self {
        self.clear_env = true;
        self
    }

    /// Run the program with this file-creation mask (for example `0o022`).
    #[must_use]
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask);
        self
    }

    /// Have the kernel kill the program when the thread that started it dies (Linux
    /// `PR_SET_PDEATHSIG`), so that a killed hivebuild leaves no build tools running.
    #[must_use]
    pub fn die_with_parent(mut self) -> Self {
        self.die_with_parent = true;
        self
    }

    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The command line as a person would type it, for messages.
    pub fn display(&self) -> String {
        let mut line = shell_quote(&self.program);
        for arg in &self.args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        line
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if self.clear_env {
            command.env_clear();
        }
        command.envs(&self.env);
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        if self.umask.is_some() || self.die_with_parent {
            before_exec(&mut command, self.umask, self.die_with_parent);
        }
        command
    }

    /// Run to completion, capturing stdout and stderr; fail unless it exits 0.
    pub fn output(&self) -> Result<Output, ProcessError> {
        let output = retry_busy(|| self.command().stdin(Stdio::null()).output())
            .map_err(|source| self.spawn_error(source))?;
        if output.status.success() {
            return Ok(Output {
                stdout: output.stdout,
                stderr: output.stderr,
            });
        }
        let mut combined = output.stdout;
        combined.extend_from_slice(&output.stderr);
        Err(self.failed(output.status, &combined, None))
    }

    /// Start the program with stdin, stdout and stderr piped; the caller owns the child (and
    /// must wait for it).
    pub fn spawn_piped(&self) -> std::io::Result<std::process::Child> {
        retry_busy(|| {
            self.command()
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        })
    }

    /// Run to completion with stdout and stderr going to `log` (created or truncated);
    /// fail unless it exits 0, keeping the log's tail in the error.
    pub fn run_logged(&self, log: &Path) -> Result<(), ProcessError> {
        let io_error = |source| ProcessError::Io {
            command: self.display(),
            source,
        };
        let file = File::options()
            .create(true)
            .append(true)
            .read(true)
            .open(log)
            .map_err(io_error)?;
        let status = retry_busy(|| {
            self.command()
                .stdin(Stdio::null())
                .stdout(file.try_clone()?)
                .stderr(file.try_clone()?)
                .status()
        })
        .map_err(|source| self.spawn_error(source))?;
        if status.success() {
            return Ok(());
        }
        let tail = read_tail(log).map_err(io_error)?;
        Err(self.failed(status, &tail, Some(log.to_owned())))
    }

    fn spawn_error(&self, source: std::io::Error) -> ProcessError {
        ProcessError::Spawn {
            command: self.display(),
            source,
        }
    }

    fn failed(&self, status: ExitStatus, output: &[u8], log: Option<PathBuf>) -> ProcessError {
        ProcessError::Failed {
            command: self.display(),
            status: describe_status(status),
            tail: last_lines(&String::from_utf8_lossy(output), TAIL_LINES),
            log,
        }
    }
}

impl fmt::Display for ProcessBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Run `start` again while it fails with "text file busy": a program written just now (a
/// test's script, a tool a build step made) cannot be executed while any process still holds
/// it open for writing, and a fork by another thread between the write and its close holds it
/// for a moment. A few short waits outlast that; any other error returns at once.
fn retry_busy<T>(mut start: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut attempt = 0_u64;
    loop {
        match start() {
            Err(error)
                if error.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 20 =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
            }
            result => return result,
        }
    }
}

#[expect(
    unsafe_code,
    reason = "umask and the parent-death signal are set between fork and exec"
)]
fn before_exec(command: &mut Command, umask: Option<u32>, die_with_parent: bool) {
    use std::os::unix::process::CommandExt;
    let mask = umask.map(|mask| libc::mode_t::from(u16::try_from(mask & 0o777).unwrap_or(0o022)));
    // SAFETY: umask and prctl are async-signal-safe and touch no memory of the parent.
    unsafe {
        command.pre_exec(move || {
            if let Some(mask) = mask {
                libc::umask(mask);
            }
            if die_with_parent && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

fn read_tail(path: &Path) -> std::io::Result<Vec<u8>> {
    const MAX: u64 = 64 * 1024;
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The last `count` lines of `text`.
pub fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

fn shell_quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_command_status_and_tail() {
        let error = ProcessBuilder::new("sh")
            .arg("-c")
            .arg("for i in $(seq 1 30); do echo line$i; done; exit 3")
            .output()
            .unwrap_err();
        let ProcessError::Failed {
            command,
            status,
            tail,
            ..
        } = &error
        else {
            panic!("unexpected error {error:?}");
        };
        assert!(command.starts_with("sh -c 'for i in"), "{command}");
        assert_eq!(status, "exit status 3");
        assert_eq!(tail.lines().count(), TAIL_LINES);
        assert!(tail.ends_with("line30"));
        assert!(!tail.contains("line10\n"));
    }

    #[test]
    fn clean_environment_and_umask() {
        let out = ProcessBuilder::new("/bin/sh")
            .args(["-c", "umask; echo ${HOME:-unset}; echo $X"])
            .clear_env()
            .env("X", "kept")
            .umask(0o022)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "0022\nunset\nkept\n"
        );
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let error = ProcessBuilder::new("/nonexistent/tool")
            .output()
            .unwrap_err();
        assert!(matches!(error, ProcessError::Spawn { .. }));
        assert!(error.to_string().contains("/nonexistent/tool"));
    }

    #[test]
    fn logged_failure_points_at_log() {
        let dir = std::env::temp_dir().join(format!("hive-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("step.log");
        let error = ProcessBuilder::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 1"])
            .run_logged(&log)
            .unwrap_err();
        assert_eq!(error.tail(), Some("out\nerr"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
