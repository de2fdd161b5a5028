//! seL4 through Microkit (`system = "microkit"` targets). Without the upstream sources these
//! check the plan, the error messages and the platform files; with them
//! (`HIVEBUILD_SEL4_SRC`, `HIVEBUILD_MICROKIT_SRC`, `HIVEBUILD_RUST_SEL4_SRC`: local clones
//! at the pinned commits) `sel4_real_*` builds the real images and boots them.

use std::path::PathBuf;

use crate::support::{BUILD_TOOLS, Project, have, ok, plan_json, repo, step};

/// What planning a Microkit target needs here (the SDK step's tools).
fn sdk_tools(test: &str) -> bool {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["aarch64-linux-gnu-gcc", "dtc", "xmllint"]);
    have(test, &tools)
}

/// `--source` for each seL4 source: empty folders, enough to plan.
fn empty_sources(project: &Project) -> Vec<String> {
    ["sel4", "microkit", "rust-sel4"]
        .iter()
        .flat_map(|name| {
            let dir = project.root().join("upstream").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            ["--source".to_owned(), format!("{name}={}", dir.display())]
        })
        .collect()
}

#[test]
fn sel4_plan_builds_one_sdk_for_both_boards() {
    if !sdk_tools("sel4_plan_builds_one_sdk_for_both_boards") {
        return;
    }
    let project = Project::new();
    let sources = empty_sources(&project);
    let virt = plan_json(&project, "qemu-virt-aarch64", &sources);
    let rpi4 = plan_json(&project, "rpi4", &sources);
    let names: Vec<&str> = virt["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for expected in [
        "microkit-sdk",
        "brain",
        "police",
        "pd-brain",
        "skill-net",
        "skill-pdf",
        "system-description",
        "system",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    // One SDK, for every board and configuration of the hive's Microkit targets: the second
    // target's image reuses the first's.
    let sdk = step(&virt, "microkit-sdk");
    assert_eq!(sdk["key"], step(&rpi4, "microkit-sdk")["key"]);
    assert_eq!(
        sdk["kind"]["boards"],
        serde_json::json!(["qemu_virt_aarch64", "rpi4b_1gb"])
    );
    assert_eq!(sdk["kind"]["configs"], serde_json::json!(["debug"]));
    // Two Rust toolchains: the host's for the tool, one for aarch64-unknown-none.
    for role in [
        "host-rustc",
        "host-cargo",
        "rustc",
        "cargo",
        "python3",
        "libclang",
    ] {
        assert!(sdk["toolchain"].get(role).is_some(), "no {role} in {sdk}");
    }
    // The system description is the board's; the Microkit tool reads it.
    let described = step(&virt, "system-description")["kind"]["contents"]
        .as_str()
        .unwrap();
    assert!(described.contains("phys_addr=\"0x9000000\""), "{described}");
    let described = step(&rpi4, "system-description")["kind"]["contents"]
        .as_str()
        .unwrap();
    assert!(
        described.contains("phys_addr=\"0xfe215000\""),
        "{described}"
    );
    assert_eq!(
        step(&rpi4, "system")["kind"]["program"]["path"],
        "bin/microkit"
    );
    // The police knows each skill's restart limit, in child-id order, and whether it is lazy
    // (`l`: started when the Brain asks) and one the Brain holds a channel to (`b`).
    let police = &step(&virt, "police")["kind"]["vars"];
    assert_eq!(police["SKILLS"]["text"], "net:3:b,pdf:3:lb");
    assert_eq!(police["CONSOLE"]["text"], "pl011");
}

#[test]
fn sel4_missing_tools_are_named_with_what_to_install() {
    let project = Project::new();
    let sources = empty_sources(&project);
    let mut args = vec![
        "plan",
        "manifests/demo.toml",
        "--target",
        "qemu-virt-aarch64",
    ];
    args.extend(sources.iter().map(String::as_str));
    // Nothing on PATH: every tool of the SDK step is missing.
    let empty = project.root().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let output = project
        .hivebuild(&args)
        .env("PATH", &empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    for line in [
        "`dtc` was not found on PATH (install it: `apt install device-tree-compiler`; Nix: `nixpkgs#dtc`)",
        "`xmllint` was not found on PATH (install it: `apt install libxml2-utils`; Nix: `nixpkgs#libxml2`)",
        "`aarch64-linux-gnu-gcc` was not found on PATH (install it: `apt install gcc-aarch64-linux-gnu",
        "`cmake` was not found on PATH (install it: `apt install cmake`; Nix: `nixpkgs#cmake`)",
        // The SDK's capDL initialiser is linked by rust-lld: Debian has it in rust-web-llvm.
        "`rust-lld`, the linker of `aarch64-unknown-none`, was not found",
        "`apt install rust-web-llvm`",
    ] {
        assert_eq!(
            stderr.matches(line).count(),
            1,
            "`{line}` not named exactly once in:\n{stderr}"
        );
    }
    // `make` and the C compiler serve many steps, and are named once all the same.
    assert_eq!(
        stderr.matches("`make` was not found").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn sel4_offline_without_sources_says_how_to_give_them() {
    if !sdk_tools("sel4_offline_without_sources_says_how_to_give_them") {
        return;
    }
    let project = Project::new();
    let output = project
        .hivebuild(&[
            "build",
            "manifests/demo.toml",
            "--target",
            "qemu-virt-aarch64",
            "--offline",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("forbids fetching it") && stderr.contains("HIVEBUILD_"),
        "{stderr}"
    );
}

#[test]
fn sel4_boards_and_target_files_agree() {
    // Every Microkit target boots with the QEMU flags its board needs.
    let root = repo();
    let manifest = hive_manifest::load_manifest(&root.join("manifests/demo.toml")).unwrap();
    let mut seen = 0;
    for name in &manifest.hive.targets {
        let target = hive_manifest::load_target(&manifest, name).unwrap();
        if target.system != hive_manifest::SystemKind::Microkit {
            continue;
        }
        seen += 1;
        let board = hive_sel4::load_board(&hive_sel4::boards_file(&manifest.layers), &target.board)
            .unwrap();
        let machine = hive_qemu::machine_for(&target, hive_qemu::Accel::Tcg).unwrap();
        let line = format!(" {} ", machine.args.join(" "));
        for pair in board.qemu.chunks(2) {
            let value = pair.get(1).map_or("", String::as_str);
            let present = match pair[0].as_str() {
                "-machine" => {
                    line.contains(&format!(" -machine {value}"))
                        || line.contains(&format!(" -M {value}"))
                }
                "-m" => line.contains(&format!(" -m {value} ")),
                flag => line.contains(&format!(" {flag} {value} ")),
            };
            assert!(
                present,
                "target `{name}` lacks `{} {value}` of board `{}`: {line}",
                pair[0], board.name
            );
        }
    }
    assert!(seen >= 2, "the Microkit targets were not found");
}

#[test]
fn sel4_lock_pins_what_the_platform_pins() {
    let root = repo();
    let path = root.join("sel4-platform/pins.toml");
    let pins = hive_plan::Lock::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    let lock = hive_plan::Lock::load(&root).unwrap();
    for (name, pin) in &pins.sources {
        assert_eq!(
            lock.sources.get(name),
            Some(pin),
            "hive.lock differs for `{name}`"
        );
    }
}

/// Local clones of seL4, Microkit and rust-sel4, by source name.
type Sources = [(String, PathBuf); 3];

/// The local clones of the seL4 sources, when given.
fn upstream(test: &str) -> Option<Sources> {
    let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
    if let (Some(sel4), Some(microkit), Some(rust_sel4)) = (
        var("HIVEBUILD_SEL4_SRC"),
        var("HIVEBUILD_MICROKIT_SRC"),
        var("HIVEBUILD_RUST_SEL4_SRC"),
    ) {
        Some([
            ("sel4".into(), sel4),
            ("microkit".into(), microkit),
            ("rust-sel4".into(), rust_sel4),
        ])
    } else {
        {
            eprintln!(
                "{test}: did not run: set HIVEBUILD_SEL4_SRC, HIVEBUILD_MICROKIT_SRC and \
                 HIVEBUILD_RUST_SEL4_SRC to local clones of seL4, Microkit and rust-sel4 at the \
                 commits of sel4-platform/pins.toml (docs/sel4.md)"
            );
            None
        }
    }
}

fn with_upstream(mut command: std::process::Command, sources: &Sources) -> std::process::Command {
    for (name, path) in sources {
        command.env(hive_plan::source_env_var(name), path);
    }
    command
}

#[test]
fn sel4_real_images_boot_and_survive_faults_on_virt_and_raspi4b() {
    let Some(sources) = upstream("sel4_real_images_boot_and_survive_faults_on_virt_and_raspi4b")
    else {
        return;
    };
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend([
        "qemu-system-aarch64",
        "aarch64-linux-gnu-gcc",
        "dtc",
        "xmllint",
    ]);
    if !have("sel4_real_images", &tools) {
        return;
    }
    let project = Project::new();
    for target in ["qemu-virt-aarch64", "rpi4"] {
        let out = project.root().join(format!("out-{target}"));
        let built = ok(&mut with_upstream(
            project.hivebuild(&[
                "--json",
                "image",
                "manifests/demo.toml",
                "--target",
                target,
                "-o",
                out.to_str().unwrap(),
            ]),
            &sources,
        ));
        // The second target reuses the SDK the first built.
        let sdk_built = crate::support::events(&built)
            .iter()
            .any(|e| e["event"] == "built" && e["step"] == "microkit-sdk");
        assert_eq!(
            sdk_built,
            target == "qemu-virt-aarch64",
            "{target}: {built}"
        );
        let smoke = ok(&mut with_upstream(
            project.hivebuild(&[
                "test",
                "smoke",
                "manifests/demo.toml",
                "--target",
                target,
                "--image",
                out.to_str().unwrap(),
            ]),
            &sources,
        ));
        assert!(
            smoke.contains("smoke: 3 passed, 0 failed"),
            "{target}: {smoke}"
        );
        let faults = ok(&mut with_upstream(
            project.hivebuild(&["test", "faults", "manifests/demo.toml", "--target", target]),
            &sources,
        ));
        assert!(faults.contains("0 failed"), "{target}: {faults}");
        lazy_pdf_starts_only_when_asked(&project, target);
        police_times_each_skill(&project, &sources, target);
    }
}

/// The smoke boot of the lazy `pdf`: the police held it stopped, the Brain asked for it when
/// `ask pdf` was typed, and only then did it boot, timed by the police.
fn lazy_pdf_starts_only_when_asked(project: &Project, target: &str) {
    let console = std::fs::read_to_string(
        project
            .root()
            .join(format!("test-reports/demo-{target}/skill-pdf.console.log")),
    )
    .unwrap();
    let at = |line: &str| {
        console
            .find(line)
            .unwrap_or_else(|| panic!("{target}: no `{line}` in:\n{console}"))
    };
    let held = at("police: pdf is lazy: stopped until the Brain asks for it");
    let asked = at("brain: channel 2: asked for");
    let started = at("police: pdf: starting, as the Brain asks");
    let booting = at("pdf: booting");
    assert!(
        held < asked && asked < started && started < booting,
        "{target}: out of order:\n{console}"
    );
    assert!(at("police: net ready in ") < asked, "{target}: {console}");
}

/// `test boot-latency` on a seL4 board times each skill's start by the police's generic
/// timer: the first start, and (net, which `[tests.faults]` crashes) the restart.
fn police_times_each_skill(project: &Project, sources: &Sources, target: &str) {
    let latency = ok(&mut with_upstream(
        project.hivebuild(&[
            "test",
            "boot-latency",
            "manifests/demo.toml",
            "--target",
            target,
            "--runs",
            "2",
        ]),
        sources,
    ));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            project
                .root()
                .join(format!("test-reports/demo-{target}/boot-latency.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let images = report["images"].as_array().unwrap();
    for (skill, restarts) in [("skill-net", true), ("skill-pdf", false)] {
        let image = images
            .iter()
            .find(|i| i["name"] == skill)
            .unwrap_or_else(|| panic!("{target}: no {skill} in {latency}"));
        assert_eq!(image["clock"], "police", "{target}: {image}");
        assert_eq!(image["cold"]["runs"], 2, "{target}: {image}");
        assert_eq!(image["warm"].is_object(), restarts, "{target}: {image}");
        let median = image["cold"]["median_ms"].as_f64().unwrap();
        assert!(median > 0.0 && median < 1000.0, "{target}: {image}");
    }
}
