//! Data-driven diagnostics: every `tests/invalid/NAME.toml` is a manifest with mistakes, and
//! `NAME.expected` lists the diagnostics it must produce, one `LINE:COL: message` per line,
//! all of them, in order. `HIVEBUILD_BLESS=1 cargo test` rewrites the expectations (review
//! the diff before committing).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn every_invalid_manifest_reports_its_expected_diagnostics() {
    check_corpus("tests/invalid", 15, |name, text, root| {
        let layers = hive_manifest::Layers::project_only(root);
        hive_manifest::parse_manifest(Path::new(name), text, &layers).map(drop)
    });
}

#[test]
fn every_invalid_target_file_reports_its_expected_diagnostics() {
    // Each case is a copy of `targets/rpi4.toml` with mistakes; its name must match the file.
    check_corpus("tests/invalid-targets", 5, |name, text, root| {
        let text = text.replace(
            "name = \"rpi4\"",
            &format!("name = \"{}\"", name.trim_end_matches(".toml")),
        );
        hive_manifest::parse_target(Path::new(name), &text, root).map(drop)
    });
}

fn check_corpus(
    folder: &str,
    at_least: usize,
    parse: impl Fn(&str, &str, &Path) -> Result<(), hive_manifest::ManifestError>,
) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let root = project_root();
    let bless = std::env::var_os("HIVEBUILD_BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= at_least,
        "the corpus has {} cases",
        cases.len()
    );
    let mut failures = String::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(case).unwrap();
        let error = match parse(&name, &text, &root) {
            Ok(()) => {
                let _ = writeln!(failures, "{name}: accepted, but it is invalid");
                continue;
            }
            Err(hive_manifest::ManifestError::Invalid(diagnostics)) => diagnostics,
            Err(other) => panic!("{name}: unexpected error {other}"),
        };
        // Every diagnostic renders with the file, line and column, and a help line.
        let rendered = error.render(false);
        assert!(
            rendered.contains(&format!("--> {name}:")),
            "{name}: no location in\n{rendered}"
        );
        assert!(
            rendered.contains("help: "),
            "{name}: no help in\n{rendered}"
        );
        let mut actual = String::new();
        for diagnostic in &error.list {
            let (line, column) = error.line_col(diagnostic.span.start);
            let _ = writeln!(actual, "{line}:{column}: {}", diagnostic.message);
        }
        let expected_path = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            let _ = writeln!(
                failures,
                "{name}:\n--- expected\n{expected}--- actual\n{actual}"
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn the_demo_manifest_is_valid() {
    let root = project_root();
    let manifest = hive_manifest::load_manifest(&root.join("manifests/demo.toml")).unwrap();
    assert_eq!(manifest.hive.name, "demo");
    assert_eq!(manifest.skills.len(), 2);
    for target in &manifest.hive.targets {
        hive_manifest::load_target(&manifest, target).unwrap();
    }
}

/// A project with nothing but a manifest: targets, the template and the platform's sources
/// come from the stock; a target file of its own overrides the stock's of that name.
#[test]
fn a_project_outside_the_repository_uses_the_stock_and_overrides_it_by_name() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("brain/src")).unwrap();
    std::fs::write(
        project.path().join("brain/Cargo.toml"),
        "[package]\nname = \"brain\"\n",
    )
    .unwrap();
    let manifest_text = r#"
[hive]
name = "outside"
version = "0.1.0"
targets = ["x86_64", "rpi4"]

[platform]
kernel = "standins"
skill-base = "standins"
packer = "standins"

[brain]
path = "brain"
caps = ["channel:net"]

[skills.net]
template = "net-listener"
caps = ["channel:brain"]
"#;
    let path = project.path().join("hive.toml");
    std::fs::write(&path, manifest_text).unwrap();
    let manifest = hive_manifest::load_manifest(&path).unwrap();
    assert_eq!(manifest.root(), project.path());
    let stock = manifest.layers.stock.clone().expect("a stock folder");
    assert!(matches!(
        &manifest.sources["standins"],
        hive_manifest::Source::Stock { path } if path == &stock.join("components/standins")
    ));
    assert_eq!(
        manifest.template_dir("net-listener"),
        Some(stock.join("unikraft-templates/net-listener"))
    );
    let rpi4 = hive_manifest::load_target(&manifest, "rpi4").unwrap();
    assert_eq!(
        rpi4.root, stock,
        "a stock target's templates are the stock's"
    );

    // The project's own x86_64 overrides the stock's, by name.
    let own = std::fs::read_to_string(stock.join("targets/x86_64.toml"))
        .unwrap()
        .replace("memory = \"32MiB\"", "memory = \"48MiB\"");
    std::fs::create_dir(project.path().join("targets")).unwrap();
    std::fs::write(project.path().join("targets/x86_64.toml"), own).unwrap();
    let manifest = hive_manifest::load_manifest(&path).unwrap();
    let x86 = hive_manifest::load_target(&manifest, "x86_64").unwrap();
    assert_eq!(x86.root, project.path());
    assert_eq!(x86.qemu.unwrap().memory, 48 << 20);

    // A template the project lacks is named among the ones it can use.
    let text = manifest_text.replace("net-listener", "no-such-template");
    std::fs::write(&path, text).unwrap();
    let Err(hive_manifest::ManifestError::Invalid(diagnostics)) =
        hive_manifest::load_manifest(&path)
    else {
        panic!("an unknown template was accepted");
    };
    let rendered = diagnostics.render(false);
    assert!(rendered.contains("`net-listener`"), "{rendered}");
}

/// Resource bounds (issue 16, part 4): a file over `MAX_FILE_BYTES` is refused before it is
/// read; a hive of ten thousand skills gets the one error that says so, not one per skill; a
/// file with thousands of mistakes shows the first `Diagnostics::SHOWN` and counts the rest;
/// tables nested a hundred thousand deep hit the parser's recursion limit.
#[test]
fn stranger_sized_manifests_are_refused_quickly_with_bounded_output() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.toml");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(hive_manifest::MAX_FILE_BYTES + 1).unwrap();
    assert!(matches!(
        hive_manifest::load_manifest(&huge),
        Err(hive_manifest::ManifestError::TooLarge { size, .. })
            if size == hive_manifest::MAX_FILE_BYTES + 1
    ));

    let root = project_root();
    let layers = hive_manifest::Layers::project_only(&root);
    let standins = std::fs::read_to_string(root.join("manifests/standins.toml")).unwrap();
    let skill = "\n[skills.s{N}]\npath = \"components/skills/pdf\"\nmemory = \"32MiB\"\n";
    let many: String = (0..10_000)
        .map(|n| skill.replace("{N}", &n.to_string()))
        .collect();
    let invalid =
        |text: &str| match hive_manifest::parse_manifest(Path::new("m.toml"), text, &layers) {
            Err(hive_manifest::ManifestError::Invalid(diagnostics)) => diagnostics,
            other => panic!("not refused: {:?}", other.map(drop)),
        };
    let diagnostics = invalid(&format!("{standins}{many}"));
    assert_eq!(diagnostics.list.len(), 1, "{}", diagnostics.render(false));
    assert!(diagnostics.list[0].message.contains("a hive holds at most"));

    let junk = (0..5_000).fold(String::new(), |mut text, n| {
        let _ = write!(text, "[junk{n}]\nx = 1\n");
        text
    });
    let diagnostics = invalid(&format!("{standins}{junk}"));
    assert_eq!(diagnostics.list.len(), 5_000);
    let rendered = diagnostics.render(false);
    assert_eq!(
        rendered.matches("unknown section").count(),
        2 * hive_manifest::Diagnostics::SHOWN,
        "each shown error names it twice (message and label)"
    );
    assert!(rendered.contains("... and 4980 more errors in `m.toml` (the first 20 are shown)"));

    let deep = format!(
        "{standins}\nx = {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let diagnostics = invalid(&deep);
    assert!(
        diagnostics.list[0].message.contains("recursion"),
        "{}",
        diagnostics.render(false)
    );
}
