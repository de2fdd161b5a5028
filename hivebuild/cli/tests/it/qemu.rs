//! Boot what the build made, through `hivebuild run`: the stand-in kernel and skills print
//! their markers in QEMU (`microvm` for `x86_64`, `virt` and `raspi4b` for `aarch64`).

use std::path::Path;
use std::process::Command;

use crate::support::{BUILD_TOOLS, Project, have, ok};

/// A copy of the project, if building and booting for `x86_64` can be tested here.
fn x86_64_project(test: &str) -> Option<Project> {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("qemu-system-x86_64");
    have(test, &tools).then(Project::new)
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

const KERNEL: [&str; 4] = [
    "Bootstrapping kernel",
    "Booting all finished, dropped to user space",
    "MON|INFO: Microkit Monitor started!",
    "police: ready",
];
const NET: [&str; 4] = [
    "net: booting",
    "net: granted net:udp:4001",
    "net: listening (16MiB, restart always)",
    "net: ready",
];
const PDF: [&str; 2] = ["pdf: booting", "pdf: ready"];

fn run(project: &Project, target: &str, timeout: &str) -> String {
    ok(&mut project.hivebuild(&[
        "-q",
        "run",
        "manifests/standins.toml",
        "--target",
        target,
        "--timeout",
        timeout,
    ]))
}

fn aarch64_tools(test: &str) -> bool {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["qemu-system-aarch64", "aarch64-linux-gnu-gcc"]);
    // Bare-metal aarch64 needs a toolchain with the standard library's sources (build-std).
    have(test, &tools)
        && (Path::new("/usr/lib/rustlib/src/rust/library").is_dir()
            || have(test, &["rust-web-src"]))
}

#[test]
fn qemu_x86_64_demo_boots_on_microvm() {
    let Some(project) = x86_64_project("qemu_x86_64_demo_boots_on_microvm") else {
        return;
    };
    let console = run(&project, "x86_64", "20");
    assert_markers(
        &console,
        &[
            &KERNEL[..],
            &NET,
            &PDF,
            &["brain: ready", "brain: heartbeat 3"],
        ]
        .concat(),
    );
    assert!(console.contains("board microvm, config debug"), "{console}");
    // The packed system image holds the kernel, the Brain and both skills.
    let system = ok(&mut project.hivebuild(&[
        "store",
        "path",
        "manifests/standins.toml",
        "--target",
        "x86_64",
        "system",
    ]));
    let image = std::fs::read(Path::new(system.trim()).join("system.img")).unwrap();
    assert!(image.starts_with(b"HIVEPACK1\n"));
    assert_eq!(u32::from_le_bytes(image[10..14].try_into().unwrap()), 4);
}

#[test]
fn qemu_aarch64_demo_boots_on_virt() {
    if !aarch64_tools("qemu_aarch64_demo_boots_on_virt") {
        return;
    }
    let project = Project::new();
    let console = run(&project, "standins-virt-aarch64", "30");
    let smoke = ok(&mut project.hivebuild(&[
        "test",
        "smoke",
        "manifests/standins.toml",
        "--target",
        "standins-virt-aarch64",
    ]));
    assert!(smoke.contains("smoke: 3 passed, 0 failed"), "{smoke}");
    assert_markers(&console, &[&KERNEL[..], &NET, &PDF].concat());
    assert!(
        console.contains("board qemu_virt_aarch64, config debug"),
        "{console}"
    );
    // The Brain is a static library for its protection domain, with its entry point.
    let brain = ok(&mut project.hivebuild(&[
        "store",
        "path",
        "manifests/standins.toml",
        "--target",
        "standins-virt-aarch64",
        "brain",
    ]));
    let symbols = ok(Command::new("aarch64-linux-gnu-nm")
        .arg("--defined-only")
        .arg(Path::new(brain.trim()).join("lib/libbrain.a")));
    assert!(
        symbols.contains("T hive_brain_tick"),
        "no entry point in the Brain's library"
    );
}

#[test]
fn qemu_rpi4_demo_boots_on_raspi4b() {
    if !aarch64_tools("qemu_rpi4_demo_boots_on_raspi4b") {
        return;
    }
    let project = Project::new();
    // A Raspberry Pi cannot power itself off: each boot ends at the deadline.
    let console = run(&project, "standins-rpi4", "4");
    let smoke = ok(&mut project.hivebuild(&[
        "test",
        "smoke",
        "manifests/standins.toml",
        "--target",
        "standins-rpi4",
    ]));
    assert!(
        smoke.contains("smoke: 3 passed, 0 failed") && smoke.contains("raspi4b, TCG"),
        "{smoke}"
    );
    assert_markers(&console, &[&KERNEL[..], &NET, &PDF].concat());
    assert!(
        console.contains("board rpi4b_4gb, config release"),
        "the rpi4 kernel override applies: {console}"
    );
    assert_eq!(
        console.matches("Bootstrapping kernel").count(),
        1,
        "only the first core boots: {console}"
    );
}

/// Build the target's image, take the named files out of its boot partition with mtools, and
/// boot the first (with `-dtb` the second, when given) the way the target's machine does.
fn boot_from_image(test: &str, target: &str, files: &[&str], markers: &[&str]) {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("mcopy");
    if !have(test, &tools) {
        return;
    }
    let project = Project::new();
    let out = project.root().join("out");
    ok(&mut project.hivebuild(&[
        "-q",
        "image",
        "manifests/standins.toml",
        "--target",
        target,
        "-o",
        out.to_str().unwrap(),
    ]));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("demo-{target}.manifest.json"))).unwrap(),
    )
    .unwrap();
    let boot = manifest["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "boot")
        .unwrap();
    let image = out.join(format!("demo-{target}.img"));
    let taken: Vec<std::path::PathBuf> = files
        .iter()
        .map(|file| {
            let to = project.root().join(file);
            ok(Command::new("mcopy")
                .arg("-i")
                .arg(format!("{}@@{}", image.display(), boot["offset"]))
                .arg(format!("::{file}"))
                .arg(&to)
                .env("MTOOLS_SKIP_CHECK", "1"));
            to
        })
        .collect();
    let definition =
        hive_manifest::load_manifest(&project.root().join("manifests/standins.toml")).unwrap();
    let target = hive_manifest::load_target(&definition, target).unwrap();
    let mut machine = hive_qemu::machine_for(&target, hive_qemu::Accel::Tcg).unwrap();
    if let Some(dtb) = taken.get(1) {
        machine
            .args
            .extend(["-dtb".to_owned(), dtb.display().to_string()]);
    }
    let booted = hive_qemu::boot(
        &machine,
        &taken[0],
        std::time::Duration::from_secs(20),
        &mut |_| hive_qemu::Flow::Continue,
    )
    .unwrap();
    assert_markers(&booted.console, markers);
}

#[test]
fn qemu_x86_64_image_boots_its_kernel_on_microvm() {
    boot_from_image(
        "qemu_x86_64_image_boots_its_kernel_on_microvm",
        "x86_64",
        &["kernel.elf"],
        &KERNEL,
    );
}

#[test]
fn qemu_virt_image_boots_its_kernel_on_virt() {
    if aarch64_tools("qemu_virt_image_boots_its_kernel_on_virt") {
        boot_from_image(
            "qemu_virt_image_boots_its_kernel_on_virt",
            "standins-virt-aarch64",
            &["kernel.elf"],
            &KERNEL,
        );
    }
}

#[test]
fn qemu_rpi4_image_boots_its_kernel_and_device_tree_on_raspi4b() {
    if aarch64_tools("qemu_rpi4_image_boots_its_kernel_and_device_tree_on_raspi4b") {
        boot_from_image(
            "qemu_rpi4_image_boots_its_kernel_and_device_tree_on_raspi4b",
            "standins-rpi4",
            &["kernel8.img", "bcm2711-rpi-4-b.dtb"],
            &[
                &KERNEL[..1],
                &["board rpi4b_4gb, config release"],
                &KERNEL[1..],
            ]
            .concat(),
        );
    }
}

#[test]
fn qemu_smoke_passes_and_writes_reports() {
    let Some(project) = x86_64_project("qemu_smoke_passes_and_writes_reports") else {
        return;
    };
    let reports = project.root().join("reports");
    let junit = project.root().join("ci/smoke.xml");
    std::fs::create_dir_all(junit.parent().unwrap()).unwrap();
    let stdout = ok(&mut project.hivebuild(&[
        "test",
        "smoke",
        "manifests/standins.toml",
        "--target",
        "x86_64",
        "--report-dir",
        reports.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]));
    assert!(stdout.contains("smoke: 3 passed, 0 failed"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"3\"") && xml.contains("failures=\"0\""),
        "{xml}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("smoke.json")).unwrap()).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        assert_eq!(case["passed"], true);
        assert!(
            ["kvm", "tcg"].contains(&case["accel"]["accel"].as_str().unwrap()),
            "the report says which accelerator"
        );
        assert_eq!(
            case["reached"].as_array().unwrap().len(),
            if case["name"] == "kernel" { 4 } else { 2 }
        );
    }
    let transcript = std::fs::read_to_string(reports.join("skill-net.console.log")).unwrap();
    assert!(transcript.contains("net: ready"), "{transcript}");
}

#[test]
fn qemu_smoke_names_a_missing_marker_and_a_panic() {
    let Some(project) = x86_64_project("qemu_smoke_names_a_missing_marker_and_a_panic") else {
        return;
    };
    // The kernel never says what the test waits for, and the PDF skill panics.
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let broken = demo.replace(
        "{ expect = \"police: ready\", within = \"5s\" }",
        "{ expect = \"police: all skills up\", within = \"1s\" }",
    );
    project.write("manifests/broken.toml", &broken);
    project.write(
        "components/skills/pdf/main.c",
        "#include \"console.h\"\nvoid skill_main(void)\n{\n    console_puts(\"Kernel panic - not syncing: test\\n\");\n}\n",
    );
    let reports = project.root().join("reports");
    let output = project
        .hivebuild(&[
            "test",
            "smoke",
            "manifests/broken.toml",
            "--target",
            "x86_64",
            "--report-dir",
            reports.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(13), "{stdout}{stderr}");
    assert!(
        stdout.contains("FAIL  kernel: `police: all skills up` did not appear within 1000 ms\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("        | brain: heartbeat"),
        "the last console lines are shown: {stdout}"
    );
    assert!(stdout.contains("FAIL  skill-pdf: fail pattern `(?i)kernel panic` appeared: Kernel panic - not syncing: test"), "{stdout}");
    assert!(stdout.contains("pass  skill-net"), "{stdout}");
    assert!(
        stderr.contains("error: 2 of 3 boots did not do what `[tests.smoke]` expects"),
        "{stderr}"
    );
    let xml = std::fs::read_to_string(reports.join("smoke.junit.xml")).unwrap();
    assert!(xml.contains("failures=\"2\""), "{xml}");
}

/// Children of `pid` running `program`, read from /proc.
fn children_named(pid: u32, program: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let parent = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if parent == Some(pid) && comm.ends_with(&program[..program.len().min(15)]) {
            found.push(child);
        }
    }
    found
}

#[test]
fn qemu_no_guest_outlives_a_killed_driver() {
    let Some(project) = x86_64_project("qemu_no_guest_outlives_a_killed_driver") else {
        return;
    };
    // A target whose guests cannot power off (no debug-exit device): they run until stopped.
    let x86 = std::fs::read_to_string(project.root().join("targets/x86_64.toml")).unwrap();
    let hang = x86
        .replace("name = \"x86_64\"", "name = \"hang\"")
        .replace(
            "args = [\"-bios\", \"/usr/share/qemu/qboot.rom\", \"-device\", \"isa-debug-exit\"]",
            "args = [\"-bios\", \"/usr/share/qemu/qboot.rom\"]",
        )
        .replace("powers-off = true", "powers-off = false");
    project.write("targets/hang.toml", &hang);
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let manifest = demo
        .replace(
            "targets = [\"standins-virt-aarch64\", \"standins-rpi4\", \"x86_64\"]",
            "targets = [\"hang\"]",
        )
        .replace("[kernel.overrides]\nstandins-rpi4 = \"release\"\n", "");
    project.write("manifests/hang.toml", &manifest);
    ok(&mut project.hivebuild(&["-q", "build", "manifests/hang.toml"]));

    let mut driver = project
        .hivebuild(&["-q", "run", "manifests/hang.toml", "--timeout", "120"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let guests = loop {
        let guests = children_named(driver.id(), "qemu-system-x86_64");
        if !guests.is_empty() || started.elapsed() > std::time::Duration::from_secs(30) {
            break guests;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!guests.is_empty(), "the driver never started QEMU");
    driver.kill().unwrap(); // SIGKILL: no chance to clean up
    driver.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for guest in guests {
        let state = std::fs::read_to_string(format!("/proc/{guest}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "QEMU {guest} outlived its driver: {state}"
        );
    }
}

#[test]
fn qemu_boot_latency_reports_and_enforces_budgets() {
    let Some(project) = x86_64_project("qemu_boot_latency_reports_and_enforces_budgets") else {
        return;
    };
    let reports = project.root().join("reports");
    let output = project
        .hivebuild(&[
            "test",
            "boot-latency",
            "manifests/standins.toml",
            "--target",
            "x86_64",
            "--runs",
            "3",
            "--report-dir",
            reports.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("boot-latency.json")).unwrap()).unwrap();
    let images = report["images"].as_array().unwrap();
    let names: Vec<&str> = images.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["floor", "kernel", "skill-net", "skill-pdf"]);
    for image in images {
        for mode in ["cold", "warm"] {
            let stats = &image[mode];
            assert_eq!(stats["runs"], 3, "{image}");
            let (min, median, max) = (
                stats["min_ms"].as_f64().unwrap(),
                stats["median_ms"].as_f64().unwrap(),
                stats["max_ms"].as_f64().unwrap(),
            );
            assert!(0.0 < min && min <= median && median <= max, "{stats}");
        }
    }
    assert_eq!(images[0]["warm_over_floor"], 1.0);
    assert_eq!(images[2]["budget_ms"], 50.0);
    // The exit status follows the verdicts in the report.
    let all_within = images.iter().all(|i| i["within_budget"] == true);
    assert_eq!(
        output.status.code(),
        Some(if all_within { 0 } else { 13 }),
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(reports.join("boot-latency.svg"))
            .unwrap()
            .contains("<svg")
    );
    assert!(
        std::fs::read_to_string(reports.join("boot-latency.junit.xml"))
            .unwrap()
            .contains("tests=\"4\"")
    );
    assert!(
        stdout.contains("skill-net") && stdout.contains("50 ms"),
        "{stdout}"
    );

    // A budget no guest can meet fails the run and names the skill.
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let strict = demo.replacen("boot-budget = \"50ms\"", "boot-budget = \"1us\"", 1);
    project.write("manifests/strict.toml", &strict);
    let output = project
        .hivebuild(&[
            "test",
            "boot-latency",
            "manifests/strict.toml",
            "--target",
            "x86_64",
            "--runs",
            "2",
            "--report-dir",
            reports.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(13));
    assert!(String::from_utf8_lossy(&output.stdout).contains("MISSED"));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("over budget or not ready: `skill-net`"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn qemu_faults_restart_a_crashed_skill_and_stop_it_past_its_limit() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("qemu-system-x86_64");
    if !have(
        "qemu_faults_restart_a_crashed_skill_and_stop_it_past_its_limit",
        &tools,
    ) {
        return;
    }
    let project = Project::new();
    let reports = project.root().join("reports");
    let stdout = ok(&mut project.hivebuild(&[
        "test",
        "faults",
        "manifests/standins.toml",
        "--target",
        "x86_64",
        "--report-dir",
        reports.to_str().unwrap(),
    ]));
    assert!(stdout.contains("pass  net-restart: restarts ["), "{stdout}");
    assert!(
        stdout.contains("pass  net-past-limit: restarts ["),
        "{stdout}"
    );
    assert!(stdout.contains("faults: 2 passed, 0 failed"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("faults.json")).unwrap()).unwrap();
    let past_limit = &report["scenarios"][1]["outcome"];
    assert_eq!(
        past_limit["restarts_ms"].as_array().unwrap().len(),
        3,
        "restart-limit 3: three restarts, then stopped"
    );
    let console =
        std::fs::read_to_string(reports.join("faults-net-past-limit.console.log")).unwrap();
    assert!(
        console.contains("police: net stopped after 4 faults"),
        "{console}"
    );
    let after = console.split("police: net stopped").nth(1).unwrap();
    assert!(
        after.contains("brain: heartbeat"),
        "the Brain beats on after the skill is stopped: {console}"
    );

    // A Brain pause longer than allowed (the stand-in beats every 100 ms) fails the run.
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    project.write(
        "manifests/impatient.toml",
        &demo.replace("max-gap = \"1s\"", "max-gap = \"20ms\""),
    );
    let output = project
        .hivebuild(&[
            "test",
            "faults",
            "manifests/impatient.toml",
            "--target",
            "x86_64",
            "--report-dir",
            reports.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(13));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("FAIL  net-restart: the Brain's heartbeat"),
        "{stdout}"
    );
}

#[test]
fn qemu_tests_take_the_kernel_from_an_existing_image() {
    let Some(project) = x86_64_project("qemu_tests_take_the_kernel_from_an_existing_image") else {
        return;
    };
    let release = project.root().join("release");
    ok(&mut project.hivebuild(&[
        "-q",
        "image",
        "manifests/standins.toml",
        "--target",
        "x86_64",
        "-o",
        release.to_str().unwrap(),
    ]));
    let reports = project.root().join("reports");
    let args = |suite: &'static str| {
        vec![
            "test",
            suite,
            "manifests/standins.toml",
            "--target",
            "x86_64",
            "--image",
            release.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ]
    };
    let smoke = ok(&mut project.hivebuild(&args("smoke")));
    assert!(
        smoke.contains("pass  kernel") && smoke.contains("smoke: 1 passed, 0 failed"),
        "{smoke}"
    );
    let faults = ok(&mut project.hivebuild(&args("faults")));
    assert!(faults.contains("faults: 2 passed, 0 failed"), "{faults}");
    // An image whose kernel was changed after it was made is what gets tested.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(release.join("demo-x86_64.manifest.json")).unwrap())
            .unwrap();
    let boot = &manifest["partitions"][0];
    let image = release.join("demo-x86_64.img");
    let mut bytes = std::fs::read(&image).unwrap();
    let start = usize::try_from(boot["offset"].as_u64().unwrap()).unwrap();
    let end = start + usize::try_from(boot["size"].as_u64().unwrap()).unwrap();
    let at = start
        + bytes[start..end]
            .windows(13)
            .position(|w| w == b"police: ready")
            .expect("the kernel's text");
    bytes[at..at + 13].copy_from_slice(b"police: READY");
    std::fs::write(&image, bytes).unwrap();
    let output = project.hivebuild(&args("smoke")).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(13),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
