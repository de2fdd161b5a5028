//! Hive projects outside this repository: `hivebuild new` writes one that uses the stock
//! hivebuild carries (targets, templates, platform sources), and it checks, builds and passes
//! its smoke test at once. The stock is written to a cache folder of the test's own, so
//! nothing here reads the repository at run time.

use insta_cmd::assert_cmd_snapshot;

use crate::support::{BUILD_TOOLS, Outside, have, ok};

fn filters() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/tmp/[^\s`'\x22]+", "[TEMP]");
    settings
}

#[test]
fn cli_new_writes_a_hive_that_checks_and_uses_the_stock() {
    let _guard = filters().bind_to_scope();
    let outside = Outside::new();
    assert_cmd_snapshot!(outside.hivebuild(outside.path(), &["new", "bees"]));
    let hive = outside.hive();
    for file in [
        "hive.toml",
        "hive.lock",
        ".gitignore",
        "README.md",
        "brain/Cargo.toml",
    ] {
        assert!(hive.join(file).is_file(), "{file} not written");
    }
    assert!(
        !hive.join("targets").exists() && !hive.join("unikraft-templates").exists(),
        "the stock is not copied into the project"
    );
    assert_cmd_snapshot!(outside.hivebuild(&hive, &["check", "hive.toml"]));

    // The stock was written under the cache folder, once, and the plan reads from it.
    let stock = std::fs::read_dir(outside.path().join("cache/hivebuild/stock"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    assert_eq!(stock.len(), 1, "{stock:?}");
    let plan = ok(&mut outside.hivebuild(
        &hive,
        &["--json", "plan", "hive.toml", "--target", "x86_64"],
    ));
    assert!(
        plan.contains(&stock[0].join("components/standins").display().to_string()),
        "{plan}"
    );

    // skill add with a stock template, then check: round trip in the new project.
    ok(&mut outside.hivebuild(
        &hive,
        &[
            "skill",
            "add",
            "ocr",
            "--template",
            "net-listener",
            "--caps",
            "channel:brain",
        ],
    ));
    let text = std::fs::read_to_string(hive.join("hive.toml")).unwrap();
    assert!(text.contains("[skills.ocr]") && text.contains("# `hivebuild skill add NAME"));
    ok(&mut outside.hivebuild(&hive, &["check", "hive.toml"]));
}

#[test]
fn cli_new_refuses_a_taken_folder_and_a_bad_name() {
    let _guard = filters().bind_to_scope();
    let outside = Outside::new();
    std::fs::create_dir(outside.hive()).unwrap();
    std::fs::write(outside.hive().join("notes.txt"), "mine").unwrap();
    assert_cmd_snapshot!(outside.hivebuild(outside.path(), &["new", "bees"]));
    assert_eq!(
        std::fs::read_dir(outside.hive()).unwrap().count(),
        1,
        "the taken folder was written to"
    );
    assert_cmd_snapshot!(
        outside.hivebuild(outside.path(), &["new", "other", "--name", "Bad Name"])
    );
    assert!(!outside.path().join("other").exists());
}

/// The first-hour path: `new`, then `build` and `test smoke` for `x86_64`, outside the repo.
#[test]
fn qemu_new_hive_builds_and_passes_its_smoke_test_outside_the_repository() {
    let test = "qemu_new_hive_builds_and_passes_its_smoke_test_outside_the_repository";
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("qemu-system-x86_64");
    if !have(test, &tools) {
        return;
    }
    let outside = Outside::new();
    ok(&mut outside.hivebuild(outside.path(), &["new", "bees"]));
    let hive = outside.hive();
    ok(&mut outside.hivebuild(&hive, &["build", "hive.toml", "--target", "x86_64"]));
    let smoke =
        ok(&mut outside.hivebuild(&hive, &["test", "smoke", "hive.toml", "--target", "x86_64"]));
    assert!(smoke.contains("smoke: 2 passed, 0 failed"), "{smoke}");
}
