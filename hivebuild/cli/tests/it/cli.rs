//! Command-line behaviour as snapshots: exit code, stdout and stderr, paths filtered.

use insta_cmd::assert_cmd_snapshot;

use crate::support::{BUILD_TOOLS, have, hivebuild, repo};

/// Snapshot settings: temporary and store paths and hashes replaced by placeholders.
fn filters() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/tmp/[^\s`'\x22]+", "[TEMP]");
    settings.add_filter(&regex_escape(&repo().display().to_string()), "[REPO]");
    settings.add_filter(r"[0-9abcdfghijklmnpqrsvwxyz]{32}-", "[HASH]-");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// `hivebuild ARGS` run in the repository.
fn in_repo(args: &[&str]) -> std::process::Command {
    let mut command = hivebuild();
    command.current_dir(repo()).args(args);
    command
}

#[test]
fn cli_check_accepts_the_demo() {
    let _guard = filters().bind_to_scope();
    assert_cmd_snapshot!(in_repo(&["check", "manifests/demo.toml"]));
}

#[test]
fn cli_check_reports_every_error_with_location_and_help() {
    let _guard = filters().bind_to_scope();
    assert_cmd_snapshot!(in_repo(&[
        "check",
        "hivebuild/crates/hive-manifest/tests/invalid/many-errors.toml"
    ]));
}

#[test]
fn cli_check_json_lists_diagnostics() {
    let output = hivebuild()
        .current_dir(repo())
        .args([
            "--json",
            "check",
            "hivebuild/crates/hive-manifest/tests/invalid/one-sided-channel.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let diagnostic = &document["error"]["diagnostics"][0];
    assert_eq!(diagnostic["line"], 24);
    assert_eq!(diagnostic["column"], 9);
    assert_eq!(
        diagnostic["message"],
        "one-sided channel: `brain` has no `channel:pdf`"
    );
    assert_eq!(
        diagnostic["help"],
        "add \"channel:pdf\" to the caps of `brain`"
    );
}

#[test]
fn cli_missing_manifest() {
    let _guard = filters().bind_to_scope();
    assert_cmd_snapshot!(in_repo(&["check", "manifests/nope.toml"]));
}

#[test]
fn cli_target_must_be_chosen_and_known() {
    let _guard = filters().bind_to_scope();
    let store = tempfile::tempdir().unwrap();
    assert_cmd_snapshot!(
        hivebuild()
            .current_dir(repo())
            .arg("--store")
            .arg(store.path())
            .args(["plan", "manifests/demo.toml"])
    );
    assert_cmd_snapshot!(
        hivebuild()
            .current_dir(repo())
            .arg("--store")
            .arg(store.path())
            .args(["plan", "manifests/demo.toml", "--target", "pi5"])
    );
}

#[test]
fn cli_bad_source_flag() {
    let _guard = filters().bind_to_scope();
    assert_cmd_snapshot!(in_repo(&[
        "--source",
        "kernel",
        "check",
        "manifests/demo.toml"
    ]));
}

#[test]
fn cli_plan_as_dot_and_json() {
    if !have("cli_plan_as_dot_and_json", BUILD_TOOLS) {
        return;
    }
    let _guard = filters().bind_to_scope();
    let store = tempfile::tempdir().unwrap();
    let plan = |format: &str| {
        let mut command = hivebuild();
        command.current_dir(repo()).arg("--store").arg(store.path());
        command.args([
            "plan",
            "manifests/demo.toml",
            "--target",
            "x86_64",
            "--format",
            format,
        ]);
        command
    };
    assert_cmd_snapshot!(plan("dot"));
    let json = crate::support::ok(&mut plan("json"));
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "kernel",
            "brain",
            "app-net",
            "fetch-unikraft",
            "fetch-lib-lwip",
            "fetch-fork-lwip",
            "fetch-monocypher",
            "skill-net",
            "app-pdf",
            "skill-pdf",
            "packer",
            "system"
        ]
    );
    for step in steps {
        assert_eq!(step["key"].as_str().unwrap().len(), 64);
        assert!(
            step["store_name"]
                .as_str()
                .unwrap()
                .ends_with(step["name"].as_str().unwrap())
        );
    }
    let brain = &steps[1];
    assert_eq!(brain["kind"]["kind"], "cargo");
    assert_eq!(brain["kind"]["triple"], "x86_64-unknown-linux-gnu");
    assert!(
        brain["toolchain"]["rustc"]
            .as_str()
            .unwrap()
            .contains("rustc ")
    );
}

#[test]
fn cli_store_path_without_a_step_is_the_store() {
    let store = tempfile::tempdir().unwrap();
    let stdout = crate::support::ok(
        hivebuild()
            .arg("--store")
            .arg(store.path())
            .args(["store", "path"]),
    );
    assert_eq!(
        stdout.trim(),
        store.path().canonicalize().unwrap().display().to_string()
    );
    assert!(store.path().join(".hivebuild-store").is_file());
}

#[test]
fn cli_missing_rust_std_says_how_to_get_it() {
    // A triple no toolchain here has a standard library for, and no build-std to fall back on.
    let project = crate::support::Project::new();
    project.write(
        "targets/odd.toml",
        "[target]\nname = \"odd\"\narch = \"aarch64\"\nboard = \"odd\"\n\n[rust]\ntriple = \"aarch64-unknown-uefi\"\n\
         crate-type = \"staticlib\"\n\n[c]\ncross-prefix = \"\"\n",
    );
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let odd = demo
        .replace(
            "targets = [\"standins-virt-aarch64\", \"standins-rpi4\", \"x86_64\"]",
            "targets = [\"odd\"]",
        )
        .replace("[kernel.overrides]\nstandins-rpi4 = \"release\"\n", "");
    project.write("manifests/odd.toml", &odd);
    let output = project
        .hivebuild(&["plan", "manifests/odd.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("error: failed to plan: a tool is missing:\n  - no Rust toolchain here has a standard library for `aarch64-unknown-uefi`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`rustup target add aarch64-unknown-uefi`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`apt install rustc-web cargo-web rust-web-src`; with `build-std`"),
        "{stderr}"
    );
}

#[test]
fn cli_caps_shows_who_may_touch_what() {
    let _guard = filters().bind_to_scope();
    assert_cmd_snapshot!(in_repo(&["caps", "manifests/demo.toml"]));
}

#[test]
fn cli_completions_and_man_pages_come_from_the_command_line() {
    let run = |args: &[&str]| {
        let output = crate::support::hivebuild().args(args).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let bash = run(&["completions", "bash"]);
    assert!(
        bash.contains("hivebuild__subcmd__doctor"),
        "every subcommand completes"
    );
    // From a file: the script is longer than one argument may be.
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &bash).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(script.path())
        .status()
        .unwrap();
    assert!(checked.success(), "the bash script parses");
    assert!(run(&["completions", "zsh"]).starts_with("#compdef hivebuild"));
    assert!(run(&["completions", "fish"]).contains("complete -c hivebuild"));
    let refused = crate::support::hivebuild()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));

    let page = run(&["man"]);
    assert!(page.contains(".TH hivebuild 1"), "{page}");
    assert!(page.contains("doctor"), "subcommands are listed");
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--out", dir.path().to_str().unwrap()]);
    let doctor = std::fs::read_to_string(dir.path().join("hivebuild-doctor.1")).unwrap();
    assert!(doctor.contains("\\-\\-all\\-targets"), "{doctor}");
}

#[test]
fn cli_json_is_one_document_for_plan_caps_and_store_path() {
    let project = crate::support::Project::new();
    let json = |args: &[&str]| -> serde_json::Value {
        let output = project.hivebuild(args).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        serde_json::from_str(&text).unwrap()
    };
    let caps = json(&["--json", "caps", "manifests/demo.toml"]);
    assert_eq!(caps["components"][0]["name"], "brain");
    assert_eq!(
        caps["components"][1]["caps"],
        serde_json::json!(["net:udp:4001", "channel:brain"])
    );
    let system = json(&[
        "--json",
        "caps",
        "manifests/demo.toml",
        "--format",
        "system",
        "--target",
        "rpi4",
    ]);
    assert_eq!(system["board"], "rpi4b_1gb");
    assert!(system["system"].as_str().unwrap().contains("<system>"));
    let store = json(&["--json", "store", "path"]);
    assert_eq!(store["path"], project.store.display().to_string());
    if crate::support::have(
        "cli_json_is_one_document_for_plan",
        crate::support::BUILD_TOOLS,
    ) {
        let plan = json(&[
            "--json",
            "plan",
            "manifests/demo.toml",
            "--target",
            "x86_64",
        ]);
        assert_eq!(plan["target"], "x86_64");
        assert!(plan["steps"].as_array().unwrap().len() > 3);
    }
}

#[test]
fn cli_skill_add_then_check_keeps_comments_and_remove_undoes_it() {
    let _guard = filters().bind_to_scope();
    let project = crate::support::Project::new();
    let manifest = project.root().join("manifests/standins.toml");
    let before = std::fs::read_to_string(&manifest).unwrap();

    assert_cmd_snapshot!(project.hivebuild(&[
        "skill",
        "add",
        "ocr",
        "--template",
        "net-listener",
        "--caps",
        "channel:brain,channel:pdf",
        "--memory",
        "16MiB",
        "-m",
        "manifests/standins.toml",
    ]));
    assert_cmd_snapshot!(project.hivebuild(&["check", "manifests/standins.toml"]));
    // The whole file after the edit: every comment and blank line where it was.
    insta::assert_snapshot!(std::fs::read_to_string(&manifest).unwrap());

    // Refused: the result would not pass `check`; the file is as it was.
    let after_add = std::fs::read_to_string(&manifest).unwrap();
    assert_cmd_snapshot!(project.hivebuild(&[
        "skill",
        "remove",
        "net",
        "-m",
        "manifests/standins.toml",
    ]));
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), after_add);

    let output = project
        .hivebuild(&["skill", "remove", "ocr", "-m", "manifests/standins.toml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        before,
        "remove undoes add"
    );
}
