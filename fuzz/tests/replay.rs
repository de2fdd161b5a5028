//! Every seed and every kept reproducer (`regressions/TARGET/`) through its target, without
//! libFuzzer: what fuzzing found once stays fixed, and the seeds still reach past the
//! refusals (each target accepts at least as many of them as it did when they were made).

use std::path::{Path, PathBuf};

/// How many inputs of its seeds each target accepts, at least.
const ACCEPTED: &[(&str, usize)] = &[
    ("manifest", 3),
    ("target", 5),
    ("bundle", 4),
    ("delta", 2),
    ("tuf", 2),
    ("image", 1),
    ("protocol", 8),
];

/// The C targets: each harness built with the replay driver (`c/replay.c`) by the host's C
/// compiler under AddressSanitizer and UBSan, then run on its seeds and reproducers. A
/// machine without a C compiler skips them, saying so (`HIVEBUILD_REQUIRE_TOOLS=1`: fails).
#[test]
fn every_c_seed_and_reproducer_passes_its_target() {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if std::process::Command::new(&cc)
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
            "no C compiler `{cc}`"
        );
        eprintln!("skipped: no C compiler `{cc}` to build the C targets with");
        return;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    for target in hive_fuzz::C_TARGETS {
        let binary = out.path().join(target.name);
        let built = std::process::Command::new(&cc)
            .args([
                "-g",
                "-O1",
                "-fsanitize=address,undefined",
                "-fno-sanitize-recover=all",
            ])
            .args(target.arguments())
            .arg(here.join("c/replay.c"))
            .arg("-o")
            .arg(&binary)
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{cc} could not build `{}`:\n{}",
            target.name,
            String::from_utf8_lossy(&built.stderr)
        );
        let inputs: Vec<PathBuf> = hive_fuzz::seeds::folders(target.name)
            .iter()
            .chain(std::iter::once(&here.join("regressions").join(target.name)))
            .flat_map(|f| files(f))
            .collect();
        assert!(!inputs.is_empty(), "`{}` has no seeds", target.name);
        let run = std::process::Command::new(&binary)
            .args(&inputs)
            .output()
            .unwrap();
        assert!(
            run.status.success()
                && String::from_utf8_lossy(&run.stdout)
                    .contains(&format!("replayed {}", inputs.len())),
            "`{}` failed on an input:\n{}",
            target.name,
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

fn files(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on each file; a panic is reported with the file's name.
fn replay(check: hive_fuzz::Check, files: &[PathBuf], failures: &mut Vec<String>) -> usize {
    let mut accepted = 0;
    for file in files {
        let bytes = std::fs::read(file).expect("an input read");
        match std::panic::catch_unwind(|| check(&bytes)) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => failures.push(file.display().to_string()),
        }
    }
    accepted
}

#[test]
fn every_seed_and_reproducer_passes_its_target() {
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut failures = Vec::new();
    for (target, check) in hive_fuzz::TARGETS {
        let seeds: Vec<PathBuf> = hive_fuzz::seeds::folders(target)
            .iter()
            .flat_map(|f| files(f))
            .collect();
        let accepted = replay(*check, &seeds, &mut failures);
        let expected = ACCEPTED
            .iter()
            .find(|(t, _)| t == target)
            .map_or(1, |(_, n)| *n);
        assert!(
            accepted >= expected,
            "`{target}` accepts {accepted} of its {} seeds, not {expected}: they no longer reach past its refusals",
            seeds.len()
        );
        replay(*check, &files(&regressions.join(target)), &mut failures);
    }
    assert!(
        failures.is_empty(),
        "these inputs fail their target:\n  {}",
        failures.join("\n  ")
    );
}

#[test]
fn the_committed_seeds_are_what_the_fixture_makes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, seeds) in hive_fuzz::seeds::made() {
        for (name, bytes) in seeds {
            let path = dir.join(target).join(name);
            assert!(
                std::fs::read(&path).ok().as_deref() == Some(&bytes[..]),
                "{} is not what `cargo run --example seeds` writes (run it, and commit the result)",
                path.display()
            );
        }
    }
}
