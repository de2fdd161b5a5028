//! Shared helpers: a scratch copy of the project, running hivebuild, skipping honestly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Whether every program is on PATH; if not, say which is missing and why the test did not
/// run (or fail, when `HIVEBUILD_REQUIRE_TOOLS` is set).
pub(crate) fn have(test: &str, programs: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !std::env::split_paths(&path).any(|dir| dir.join(p).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: did not run: `{}` not installed (see .ci/run)",
        missing.join("`, `")
    );
    assert!(
        std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
        "{message}"
    );
    eprintln!("{message}");
    false
}

pub(crate) const BUILD_TOOLS: &[&str] = &["cc", "gcc", "make", "cmake", "ninja", "cargo"];

/// A copy of the project (targets, components, templates, manifests) in a temporary folder,
/// with its own store.
pub(crate) struct Project {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: PathBuf,
}

impl Project {
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hivebuild-it-")
            .tempdir()
            .unwrap();
        for folder in [
            "targets",
            "components",
            "unikraft-templates",
            "manifests",
            "sel4-platform",
            "samples",
        ] {
            copy_dir(&repo().join(folder), &dir.path().join(folder));
        }
        std::fs::copy(repo().join("hive.lock"), dir.path().join("hive.lock")).unwrap();
        let store = dir.path().join("store");
        Self { dir, store }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `hivebuild --store <own store> ARGS` run in the project folder.
    pub(crate) fn hivebuild(&self, args: &[&str]) -> Command {
        let mut command = hivebuild();
        command
            .current_dir(self.root())
            .arg("--store")
            .arg(&self.store)
            .args(args);
        command
    }

    pub(crate) fn write(&self, path: &str, text: &str) {
        let path = self.root().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A project with `manifests/noisy.toml` (see [`add_noisy`]).
pub(crate) fn noisy_project() -> Project {
    let project = Project::new();
    add_noisy(&project);
    project
}

/// Add `manifests/noisy.toml` to a project: the stand-ins hive with a skill base whose `skill`
/// goal stamps every output with the time and a random number.
pub(crate) fn add_noisy(project: &Project) {
    project.write(
        "components/noisy/Makefile",
        "skill:\n\tmkdir -p $(OUT)\n\t(date +%s%N; od -An -N8 -tx8 /dev/urandom) > $(OUT)/skill.elf\n\
         pack:\n\tmkdir -p $(OUT)/bin\n\tprintf '#!/bin/sh\\ntouch \"$$2\"\\n' > $(OUT)/bin/hive-pack\n\tchmod +x $(OUT)/bin/hive-pack\n",
    );
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let noisy = demo
        .replace("skill-base = \"standins\"", "skill-base = \"noisy\"")
        .replace(
            "[sources.standins]",
            "[sources.noisy]\npath = \"components/noisy\"\n\n[sources.standins]",
        );
    project.write("manifests/noisy.toml", &noisy);
}

/// `build manifests/noisy.toml --check` failed as it must: exit code 5, the two stand-in
/// skills named with the differing file, the kernel not.
pub(crate) fn assert_noisy_steps_differ(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(5),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("step `skill-net` differs between two builds:\n  skill.elf\n"),
        "{stdout}"
    );
    assert!(stdout.contains("step `skill-pdf` differs"), "{stdout}");
    assert!(!stdout.contains("step `kernel` differs"), "{stdout}");
    assert!(
        stderr.contains("error: 2 steps did not build the same twice"),
        "{stderr}"
    );
}

/// A scratch folder outside the repository, with a cache folder (for the stock) and a store.
pub(crate) struct Outside {
    dir: tempfile::TempDir,
}

impl Outside {
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hivebuild-outside-")
            .tempdir()
            .unwrap();
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn hive(&self) -> PathBuf {
        self.path().join("bees")
    }

    /// `hivebuild --store STORE ARGS` in `cwd`, with the test's own cache folder.
    pub(crate) fn hivebuild(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut command = hivebuild();
        command
            .current_dir(cwd)
            .env("XDG_CACHE_HOME", self.path().join("cache"))
            .env_remove("HIVEBUILD_STOCK")
            .arg("--store")
            .arg(self.path().join("store"))
            .args(args);
        command
    }
}

pub(crate) fn hivebuild() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hivebuild"));
    command
        .env_remove("HIVEBUILD_STORE")
        .env_remove("HIVEBUILD_SEL4_SRC")
        .env_remove("HIVEBUILD_MICROKIT_SRC")
        .env_remove("HIVEBUILD_RUST_SEL4_SRC")
        .env_remove("HIVEBUILD_UNIKRAFT_SRC")
        .env_remove("HIVEBUILD_LIB_LWIP_SRC")
        .env_remove("HIVEBUILD_FORK_LWIP_SRC")
        .env("NO_COLOR", "1");
    command
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(from).unwrap();
        if relative.components().any(|c| c.as_os_str() == "target") {
            continue;
        }
        let destination = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&destination).unwrap();
        } else {
            std::fs::copy(entry.path(), &destination).unwrap();
        }
    }
}

/// Run and require success, returning stdout.
pub(crate) fn ok(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert_success(&output);
    String::from_utf8(output.stdout).unwrap()
}

pub(crate) fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The JSON event lines of a `--json build`.
pub(crate) fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Steps named in events of one kind (`built`, `cached`).
pub(crate) fn steps_with(events: &[serde_json::Value], kind: &str) -> Vec<String> {
    let mut steps: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == kind)
        .map(|e| e["step"].as_str().unwrap().to_owned())
        .collect();
    steps.sort();
    steps
}

/// `store ls --json`: entry name → NAR hash.
pub(crate) fn store_listing(project: &Project) -> std::collections::BTreeMap<String, String> {
    let stdout = ok(&mut project.hivebuild(&["--json", "store", "ls"]));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    entries
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["nar-hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A file of the boot partition of the release image in `release`, extracted to a scratch
/// file next to it.
pub(crate) fn extracted(release: &Path, file: &str) -> PathBuf {
    let manifest_path = std::fs::read_dir(release)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .unwrap();
    let manifest: hive_image::FileList =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let bytes =
        hive_image::extract(&release.join(&manifest.image.file), &manifest, "boot", file).unwrap();
    let out = release.join(format!("extracted-{file}"));
    std::fs::write(&out, bytes).unwrap();
    out
}

/// `plan manifests/demo.toml --format json --target TARGET SOURCES...`, parsed.
pub(crate) fn plan_json(project: &Project, target: &str, sources: &[String]) -> serde_json::Value {
    let mut args = vec![
        "plan",
        "manifests/demo.toml",
        "--format",
        "json",
        "--target",
        target,
    ];
    args.extend(sources.iter().map(String::as_str));
    serde_json::from_str(&ok(&mut project.hivebuild(&args))).unwrap()
}

/// The step `name` of a JSON plan.
pub(crate) fn step<'a>(plan: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {plan}"))
}
