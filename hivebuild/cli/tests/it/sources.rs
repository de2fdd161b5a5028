//! Upstream sources: `hivebuild lock`, fetch steps, hash mismatches, `--offline` and
//! `--source NAME=PATH`. The "upstream" is a git repository made in a temporary folder.

use std::process::Command;

use crate::support::{BUILD_TOOLS, Project, copy_dir, events, have, ok, steps_with};

/// The project with its packer taken from a git repository (a copy of the stand-ins).
fn project_with_git_packer() -> (Project, tempfile::TempDir) {
    let project = Project::new();
    let upstream = tempfile::tempdir().unwrap();
    let repo = upstream.path().join("standins");
    copy_dir(&project.root().join("components/standins"), &repo);
    let git = |args: &[&str]| {
        ok(Command::new("git")
            .current_dir(&repo)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args))
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "upstream"]);
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let manifest = demo
        .replace("packer = \"standins\"", "packer = \"upstream\"")
        .replace(
            "[sources.standins]",
            &format!(
                "[sources.upstream]\ngit = \"file://{}\"\nrev = \"main\"\n\n[sources.standins]",
                repo.display()
            ),
        );
    project.write("manifests/git.toml", &manifest);
    (project, upstream)
}

fn build(project: &Project, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--json",
        "build",
        "manifests/git.toml",
        "--target",
        "x86_64",
    ];
    args.extend_from_slice(extra);
    project.hivebuild(&args).output().unwrap()
}

#[test]
fn sources_lock_fetch_and_refuse_a_wrong_hash() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("git");
    if !have("sources_lock_fetch_and_refuse_a_wrong_hash", &tools) {
        return;
    }
    let (project, _upstream) = project_with_git_packer();

    // Not locked yet: the plan says so and how to fix it.
    let output = build(&project, &[]);
    assert_eq!(output.status.code(), Some(4));
    let error: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        error["error"]["text"]
            .as_str()
            .unwrap()
            .contains("source `upstream` is not in `hive.lock`")
    );
    assert!(
        error["error"]["text"]
            .as_str()
            .unwrap()
            .contains("hint: run `hivebuild lock`")
    );

    ok(&mut project.hivebuild(&["lock", "manifests/git.toml"]));
    let lock = std::fs::read_to_string(project.root().join("hive.lock")).unwrap();
    assert!(
        lock.contains("[sources.upstream]") && lock.contains("type = \"git\""),
        "{lock}"
    );
    assert!(
        lock.contains("rev = \"main\"") && lock.contains("nar-hash = \"sha256:"),
        "{lock}"
    );
    let commit = lock
        .lines()
        .find_map(|l| l.strip_prefix("commit = \""))
        .unwrap();
    assert_eq!(commit.trim_end_matches('"').len(), 40);
    // Locking again changes nothing.
    let again = ok(&mut project.hivebuild(&["lock", "manifests/git.toml"]));
    assert!(again.starts_with("unchanged"), "{again}");

    // Offline, an unfetched source is named.
    let output = build(&project, &["--offline"]);
    assert_eq!(output.status.code(), Some(7));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("source `upstream` is not in the store and `--offline` forbids fetching it"),
        "{text}"
    );

    // Online it is fetched, checked and used; afterwards offline works from the store.
    let output = build(&project, &[]);
    crate::support::assert_success(&output);
    let built = steps_with(&events(&String::from_utf8_lossy(&output.stdout)), "built");
    assert!(
        built.contains(&"fetch-upstream".to_owned()) && built.contains(&"packer".to_owned()),
        "{built:?}"
    );
    crate::support::assert_success(&build(&project, &["--offline"]));

    // A lock whose hash does not match what the upstream has is refused, naming both.
    let upstream_at = lock.find("[sources.upstream]").unwrap();
    let pinned = lock[upstream_at..]
        .lines()
        .find(|l| l.starts_with("nar-hash"))
        .unwrap();
    let wrong = lock.replacen(
        pinned,
        "nar-hash = \"sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\"",
        1,
    );
    std::fs::write(project.root().join("hive.lock"), &wrong).unwrap();
    let output = build(&project, &[]);
    assert_eq!(output.status.code(), Some(7));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("hash mismatch for source `upstream`: expected sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s, got sha256:"), "{text}");
}

#[test]
fn sources_local_override_replaces_a_pin_for_one_run() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("git");
    if !have("sources_local_override_replaces_a_pin_for_one_run", &tools) {
        return;
    }
    let (project, _upstream) = project_with_git_packer();
    // No lock, no network: a local checkout stands in for the pinned source.
    let checkout = project.root().join("components/standins");
    let flag = format!("upstream={}", checkout.display());
    let output = build(&project, &["--offline", "--source", &flag]);
    crate::support::assert_success(&output);
    let built = steps_with(&events(&String::from_utf8_lossy(&output.stdout)), "built");
    assert!(!built.iter().any(|s| s.starts_with("fetch-")), "{built:?}");

    let output = build(&project, &["--source", "nonesuch=/tmp"]);
    assert_eq!(output.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("`--source nonesuch=...` names no source of this hive")
    );
}

#[test]
fn sources_archive_is_checked_against_its_sha256() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("tar");
    if !have("sources_archive_is_checked_against_its_sha256", &tools) {
        return;
    }
    let project = Project::new();
    let upstream = tempfile::tempdir().unwrap();
    let archive = upstream.path().join("standins-1.0.tar.gz");
    ok(Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(project.root().join("components"))
        .arg("standins"));
    let sha256 = hive_plan::Digest::of(&std::fs::read(&archive).unwrap()).hex();
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let manifest = |hash: &str| {
        demo.replace("packer = \"standins\"", "packer = \"archive\"").replace(
            "[sources.standins]",
            &format!(
                "[sources.archive]\nurl = \"file://{}\"\nsha256 = \"{hash}\"\n\n[sources.standins]",
                archive.display()
            ),
        )
    };
    project.write("manifests/archive.toml", &manifest(&sha256));
    ok(&mut project.hivebuild(&["lock", "manifests/archive.toml"]));
    let lock = std::fs::read_to_string(project.root().join("hive.lock")).unwrap();
    assert!(
        lock.contains("type = \"tarball\"") && lock.contains(&sha256),
        "{lock}"
    );
    let output = project
        .hivebuild(&[
            "--json",
            "build",
            "manifests/archive.toml",
            "--target",
            "x86_64",
        ])
        .output()
        .unwrap();
    crate::support::assert_success(&output);
    let built = steps_with(&events(&String::from_utf8_lossy(&output.stdout)), "built");
    assert!(built.contains(&"fetch-archive".to_owned()), "{built:?}");

    // The archive changes under its pin: locking refuses it, naming both hashes.
    let wrong = "0".repeat(64);
    project.write("manifests/archive.toml", &manifest(&wrong));
    let output = project
        .hivebuild(&["lock", "manifests/archive.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "hash mismatch for source `archive`: expected {wrong}, got {sha256}"
        )),
        "{stderr}"
    );
}

/// `--engine nix` with a git source: the fetch runs in the native engine (which checks the
/// lock), its output enters Nix as the fixed-output derivation of the lock's NAR hash, and
/// every output has the native engine's bytes.
#[test]
fn sources_fetched_are_fixed_outputs_for_the_nix_engine() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["git", "nix-store", "nix-hash"]);
    if !have(
        "sources_fetched_are_fixed_outputs_for_the_nix_engine",
        &tools,
    ) {
        return;
    }
    let (project, _upstream) = project_with_git_packer();
    ok(&mut project.hivebuild(&["lock", "manifests/git.toml"]));
    let output = build(&project, &[]);
    crate::support::assert_success(&output);
    let (native, _) = crate::nix::outputs(&String::from_utf8_lossy(&output.stdout));
    assert!(native.contains_key("fetch-upstream"));

    let nix_store = project.root().join("nix");
    let output = project
        .hivebuild(&["--engine", "nix", "--nix-store"])
        .arg(&nix_store)
        .args([
            "--json",
            "build",
            "manifests/git.toml",
            "--target",
            "x86_64",
        ])
        .output()
        .unwrap();
    crate::support::assert_success(&output);
    let (nix, _) = crate::nix::outputs(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(nix, native, "step by step, the same NAR hashes");
    let drv = std::fs::read_dir(nix_store.join("nix/store"))
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("-fetch-upstream.drv")
        })
        .expect("the fetch step is a derivation");
    let text = std::fs::read_to_string(drv.path()).unwrap();
    assert!(text.contains("\"r:sha256\""), "a fixed output: {text}");
}
