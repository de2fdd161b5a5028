//! Every subcommand as snapshots (exit code, stdout, stderr): its `--help` (the list is
//! walked from `hivebuild --help`, so a new command gets a snapshot or fails here), its main
//! success path on one copy of the project, `--json` on every command that reports, and
//! each exit code docs/cli.md documents.

use insta_cmd::assert_cmd_snapshot;

use crate::support::{BUILD_TOOLS, Outside, Project, have, hivebuild};

/// Snapshot filters: paths, hashes, times, dates, versions and sizes that differ per run
/// or machine become placeholders.
fn filters() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/tmp/[^\s`'\x22)]+", "[TEMP]");
    settings.add_filter(r"[0-9abcdfghijklmnpqrsvwxyz]{32}-", "[HASH]-");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    settings.add_filter(r"sha256 [0-9a-f]{16}", "sha256 [SHA]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[DATE]");
    settings.add_filter(r"\b\d+(\.\d+)? ?(ms|s)\b", "[TIME]");
    settings.add_filter(r"\[[0-9., ]*\] ms", "[TIMES] ms");
    // Figures in tables (`12.3`, `1.5x`), but not versions (`0.1.0`); twice, for neighbours.
    // (their column widths with them).
    settings.add_filter(r"(?m)[ \t]+\d+\.\d+(x?)([ \t]|$)", " [N]${1}${2}");
    settings.add_filter(r"(?m)[ \t]+\d+\.\d+(x?)([ \t]|$)", " [N]${1}${2}");
    settings.add_filter(r"\d+ MiB used", "[N] MiB used");
    // What this machine has: tool paths and versions, and whether KVM works.
    settings.add_filter(r"(?m)^(\s+note\s+kvm: ).*$", "${1}[KVM]");
    settings.add_filter(
        r"(?m)^(  ok\s+\S+\s+)/\S+ \(.*\)$",
        "${1}[PATH] ([VERSION])",
    );
    settings.add_filter(
        r"(`qemu-system-[a-z0-9_]+`: )/\S+ \(.*\)",
        "${1}[PATH] ([VERSION])",
    );
    settings.add_filter(r"(KVM|TCG): [^)\n]*\)", "[ACCEL]: [WHY])");
    settings.add_filter(r"(?m)^machine: .*$", "machine: [MACHINE]");
    settings.add_filter(r"\b(KVM|TCG)\b", "[ACCEL]");
    settings
}

/// The subcommands `hivebuild ARGS --help` lists, with their own subcommands.
fn commands(args: &[String]) -> Vec<Vec<String>> {
    let output = hivebuild()
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let Some(list) = help.split("Commands:\n").nth(1) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for line in list.lines().take_while(|l| !l.is_empty()) {
        // A command starts at column 2; wrapped descriptions are indented further.
        let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) else {
            continue;
        };
        let name = name.split_whitespace().next().unwrap().to_owned();
        if name == "help" {
            continue;
        }
        let mut path = args.to_vec();
        path.push(name);
        found.extend(commands(&path));
        found.push(path);
    }
    found
}

#[test]
fn cli_every_subcommand_has_help() {
    let _guard = filters().bind_to_scope();
    let all = commands(&[]);
    assert!(all.len() >= 30, "{all:?}");
    for path in all {
        let mut command = hivebuild();
        command.env("COLUMNS", "100").args(&path).arg("--help");
        assert_cmd_snapshot!(format!("help-{}", path.join("-")), command);
    }
}

/// Exit codes that need no build: 0, 2, 3, 6, 11, 12, 13, 14, 15.
#[test]
fn cli_exit_codes_without_a_build() {
    let _guard = filters().bind_to_scope();
    let outside = Outside::new();
    let scratch = outside.path();
    let file = scratch.join("a-file");
    std::fs::write(&file, "not a bundle").unwrap();
    let file = file.to_str().unwrap();
    // A hive of `new`, which has no `[tests.faults]`.
    let created = outside
        .hivebuild(scratch, &["new", "bees"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let bees = outside.hive().join("hive.toml");
    let bees = bees.to_str().unwrap();
    let cases: [(&str, u8, Vec<&str>); 9] = [
        ("0-ok", 0, vec!["check", bees]),
        ("2-usage", 2, vec!["plan", bees]),
        (
            "3-invalid-manifest",
            3,
            vec!["caps", bees, "--format", "system", "--target", "pi5"],
        ),
        ("6-store-failed", 6, vec!["--store", file, "store", "ls"]),
        (
            "11-key-failed",
            11,
            vec!["key", "generate", "--out", "/proc/hivebuild-test/key"],
        ),
        ("12-image-failed", 12, vec!["inspect", file]),
        (
            "13-test-failed",
            13,
            vec!["test", "faults", bees, "--target", "x86_64"],
        ),
        (
            "14-update-refused",
            14,
            vec!["apply", file, "--device", "device"],
        ),
        ("15-new-failed", 15, vec!["new", "bees"]),
    ];
    // With `--json`, a failed outcome is one document that carries its error.
    let doctor = outside
        .hivebuild(
            scratch,
            &[
                "--json",
                "--offline",
                "doctor",
                bees,
                "--target",
                "qemu-virt-aarch64",
            ],
        )
        .output()
        .unwrap();
    let document = failed_document(&doctor, 4);
    assert_eq!(document["ready"], false);

    for (name, code, args) in cases {
        let mut command = if args[0] == "--store" {
            let mut command = hivebuild();
            command.current_dir(scratch).args(&args);
            command
        } else {
            outside.hivebuild(scratch, &args)
        };
        snapshot_run(&format!("exit-{name}"), &mut command, code);
    }
}

/// The `--json` output of a run that failed with `code`: one document, its error inside.
fn failed_document(output: &std::process::Output, code: u8) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(i32::from(code)), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["error"]["code"], code, "{document}");
    document
}

/// Run `command` once, check its exit code, and snapshot that run as insta-cmd does (its
/// macro would run the command again, and a command that writes, such as `apply`, would
/// show what it does the second time).
fn snapshot_run(name: &str, command: &mut std::process::Command, code: u8) {
    let output = command.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(i32::from(code)),
        "{name}: {output:?}"
    );
    let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
    let mut settings = insta::Settings::clone_current();
    settings.set_description(format!("hivebuild {}", args.join(" ")));
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::assert_snapshot!(
            name,
            format!(
                "success: {:?}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
                output.status.success(),
                output.status.code().unwrap_or(!0),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        );
    });
}

/// Each command's main success path on one copy of the project (`x86_64` stand-ins: built,
/// imaged, signed, bundled, applied, published, fetched, booted, tested), `--json` on every
/// command that reports, and the exit codes that need a build: 1, 4, 5, 7, 8, 9, 10.
#[test]
fn cli_every_command_succeeds_on_one_project() {
    if !have(
        "cli_every_command_succeeds_on_one_project",
        &[BUILD_TOOLS, &["qemu-system-x86_64", "git"]].concat(),
    ) {
        return;
    }
    let _guard = filters().bind_to_scope();
    let project = Project::new();
    let run = |name: &str, code: u8, args: &[&str]| {
        let mut command = project.hivebuild(args);
        command.env("COLUMNS", "100");
        snapshot_run(&format!("{code}-{name}"), &mut command, code);
    };
    let json = |args: &[&str]| {
        let output = project
            .hivebuild(&[&["--json"], args].concat())
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(!lines.is_empty(), "{args:?} printed nothing with --json");
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line}"));
        }
    };
    let m = "manifests/standins.toml";
    let t = ["--target", "x86_64"];
    // A copy without boot budgets: the latency snapshot must not depend on this machine's load.
    let standins = std::fs::read_to_string(project.root().join(m)).unwrap();
    project.write(
        "manifests/relaxed.toml",
        &standins.replace("boot-budget = \"50ms\"\n", ""),
    );

    // Reporting commands, each as text and as JSON.
    let reporting = reporting_commands(m, &t);
    for (name, args) in &reporting {
        run(name, 0, args);
        // JSON of the rest: commands that write (a key, a root, an edit, a publication) are
        // walked once below; `build --check` rebuilds everything and is walked by `build`.
        if ![
            "key-generate",
            "root-init",
            "skill-add",
            "skill-remove",
            "publish",
            "build-check",
        ]
        .contains(name)
        {
            json(args);
        }
    }
    writing_and_booting_commands(m, &t, &run, &json);
    exit_codes_after_a_build(&project, &run);
}

/// The commands that report, with the arguments of their success path, in an order where
/// each finds what the ones before it made.
fn reporting_commands<'a>(m: &'a str, t: &[&'a str]) -> Vec<(&'static str, Vec<&'a str>)> {
    vec![
        ("check", vec!["check", m]),
        ("plan", [&["plan", m][..], t].concat()),
        ("caps", vec!["caps", m]),
        ("lock", vec!["lock", m]),
        ("build", [&["-j", "1", "build", m][..], t].concat()),
        (
            "build-check",
            [&["-j", "1", "build", m, "--check"][..], t].concat(),
        ),
        (
            "store-path",
            [&["store", "path", m, "kernel"][..], t].concat(),
        ),
        ("key-generate", vec!["key", "generate", "--out", "keys/ops"]),
        (
            "root-init",
            vec![
                "root",
                "init",
                "--key",
                "keys/ops.pub",
                "--sign-key",
                "keys/ops.key",
                "-o",
                "keys/root.json",
            ],
        ),
        (
            "image",
            [
                &["image", m, "-o", "release", "--sign-key", "keys/ops.key"][..],
                t,
            ]
            .concat(),
        ),
        (
            "verify",
            vec!["verify", "release", "--trust-root", "keys/root.json"],
        ),
        (
            "inspect",
            vec![
                "inspect",
                "release/demo-x86_64.img",
                "--files",
                "release/demo-x86_64.manifest.json",
            ],
        ),
        (
            "bundle",
            vec![
                "bundle",
                "--to",
                "release",
                "-o",
                "demo.bundle",
                "--bundle-version",
                "1",
                "--sign-key",
                "keys/ops.key",
            ],
        ),
        ("bundle-inspect", vec!["bundle", "inspect", "demo.bundle"]),
        (
            "publish",
            vec![
                "publish",
                "demo.bundle",
                "--repo",
                "repo",
                "--trust-root",
                "keys/root.json",
                "--sign-key",
                "keys/ops.key",
            ],
        ),
        ("test-smoke", [&["test", "smoke", m][..], t].concat()),
        (
            "skill-add",
            vec![
                "skill",
                "add",
                "sign",
                "--path",
                "components/skills/pdf",
                "--caps",
                "channel:brain",
                "-m",
                m,
            ],
        ),
        ("skill-remove", vec!["skill", "remove", "sign", "-m", m]),
    ]
}

/// The commands that write or boot, and `--json` of those that write.
fn writing_and_booting_commands(
    m: &str,
    t: &[&str],
    run: &dyn Fn(&str, u8, &[&str]),
    json: &dyn Fn(&[&str]),
) {
    json(&[
        "publish",
        "demo.bundle",
        "--repo",
        "repo-2",
        "--trust-root",
        "keys/root.json",
        "--sign-key",
        "keys/ops.key",
    ]);
    json(&["key", "generate", "--out", "keys/other"]);
    json(&[
        "root",
        "init",
        "--key",
        "keys/other.pub",
        "--sign-key",
        "keys/other.key",
        "-o",
        "keys/other-root.json",
    ]);
    json(&[
        "skill",
        "add",
        "sign",
        "--path",
        "components/skills/pdf",
        "--caps",
        "channel:brain",
        "-m",
        m,
    ]);
    json(&["skill", "remove", "sign", "-m", m]);
    run(
        "sign",
        0,
        &["sign", "release", "--sign-key", "keys/ops.key"],
    );
    run(
        "root-rotate",
        0,
        &[
            "root",
            "rotate",
            "--root",
            "keys/root.json",
            "--key",
            "keys/ops.pub",
            "--sign-key",
            "keys/ops.key",
            "-o",
            "keys/root-2.json",
        ],
    );
    run(
        "apply",
        0,
        &[
            "apply",
            "demo.bundle",
            "--device",
            "device",
            "--trust-root",
            "keys/root.json",
        ],
    );
    run(
        "fetch-update",
        0,
        &["fetch-update", "--repo", "repo", "--device", "device"],
    );
    json(&["fetch-update", "--repo", "repo", "--device", "device"]);
    run("store-ls", 0, &["-q", "store", "ls"]);
    json(&["store", "ls"]);
    json(&["store", "path"]);
    run("store-gc", 0, &["store", "gc"]);
    json(&["store", "gc"]);
    run("doctor", 0, &["doctor", m, "--target", "x86_64"]);
    json(&["doctor", m, "--target", "x86_64"]);
    run("test-faults", 0, &[&["test", "faults", m][..], t].concat());
    run(
        "test-boot-latency",
        0,
        &[
            &[
                "test",
                "boot-latency",
                "manifests/relaxed.toml",
                "--runs",
                "2",
            ][..],
            t,
        ]
        .concat(),
    );
    run("run", 0, &[&["run", m, "--timeout", "20"][..], t].concat());
    run("completions", 0, &["-q", "completions", "bash"]);
    run("man", 0, &["man", "--out", "man"]);
    run("new", 0, &["new", "bees"]);
}

/// 1, 4, 5, 7, 8, 9 and 10, on the project `run` works in.
fn exit_codes_after_a_build(project: &Project, run: &dyn Fn(&str, u8, &[&str])) {
    let t = ["--target", "x86_64"];
    // 1: a skill that does not compile.
    project.write(
        "components/broken/main.c",
        "int main(void) { return nope; }\n",
    );
    let standins = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let broken = standins.replace(
        "path = \"components/skills/pdf\"",
        "path = \"components/broken\"",
    );
    project.write("manifests/broken.toml", &broken);
    run(
        "build-failed",
        1,
        &[&["-j", "1", "build", "manifests/broken.toml"][..], &t].concat(),
    );
    // 4: a git source that is not locked.
    std::fs::remove_file(project.root().join("hive.lock")).unwrap();
    run(
        "not-locked",
        4,
        &[
            "plan",
            "manifests/demo.toml",
            "--target",
            "qemu-virt-aarch64",
        ],
    );
    // 5: a skill base that stamps its output with the time.
    crate::support::add_noisy(project);
    run(
        "not-reproducible",
        5,
        &[
            &["-j", "1", "build", "manifests/noisy.toml", "--check"][..],
            &t,
        ]
        .concat(),
    );
    // 7: a git source offline, not in the store.
    project.write(
        "manifests/remote.toml",
        &standins.replace(
            "[sources.standins]\npath = \"components/standins\"",
            "[sources.standins]\ngit = \"https://example.invalid/standins.git\"\nrev = \"main\"",
        ),
    );
    run(
        "fetch-failed",
        7,
        &["--offline", "lock", "manifests/remote.toml"],
    );
    // 8: a step not built yet.
    run(
        "not-built",
        8,
        &[
            &["store", "path", "manifests/broken.toml", "skill-pdf"][..],
            &t,
        ]
        .concat(),
    );
    // 9: a QEMU that is not there.
    let target = std::fs::read_to_string(project.root().join("targets/x86_64.toml")).unwrap();
    project.write(
        "targets/x86_64.toml",
        &target.replace("qemu-system-x86_64", "qemu-system-none"),
    );
    run(
        "boot-failed",
        9,
        &[&["-q", "run", "manifests/standins.toml"][..], &t].concat(),
    );
    project.write("targets/x86_64.toml", &target);
    // 10: a release whose image was changed after it was signed.
    let image = project.root().join("release/demo-x86_64.img");
    let mut bytes = std::fs::read(&image).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&image, bytes).unwrap();
    run(
        "verify-failed",
        10,
        &["verify", "release", "--trust-root", "keys/root.json"],
    );
    inspect_json_is_one_document(project);
}

/// `inspect --json` against a file list that disagrees with the image: the inspection and
/// its error are one document (exit 10).
fn inspect_json_is_one_document(project: &Project) {
    let files = project.root().join("release/demo-x86_64.manifest.json");
    let mut list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(files).unwrap()).unwrap();
    list["partitions"][0]["files"][0]["sha256"] = "0".repeat(64).into();
    project.write("wrong.manifest.json", &list.to_string());
    let inspected = project
        .hivebuild(&[
            "--json",
            "inspect",
            "release/demo-x86_64.img",
            "--files",
            "wrong.manifest.json",
        ])
        .output()
        .unwrap();
    let document = failed_document(&inspected, 10);
    let differences = document["differences"].as_array().unwrap();
    assert!(!differences.is_empty(), "{document}");
}
