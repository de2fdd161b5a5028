//! `hivebuild doctor`: what each target needs, found or missing, each missing tool once.

use crate::support::Project;

fn run(
    project: &Project,
    args: &[&str],
    path: Option<&std::path::Path>,
) -> (Option<i32>, String, String) {
    let mut command = project.hivebuild(args);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn cli_doctor_names_each_missing_tool_once_with_every_target_that_needs_it() {
    let project = Project::new();
    // Nothing on PATH: make, cmake, ninja and the C compilers are missing for every target.
    let empty = project.root().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();

    let (code, stdout, stderr) = run(
        &project,
        &["doctor", "manifests/standins.toml"],
        Some(&empty),
    );
    assert_eq!(code, Some(4), "{stdout}{stderr}");
    for tool in ["make", "cmake", "ninja"] {
        let line = format!("`{tool}` was not found on PATH");
        assert_eq!(
            stdout.matches(&line).count(),
            1,
            "`{line}` not once in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(
            "`make` was not found on PATH (install it: `apt install make`; Nix: `nixpkgs#gnumake`)"
        ),
        "{stdout}"
    );
    assert!(stderr.contains("things are missing"), "{stderr}");

    let (code, stdout, _) = run(
        &project,
        &[
            "doctor",
            "manifests/standins.toml",
            "--all-targets",
            "--json",
        ],
        Some(&empty),
    );
    assert_eq!(code, Some(4));
    let document: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(document["ready"], false);
    let make: Vec<&serde_json::Value> = document["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "missing" && t["detail"].as_str().unwrap().contains("`make`"))
        .collect();
    assert_eq!(make.len(), 1, "{document:#}");
    assert_eq!(make[0]["install"]["debian"], serde_json::json!(["make"]));
    assert_eq!(
        make[0]["targets"],
        serde_json::json!(["standins-virt-aarch64", "standins-rpi4", "x86_64"])
    );
}

#[test]
fn cli_doctor_offline_names_sources_not_in_the_store_and_how_to_give_them() {
    let project = Project::new();
    let (code, stdout, _) = run(
        &project,
        &[
            "doctor",
            "manifests/demo.toml",
            "--target",
            "qemu-virt-aarch64",
            "--offline",
        ],
        None,
    );
    assert_eq!(code, Some(4), "{stdout}");
    for name in ["sel4", "microkit", "rust-sel4"] {
        assert!(
            stdout.contains(&format!(
                "missing  source `{name}`: not in the store, and `--offline` forbids fetching"
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains(
            "install: give a local checkout: `--source sel4=PATH` or `HIVEBUILD_SEL4_SRC=PATH`"
        ),
        "{stdout}"
    );
    // Online, the same sources are fetched on the first build: worth saying, not a failure
    // of the machine (unless a tool is missing, which this test does not decide).
    let (_, stdout, _) = run(
        &project,
        &[
            "doctor",
            "manifests/demo.toml",
            "--target",
            "qemu-virt-aarch64",
        ],
        None,
    );
    assert!(
        stdout.contains("fetch    source `sel4`: fetched on the first build"),
        "{stdout}"
    );
}

#[test]
fn cli_doctor_without_a_manifest_outside_a_project_says_what_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::support::hivebuild()
        .current_dir(dir.path())
        .args([
            "--store",
            &dir.path().join("store").display().to_string(),
            "doctor",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("no manifest: give one (`hivebuild doctor MANIFEST`)"),
        "{output:?}"
    );
}
