//! QEMU: which machine boots a target's images, and a runner that streams the serial
//! console, stops the guest at a deadline and never leaves a QEMU process behind.
//!
//! The machines are built in for now (`microvm` + qboot for `x86_64`, `virt` and `raspi4b` for
//! `aarch64`, all TCG); the QEMU test-driver issue moves them into the target files' `[qemu]`
//! section, with KVM where a probe boot shows it works.

use std::io::Read as _;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hive_manifest::Target;
use hive_manifest::target::Arch;
use hive_process::ProcessBuilder;

/// A QEMU command line without the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub program: &'static str,
    pub args: Vec<String>,
    /// Whether the guest can power the machine off (microvm's debug-exit port, PSCI on
    /// virt). A Raspberry Pi cannot: its boot ends at the deadline.
    pub powers_off: bool,
    pub description: &'static str,
}

pub fn machine_for(target: &Target) -> Machine {
    const COMMON: [&str; 4] = ["-nodefaults", "-no-user-config", "-display", "none"];
    let (program, specific, powers_off, description): (_, &[&str], _, _) = match target.arch {
        Arch::X86_64 => (
            "qemu-system-x86_64",
            &[
                "-M",
                "microvm,x-option-roms=off,pic=off",
                "-bios",
                "/usr/share/qemu/qboot.rom",
                "-serial",
                "stdio",
                "-device",
                "isa-debug-exit",
                "-m",
                "32M",
                "-accel",
                "tcg",
            ],
            true,
            "microvm + qboot, TCG",
        ),
        // The console is the mini-UART, QEMU's second serial port.
        Arch::Aarch64 if target.board.starts_with("rpi4") => (
            "qemu-system-aarch64",
            &["-M", "raspi4b", "-serial", "null", "-serial", "stdio"],
            false,
            "raspi4b, TCG",
        ),
        Arch::Aarch64 => (
            "qemu-system-aarch64",
            &[
                "-M",
                "virt",
                "-cpu",
                "cortex-a53",
                "-m",
                "256M",
                "-serial",
                "stdio",
            ],
            true,
            "virt, Cortex-A53, TCG",
        ),
    };
    Machine {
        program,
        args: COMMON
            .iter()
            .chain(specific)
            .map(|arg| (*arg).to_owned())
            .collect(),
        powers_off,
        description,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QemuError {
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
    /// QEMU's exit status, when it exited by itself.
    pub status: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
}

/// Boot `image` (as `-kernel`) and pass console output to `on_output` as it comes. QEMU is
/// killed at the deadline; it also dies with the calling thread (`PR_SET_PDEATHSIG`).
pub fn boot(
    machine: &Machine,
    image: &Path,
    timeout: Duration,
    on_output: &mut dyn FnMut(&[u8]),
) -> Result<Boot, QemuError> {
    let command = ProcessBuilder::new(machine.program)
        .args(&machine.args)
        .arg("-kernel")
        .arg(image)
        .die_with_parent();
    let started = Instant::now();
    let mut child = command.spawn_piped().map_err(|source| QemuError::Start {
        program: machine.program.to_owned(),
        source,
    })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0_u8; 4096];
        while let Ok(read) = stdout.read(&mut buffer) {
            if read == 0 || sender.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut console = Vec::new();
    let mut timed_out = false;
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        match receiver.recv_timeout(left.min(Duration::from_millis(50))) {
            Ok(bytes) => {
                on_output(&bytes);
                console.extend_from_slice(&bytes);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let status = child.wait().ok().and_then(|s| s.code());
    let _ = reader.join();
    for bytes in receiver.try_iter() {
        on_output(&bytes);
        console.extend_from_slice(&bytes);
    }
    Ok(Boot {
        console: String::from_utf8_lossy(&console).replace('\r', ""),
        status: if timed_out { None } else { status },
        timed_out,
        duration: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use hive_manifest::target::{CToolchain, CrateType, RustTarget};

    use super::*;

    fn target(arch: Arch, board: &str) -> Target {
        Target {
            name: "t".into(),
            arch,
            board: board.into(),
            description: String::new(),
            rust: RustTarget {
                triple: String::new(),
                build_std: Vec::new(),
                crate_type: CrateType::Bin,
            },
            c: CToolchain {
                cross_prefix: String::new(),
                packages: Vec::new(),
            },
            image: None,
            assets: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn each_target_gets_its_machine() {
        let microvm = machine_for(&target(Arch::X86_64, "microvm"));
        assert_eq!(microvm.program, "qemu-system-x86_64");
        assert!(
            microvm
                .args
                .windows(2)
                .any(|w| w == ["-device", "isa-debug-exit"]),
            "guests can power off"
        );
        assert!(
            microvm
                .args
                .iter()
                .any(|a| a == "/usr/share/qemu/qboot.rom")
        );
        let virt = machine_for(&target(Arch::Aarch64, "qemu_virt_aarch64"));
        assert!(virt.args.windows(2).any(|w| w == ["-M", "virt"]) && virt.powers_off);
        let pi = machine_for(&target(Arch::Aarch64, "rpi4b_4gb"));
        assert!(pi.args.windows(2).any(|w| w == ["-M", "raspi4b"]) && !pi.powers_off);
    }

    #[test]
    fn a_missing_qemu_is_an_error_not_a_hang() {
        let machine = Machine {
            program: "qemu-system-none",
            args: Vec::new(),
            powers_off: true,
            description: "",
        };
        let error = boot(
            &machine,
            Path::new("/dev/null"),
            Duration::from_secs(1),
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "failed to start `qemu-system-none`");
    }

    #[test]
    fn a_guest_that_never_stops_is_killed_at_the_deadline() {
        // `sh -c` as a stand-in for QEMU: prints, then hangs; it gets `-kernel IMAGE` as
        // positional parameters.
        let machine = Machine {
            program: "sh",
            args: vec!["-c".into(), "echo booted; exec sleep 30".into()],
            powers_off: true,
            description: "",
        };
        let mut seen = Vec::new();
        let boot = boot(
            &machine,
            Path::new("/dev/null"),
            Duration::from_millis(500),
            &mut |b| seen.extend_from_slice(b),
        )
        .unwrap();
        assert!(boot.timed_out);
        assert_eq!(boot.status, None);
        assert_eq!(boot.console, "booted\n");
        assert_eq!(seen, b"booted\n");
        assert!(boot.duration < Duration::from_secs(5));
    }
}
