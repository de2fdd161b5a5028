//! QEMU: which machine boots a target's images, and a runner that streams the serial
//! console, stops the guest at a deadline and never leaves a QEMU process behind.
//!
//! The machines are built in for now (`microvm` + qboot for `x86_64`, `virt` and `raspi4b` for
//! `aarch64`, all TCG); the QEMU test-driver issue moves them into the target files' `[qemu]`
//! section, with KVM where a probe boot shows it works.

pub mod channel;
pub mod expect;
pub mod faults;
pub mod floor;
pub mod latency;
pub mod peer;
pub mod plot;
pub mod qmp;
pub mod report;
pub mod skill;
pub mod skillfaults;
pub mod skillvm;
pub mod spawn;
pub mod suite;

use std::io::Read as _;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hive_manifest::Target;
use hive_process::ProcessBuilder;

/// A QEMU command line without the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub program: String,
    pub args: Vec<String>,
    /// Whether the guest can power the machine off; if not, a boot ends at its deadline.
    pub powers_off: bool,
    /// For reports: machine and accelerator.
    pub description: String,
}

/// The accelerator a boot uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

/// Which accelerator, and why: reports say both.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AccelChoice {
    pub accel: Accel,
    pub reason: String,
}

/// The machine of a target's `[qemu]` section, with the chosen accelerator.
pub fn machine_for(target: &Target, accel: Accel) -> Result<Machine, QemuError> {
    let config = target.qemu.as_ref().ok_or_else(|| QemuError::NoConfig {
        target: target.name.clone(),
    })?;
    let mut args: Vec<String> = vec!["-M".into(), config.machine.clone()];
    if let Some(cpu) = &config.cpu {
        args.extend(["-cpu".into(), cpu.clone()]);
    }
    args.extend(["-m".into(), format!("{}M", config.memory >> 20)]);
    args.extend(["-nodefaults", "-no-user-config", "-display", "none"].map(str::to_owned));
    for _ in 0..config.console {
        args.extend(["-serial".into(), "null".into()]);
    }
    args.extend(["-serial".into(), "stdio".into()]);
    let accel_name = match accel {
        Accel::Kvm => "kvm",
        Accel::Tcg => "tcg",
    };
    args.extend(["-accel".into(), accel_name.into()]);
    args.extend(config.args.iter().cloned());
    let machine_name = config.machine.split(',').next().unwrap_or_default();
    Ok(Machine {
        program: config.binary.clone(),
        args,
        powers_off: config.powers_off,
        description: format!("{machine_name}, {}", accel_name.to_uppercase()),
    })
}

/// What can be told of KVM for a target before any probe boot: `Err` with the accelerator
/// when the target file decides, the architectures differ, or `/dev/kvm` cannot be opened
/// (with the reason); `Ok` when only a probe boot can tell.
pub fn kvm_precheck(target: &Target) -> Result<(), AccelChoice> {
    let choice = |accel, reason: String| Err(AccelChoice { accel, reason });
    let Some(config) = &target.qemu else {
        return choice(Accel::Tcg, "no [qemu] section".into());
    };
    match config.accel {
        hive_manifest::qemu::Accel::Tcg => {
            return choice(Accel::Tcg, "the target file asks for TCG".into());
        }
        hive_manifest::qemu::Accel::Kvm => {
            return choice(Accel::Kvm, "the target file asks for KVM".into());
        }
        hive_manifest::qemu::Accel::Auto => {}
    }
    if std::env::consts::ARCH != target.arch.as_str() {
        return choice(
            Accel::Tcg,
            "KVM runs guests of the host's architecture only".into(),
        );
    }
    if let Err(error) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return choice(Accel::Tcg, format!("no usable /dev/kvm ({error})"));
    }
    Ok(())
}

/// Choose the accelerator for booting `probe` (an image of this target): TCG or KVM as the
/// target file says, or for `auto` KVM only when `/dev/kvm` is usable, the guest's
/// architecture is the host's, and a probe boot under KVM prints `marker` (any output when
/// none is given). Probe answers are cached in `cache` by QEMU binary and image.
pub fn choose_accel(
    target: &Target,
    probe: &Path,
    marker: Option<&str>,
    cache: Option<&Path>,
) -> AccelChoice {
    if let Err(choice) = kvm_precheck(target) {
        return choice;
    }
    let choice = |accel, reason: &str| AccelChoice {
        accel,
        reason: reason.to_owned(),
    };
    let Some(config) = &target.qemu else {
        return choice(Accel::Tcg, "no [qemu] section");
    };
    let key = format!(
        "{}|{}|{}",
        stamp(&config.binary),
        image_digest(probe),
        marker.unwrap_or("")
    );
    let mut cached: std::collections::BTreeMap<String, bool> = cache
        .and_then(|file| std::fs::read(file).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let works = if let Some(works) = cached.get(&key) {
        *works
    } else {
        let works = machine_for(target, Accel::Kvm)
            .ok()
            .and_then(|machine| {
                boot(&machine, probe, Duration::from_secs(5), &mut |_| {
                    Flow::Continue
                })
                .ok()
            })
            .is_some_and(|booted| match marker {
                Some(marker) => booted.console.contains(marker),
                None => !booted.console.trim().is_empty(),
            });
        cached.insert(key, works);
        if let Some(file) = cache {
            let _ = std::fs::write(file, serde_json::to_vec_pretty(&cached).unwrap_or_default());
        }
        works
    };
    if works {
        choice(Accel::Kvm, "a probe boot under KVM worked")
    } else {
        choice(
            Accel::Tcg,
            "a probe boot under KVM did not reach its marker (nested KVM cannot run this guest here)",
        )
    }
}

fn stamp(program: &str) -> String {
    let path = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| program.into());
    std::fs::metadata(&path).map_or_else(
        |_| program.to_owned(),
        |m| {
            use std::os::unix::fs::MetadataExt as _;
            format!("{}:{}:{}", path.display(), m.len(), m.mtime())
        },
    )
}

fn image_digest(path: &Path) -> String {
    use sha2::Digest as _;
    std::fs::read(path).map_or_else(
        |_| "unreadable".to_owned(),
        |bytes| format!("{:x}", sha2::Sha256::digest(bytes)),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error("target `{target}` has no `[qemu]` section: hivebuild does not know how to boot it")]
    NoConfig { target: String },
    #[error("QMP: {message}")]
    Qmp { message: String },
    #[error("no free loopback port to forward to the guest")]
    NoPort(#[source] std::io::Error),
    #[error("a skill's channel to the Brain: {0}")]
    Channel(String),
    #[error("failed to start `{program}`")]
    Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// How a boot ended.
#[derive(Debug)]
pub struct Boot {
    pub console: String,
    /// What QEMU itself printed (warnings, errors), apart from the guest's console.
    pub qemu_messages: String,
    /// QEMU's exit status, when it exited by itself.
    pub status: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
}

/// What a console watcher wants after seeing output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop the guest now (the watcher has its answer).
    Stop,
}

/// Boot `image` (as `-kernel`) and pass console output to `on_output` as it comes (and an
/// empty slice every 50 ms, so a watcher can keep its own deadlines). QEMU is killed at the
/// deadline or when the watcher says stop; it also dies with the calling thread
/// (`PR_SET_PDEATHSIG`).
pub fn boot(
    machine: &Machine,
    image: &Path,
    timeout: Duration,
    on_output: &mut dyn FnMut(&[u8]) -> Flow,
) -> Result<Boot, QemuError> {
    Guest::spawn(machine, image, &[])?.watch(timeout, on_output)
}

/// A running QEMU whose console is being read. Killed when dropped.
pub struct Guest {
    child: std::process::Child,
    input: Option<std::process::ChildStdin>,
    console: mpsc::Receiver<Vec<u8>>,
    reader: Option<std::thread::JoinHandle<()>>,
    errors: Option<std::thread::JoinHandle<String>>,
    started: Instant,
}

impl Guest {
    /// Start QEMU on `image` with `extra` arguments after the machine's.
    pub fn spawn(machine: &Machine, image: &Path, extra: &[String]) -> Result<Self, QemuError> {
        let command = ProcessBuilder::new(&machine.program)
            .args(&machine.args)
            .args(extra)
            .arg("-kernel")
            .arg(image)
            .die_with_parent();
        let started = Instant::now();
        let mut child = command.spawn_piped().map_err(|source| QemuError::Start {
            program: machine.program.clone(),
            source,
        })?;
        let input = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let (sender, console) = mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0_u8; 4096];
            while let Ok(read) = stdout.read(&mut buffer) {
                if read == 0 || sender.send(buffer[..read].to_vec()).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            input,
            console,
            reader: Some(reader),
            errors: Some(errors),
            started,
        })
    }

    /// QEMU's process id (to stop it from elsewhere while `watch` holds the guest).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What is written here reaches the guest's console (QEMU's stdin). Take it before
    /// `watch` to type commands while watching.
    pub fn take_input(&mut self) -> Option<std::process::ChildStdin> {
        self.input.take()
    }

    /// Read the console until the guest stops, `on_output` says stop, or `timeout` (from
    /// now) passes; then make sure QEMU is gone.
    pub fn watch(
        mut self,
        timeout: Duration,
        on_output: &mut dyn FnMut(&[u8]) -> Flow,
    ) -> Result<Boot, QemuError> {
        let watching = Instant::now();
        let mut console = Vec::new();
        let mut timed_out = false;
        let mut stopped = false;
        loop {
            let left = timeout.saturating_sub(watching.elapsed());
            let flow = match self
                .console
                .recv_timeout(left.min(Duration::from_millis(50)))
            {
                Ok(bytes) => {
                    console.extend_from_slice(&bytes);
                    on_output(&bytes)
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                    timed_out = true;
                    let _ = self.child.kill();
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => on_output(&[]),
            };
            if flow == Flow::Stop {
                stopped = true;
                let _ = self.child.kill();
                break;
            }
        }
        let status = self.child.wait().ok().and_then(|s| s.code());
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let qemu_messages = self
            .errors
            .take()
            .and_then(|e| e.join().ok())
            .unwrap_or_default();
        if !stopped {
            for bytes in self.console.try_iter() {
                console.extend_from_slice(&bytes);
                on_output(&bytes);
            }
        }
        Ok(Boot {
            qemu_messages,
            console: String::from_utf8_lossy(&console).replace('\r', ""),
            status: if timed_out || stopped { None } else { status },
            timed_out,
            duration: self.started.elapsed(),
        })
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use hive_manifest::qemu::QemuConfig;
    use hive_manifest::target::{Arch, CToolchain, CrateType, RustTarget};

    use super::*;

    fn target(arch: Arch, qemu: QemuConfig) -> Target {
        Target {
            name: "t".into(),
            arch,
            board: "b".into(),
            system: hive_manifest::SystemKind::Standins,
            description: String::new(),
            rust: RustTarget {
                triple: String::new(),
                build_std: Vec::new(),
                crate_type: CrateType::Bin,
                cpu: None,
            },
            c: CToolchain {
                cross_prefix: String::new(),
                packages: Vec::new(),
            },
            image: None,
            assets: std::collections::BTreeMap::new(),
            qemu: Some(qemu),
            root: std::path::PathBuf::new(),
        }
    }

    fn config(accel: hive_manifest::qemu::Accel, console: u8) -> QemuConfig {
        QemuConfig {
            binary: "qemu-system-x86_64".into(),
            machine: "microvm,pic=off".into(),
            cpu: Some("max".into()),
            memory: 32 << 20,
            console,
            accel,
            args: vec!["-device".into(), "isa-debug-exit".into()],
            powers_off: true,
            image_kernel: None,
            image_dtb: None,
        }
    }

    #[test]
    fn the_target_file_makes_the_command_line() {
        let machine = machine_for(
            &target(Arch::X86_64, config(hive_manifest::qemu::Accel::Tcg, 1)),
            Accel::Kvm,
        )
        .unwrap();
        assert_eq!(machine.program, "qemu-system-x86_64");
        assert_eq!(
            machine.args.join(" "),
            "-M microvm,pic=off -cpu max -m 32M -nodefaults -no-user-config -display none -serial null -serial stdio \
             -accel kvm -device isa-debug-exit"
        );
        assert_eq!(machine.description, "microvm, KVM");
        let mut bare = target(Arch::X86_64, config(hive_manifest::qemu::Accel::Tcg, 0));
        bare.qemu = None;
        assert_eq!(
            machine_for(&bare, Accel::Tcg).unwrap_err().to_string(),
            "target `t` has no `[qemu]` section: hivebuild does not know how to boot it"
        );
    }

    #[test]
    fn kvm_only_when_asked_or_proven() {
        let empty = tempfile::NamedTempFile::new().unwrap();
        let tcg = choose_accel(
            &target(Arch::X86_64, config(hive_manifest::qemu::Accel::Tcg, 0)),
            empty.path(),
            None,
            None,
        );
        assert_eq!(
            (tcg.accel, tcg.reason.as_str()),
            (Accel::Tcg, "the target file asks for TCG")
        );
        let other = if std::env::consts::ARCH == "x86_64" {
            Arch::Aarch64
        } else {
            Arch::X86_64
        };
        let foreign = choose_accel(
            &target(other, config(hive_manifest::qemu::Accel::Auto, 0)),
            empty.path(),
            None,
            None,
        );
        assert_eq!(
            (foreign.accel, foreign.reason.as_str()),
            (
                Accel::Tcg,
                "KVM runs guests of the host's architecture only"
            )
        );
        // An image that cannot boot: whatever KVM there is, the probe falls back to TCG, and
        // the answer is cached.
        let cache = tempfile::tempdir().unwrap();
        let file = cache.path().join("probe.json");
        let host = if std::env::consts::ARCH == "x86_64" {
            Arch::X86_64
        } else {
            Arch::Aarch64
        };
        let probed = choose_accel(
            &target(host, config(hive_manifest::qemu::Accel::Auto, 0)),
            empty.path(),
            Some("ready"),
            Some(&file),
        );
        assert_eq!(probed.accel, Accel::Tcg, "{}", probed.reason);
        if probed.reason.starts_with("a probe boot") {
            assert!(std::fs::read_to_string(&file).unwrap().contains("false"));
        }
    }

    #[test]
    fn a_missing_qemu_is_an_error_not_a_hang() {
        let machine = Machine {
            program: "qemu-system-none".into(),
            args: Vec::new(),
            powers_off: true,
            description: String::new(),
        };
        let error = boot(
            &machine,
            Path::new("/dev/null"),
            Duration::from_secs(1),
            &mut |_| Flow::Continue,
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "failed to start `qemu-system-none`");
    }

    #[test]
    fn a_guest_that_never_stops_is_killed_at_the_deadline() {
        // `sh -c` as a stand-in for QEMU: prints, then hangs; it gets `-kernel IMAGE` as
        // positional parameters.
        let machine = Machine {
            program: "sh".into(),
            args: vec!["-c".into(), "echo booted; exec sleep 30".into()],
            powers_off: true,
            description: String::new(),
        };
        let mut seen = Vec::new();
        let boot = boot(
            &machine,
            Path::new("/dev/null"),
            Duration::from_millis(500),
            &mut |b| {
                seen.extend_from_slice(b);
                Flow::Continue
            },
        )
        .unwrap();
        assert!(boot.timed_out);
        assert_eq!(boot.status, None);
        assert_eq!(boot.console, "booted\n");
        assert_eq!(seen, b"booted\n");
        assert!(boot.duration < Duration::from_secs(5));
    }
}
