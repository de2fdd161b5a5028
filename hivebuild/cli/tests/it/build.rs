//! Builds of a copy of the demo project: caching, concurrency, kills, reproducibility.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use crate::support::{BUILD_TOOLS, Project, events, have, ok, steps_with, store_listing};

/// `--json build manifests/standins.toml --target x86_64`
const BUILD_X86_64: [&str; 5] = [
    "--json",
    "build",
    "manifests/standins.toml",
    "--target",
    "x86_64",
];

/// Every step of the stand-ins hive, in name order.
pub(crate) const ALL_STEPS: [&str; 7] = [
    "app-net",
    "brain",
    "kernel",
    "packer",
    "skill-net",
    "skill-pdf",
    "system",
];

fn build_json(project: &Project) -> Vec<serde_json::Value> {
    events(&ok(&mut project.hivebuild(&BUILD_X86_64)))
}

#[test]
fn build_caches_and_rebuilds_only_what_changed() {
    if !have("build_caches_and_rebuilds_only_what_changed", BUILD_TOOLS) {
        return;
    }
    let project = Project::new();
    let first = build_json(&project);
    assert_eq!(steps_with(&first, "built"), ALL_STEPS);

    let second = build_json(&project);
    assert!(
        steps_with(&second, "built").is_empty(),
        "a second build runs no step"
    );
    assert_eq!(steps_with(&second, "cached"), ALL_STEPS);
    let finished = second.last().unwrap();
    assert_eq!(
        (finished["built"].as_u64(), finished["cached"].as_u64()),
        (Some(0), Some(7))
    );
    let human = project
        .hivebuild(&["build", "manifests/standins.toml", "--target", "x86_64"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&human.stderr)
            .contains("nothing to build: all 7 steps are in the store")
    );

    // Change the PDF skill's source: only it and the system image that packs it rebuild.
    let main = project.root().join("components/skills/pdf/main.c");
    let text = std::fs::read_to_string(&main)
        .unwrap()
        .replace("text extraction", "text extraction v2");
    std::fs::write(&main, text).unwrap();
    let third = build_json(&project);
    assert_eq!(steps_with(&third, "built"), ["skill-pdf", "system"]);

    // A different SOURCE_DATE_EPOCH is a different build of everything.
    let fourth = events(&ok(project
        .hivebuild(&BUILD_X86_64)
        .env("SOURCE_DATE_EPOCH", "1700000000")));
    assert_eq!(steps_with(&fourth, "built"), ALL_STEPS);
}

#[test]
fn build_outputs_are_the_same_from_other_folders_and_stores() {
    if !have(
        "build_outputs_are_the_same_from_other_folders_and_stores",
        BUILD_TOOLS,
    ) {
        return;
    }
    let (one, two) = (Project::new(), Project::new());
    build_json(&one);
    // The second copy builds from a sub-folder as its working directory, with a relative
    // manifest path, under another umask.
    let output = two
        .hivebuild(&[
            "--json",
            "build",
            "../manifests/standins.toml",
            "--target",
            "x86_64",
        ])
        .current_dir(two.root().join("components"))
        .env("TZ", "Pacific/Auckland")
        .output()
        .unwrap();
    crate::support::assert_success(&output);
    let (a, b) = (store_listing(&one), store_listing(&two));
    assert_eq!(a.len(), 7);
    assert_eq!(a, b, "same entry names (keys) and the same NAR hashes");
}

#[test]
fn build_two_concurrent_runs_share_one_store() {
    if !have("build_two_concurrent_runs_share_one_store", BUILD_TOOLS) {
        return;
    }
    let project = Project::new();
    let spawn = || {
        project
            .hivebuild(&BUILD_X86_64)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let mut built = Vec::new();
    for output in &outputs {
        crate::support::assert_success(output);
        built.extend(steps_with(
            &events(&String::from_utf8_lossy(&output.stdout)),
            "built",
        ));
    }
    built.sort();
    assert_eq!(
        built, ALL_STEPS,
        "each step built exactly once between the two runs"
    );
    assert_eq!(store_listing(&project).len(), 7);
    assert!(steps_with(&build_json(&project), "built").is_empty());
}

#[test]
fn build_killed_at_any_point_leaves_no_half_entry() {
    if !have(
        "build_killed_at_any_point_leaves_no_half_entry",
        BUILD_TOOLS,
    ) {
        return;
    }
    let reference = Project::new();
    build_json(&reference);
    let expected = store_listing(&reference);

    let project = Project::new();
    for delay in [50, 300, 800, 1500, 2500] {
        let mut child = project
            .hivebuild(&BUILD_X86_64)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Every entry folder in the store has its record, or is ignored as not yet an entry.
        let listed: BTreeSet<String> = store_listing(&project).into_keys().collect();
        for (name, hash) in store_listing(&project) {
            assert_eq!(
                expected.get(&name),
                Some(&hash),
                "entry {name} after a kill at {delay} ms"
            );
        }
        let _ = listed;
    }
    build_json(&project);
    assert_eq!(store_listing(&project), expected);
}

#[test]
fn build_check_reports_a_nondeterministic_step() {
    if !have("build_check_reports_a_nondeterministic_step", BUILD_TOOLS) {
        return;
    }
    let project = crate::support::noisy_project();
    let output = project
        .hivebuild(&[
            "build",
            "manifests/noisy.toml",
            "--target",
            "x86_64",
            "--check",
        ])
        .output()
        .unwrap();
    crate::support::assert_noisy_steps_differ(&output);

    // The demo itself passes the check.
    let demo = project
        .hivebuild(&[
            "-q",
            "build",
            "manifests/standins.toml",
            "--target",
            "x86_64",
            "--check",
        ])
        .output()
        .unwrap();
    crate::support::assert_success(&demo);
}

#[test]
fn build_failure_shows_command_status_tail_and_log() {
    if !have(
        "build_failure_shows_command_status_tail_and_log",
        BUILD_TOOLS,
    ) {
        return;
    }
    let project = Project::new();
    project.write("components/skills/pdf/broken.c", "this is not C;\n");
    let output = project
        .hivebuild(&[
            "build",
            "manifests/standins.toml",
            "--target",
            "x86_64",
            "-j",
            "1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: step `skill-pdf` failed"),
        "{stderr}"
    );
    assert!(stderr.contains("caused by: `"), "{stderr}");
    assert!(
        stderr.contains("make") && stderr.contains("(exit status 2)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("| ") && stderr.contains("broken.c"),
        "the tail of the log: {stderr}"
    );
    let log = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("full log: "))
        .expect("log path");
    assert!(
        std::fs::read_to_string(log)
            .unwrap()
            .contains("this is not C")
    );
    // Nothing half-made was left for the failed step.
    assert!(
        !store_listing(&project)
            .keys()
            .any(|name| name.ends_with("-skill-pdf"))
    );
}

#[test]
fn build_brain_features_are_checked_and_enabled() {
    if !have("build_brain_features_are_checked_and_enabled", BUILD_TOOLS) {
        return;
    }
    let project = Project::new();
    let demo = std::fs::read_to_string(project.root().join("manifests/standins.toml")).unwrap();
    let with = |features: &str| {
        demo.replace(
            "memory = \"256MiB\"",
            &format!("memory = \"256MiB\"\nfeatures = {features}"),
        )
    };

    project.write("manifests/features.toml", &with("[\"telepathy\"]"));
    let output = project
        .hivebuild(&["build", "manifests/features.toml", "--target", "x86_64"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("step `brain` failed: package `brain` has no feature `telepathy`; its features are: `card`, `mind`, `trace`"),
        "{stderr}"
    );

    project.write("manifests/features.toml", &with("[\"trace\"]"));
    ok(&mut project.hivebuild(&[
        "-q",
        "build",
        "manifests/features.toml",
        "--target",
        "x86_64",
    ]));
    let brain = ok(&mut project.hivebuild(&[
        "store",
        "path",
        "manifests/features.toml",
        "--target",
        "x86_64",
        "brain",
    ]));
    let stdout = ok(&mut std::process::Command::new(
        std::path::Path::new(brain.trim()).join("bin/brain"),
    ));
    assert!(stdout.ends_with("brain: net is Some(Ready)\n"), "{stdout}");
}

#[test]
fn build_gc_keeps_what_the_last_build_used() {
    if !have("build_gc_keeps_what_the_last_build_used", BUILD_TOOLS) {
        return;
    }
    let project = Project::new();
    build_json(&project);
    let gc = |project: &Project| -> serde_json::Value {
        serde_json::from_str(&ok(&mut project.hivebuild(&["--json", "store", "gc"]))).unwrap()
    };
    assert_eq!(gc(&project)["removed"], serde_json::json!([]));
    let main = project.root().join("components/skills/pdf/main.c");
    let text = std::fs::read_to_string(&main)
        .unwrap()
        .replace("stand-in", "stand-in, again");
    std::fs::write(&main, text).unwrap();
    build_json(&project);
    assert_eq!(
        store_listing(&project).len(),
        9,
        "old skill-pdf and system are still there"
    );
    let removed = gc(&project)["removed"].clone();
    let removed: Vec<&str> = removed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(
        removed.iter().any(|n| n.ends_with("-skill-pdf"))
            && removed.iter().any(|n| n.ends_with("-system"))
    );
    assert!(
        steps_with(&build_json(&project), "built").is_empty(),
        "what the last build used is kept"
    );
}
