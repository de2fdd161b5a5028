//! Boot what the build made: the stand-in kernel and skills print their markers in QEMU
//! (`microvm` for x86_64, `virt` for aarch64).

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BUILD_TOOLS, Project, have, ok};

/// Boot an image and return its console output; QEMU is killed after `timeout`.
fn boot(command: &mut Command, timeout: Duration) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > timeout {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.wait();
    let mut console = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut console)
        .unwrap();
    console.replace('\r', "")
}

fn microvm(kernel: &Path) -> Command {
    let mut command = Command::new("qemu-system-x86_64");
    command
        .args([
            "-M",
            "microvm,x-option-roms=off,pic=off",
            "-bios",
            "/usr/share/qemu/qboot.rom",
        ])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-serial",
            "stdio",
        ])
        .args(["-device", "isa-debug-exit", "-m", "32M", "-kernel"])
        .arg(kernel);
    command
}

fn virt(kernel: &Path) -> Command {
    let mut command = Command::new("qemu-system-aarch64");
    command
        .args([
            "-M",
            "virt",
            "-cpu",
            "cortex-a53",
            "-m",
            "256M",
            "-nodefaults",
            "-no-user-config",
        ])
        .args(["-display", "none", "-serial", "stdio", "-kernel"])
        .arg(kernel);
    command
}

fn output_of(project: &Project, target: &str, step: &str) -> std::path::PathBuf {
    let path = ok(&mut project.hivebuild(&[
        "store",
        "path",
        "manifests/demo.toml",
        "--target",
        target,
        step,
    ]));
    Path::new(path.trim()).to_owned()
}

fn assert_markers(console: &str, markers: &[&str]) {
    let mut rest = console;
    for marker in markers {
        let at = rest
            .find(marker)
            .unwrap_or_else(|| panic!("`{marker}` not printed (in order); console:\n{console}"));
        rest = &rest[at + marker.len()..];
    }
}

const KERNEL_MARKERS: [&str; 4] = [
    "Bootstrapping kernel",
    "Booting all finished, dropped to user space",
    "MON|INFO: Microkit Monitor started!",
    "police: ready",
];

#[test]
fn qemu_x86_64_standins_boot_on_microvm() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("qemu-system-x86_64");
    if !have("qemu_x86_64_standins_boot_on_microvm", &tools) {
        return;
    }
    let project = Project::new();
    ok(&mut project.hivebuild(&["-q", "build", "manifests/demo.toml", "--target", "x86_64"]));
    let timeout = Duration::from_secs(20);
    let console = boot(
        &mut microvm(&output_of(&project, "x86_64", "kernel").join("kernel.elf")),
        timeout,
    );
    assert_markers(&console, &KERNEL_MARKERS);
    assert!(console.contains("board microvm, config debug"), "{console}");
    let console = boot(
        &mut microvm(&output_of(&project, "x86_64", "skill-net").join("skill.elf")),
        timeout,
    );
    assert_markers(
        &console,
        &[
            "net: booting",
            "net: granted net:udp:4001",
            "net: listening (16MiB, restart always)",
            "net: ready",
        ],
    );
    let console = boot(
        &mut microvm(&output_of(&project, "x86_64", "skill-pdf").join("skill.elf")),
        timeout,
    );
    assert_markers(&console, &["pdf: booting", "pdf: ready"]);
    // The hosted Brain runs as a process.
    let brain = output_of(&project, "x86_64", "brain").join("bin/brain");
    let stdout = ok(&mut Command::new(brain).args(["--beats", "2"]));
    assert_eq!(
        stdout,
        "brain: ready\nbrain: heartbeat 1\nbrain: heartbeat 2\n"
    );
    // The packed system image holds every component, in order.
    let image = std::fs::read(output_of(&project, "x86_64", "system").join("system.img")).unwrap();
    assert!(image.starts_with(b"HIVEPACK1\n"));
    assert_eq!(u32::from_le_bytes(image[10..14].try_into().unwrap()), 4);
}

#[test]
fn qemu_aarch64_standins_boot_on_virt() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["qemu-system-aarch64", "aarch64-linux-gnu-gcc"]);
    if !have("qemu_aarch64_standins_boot_on_virt", &tools) {
        return;
    }
    if !Path::new("/usr/lib/rustlib/src/rust/library").is_dir()
        && !have("qemu_aarch64_standins_boot_on_virt", &["rust-web-src"])
    {
        return;
    }
    let project = Project::new();
    ok(&mut project.hivebuild(&[
        "-q",
        "build",
        "manifests/demo.toml",
        "--target",
        "qemu-virt-aarch64",
    ]));
    let timeout = Duration::from_secs(30);
    let console = boot(
        &mut virt(&output_of(&project, "qemu-virt-aarch64", "kernel").join("kernel.elf")),
        timeout,
    );
    assert_markers(&console, &KERNEL_MARKERS);
    assert!(
        console.contains("board qemu_virt_aarch64, config debug"),
        "{console}"
    );
    let console = boot(
        &mut virt(&output_of(&project, "qemu-virt-aarch64", "skill-net").join("skill.elf")),
        timeout,
    );
    assert_markers(&console, &["net: booting", "net: ready"]);
    // The Brain is a static library for its protection domain, with its entry point.
    let library = output_of(&project, "qemu-virt-aarch64", "brain").join("lib/libbrain.a");
    let symbols = ok(Command::new("aarch64-linux-gnu-nm")
        .arg("--defined-only")
        .arg(&library));
    assert!(
        symbols.contains("T hive_brain_tick"),
        "no entry point in {}",
        library.display()
    );
}
