use std::os::unix::fs::PermissionsExt;

use super::*;

fn normalise() -> Normalise {
    Normalise {
        mtime: 315_532_800,
        forbidden: Vec::new(),
    }
}

fn build(store: &Store, name: &str, content: &str) -> Entry {
    match store.begin(name).unwrap() {
        Begin::Done(entry) => entry,
        Begin::Build(build) => {
            fs::create_dir(build.out().join("bin")).unwrap();
            let tool = build.out().join("bin/tool");
            fs::write(&tool, content).unwrap();
            fs::set_permissions(&tool, fs::Permissions::from_mode(0o700)).unwrap();
            fs::write(build.out().join("data"), "d").unwrap();
            build.commit("step", "make", "00", &normalise()).unwrap()
        }
    }
}

#[test]
fn entries_are_normalised_recorded_and_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.lookup("00000000000000000000000000000abc-x").is_none());
    let entry = build(&store, "00000000000000000000000000000abc-x", "#!/bin/sh\n");
    assert_eq!(
        store.lookup("00000000000000000000000000000abc-x"),
        Some(entry.clone())
    );
    let tool = fs::metadata(entry.path.join("bin/tool")).unwrap();
    assert_eq!(tool.permissions().mode() & 0o777, 0o555);
    assert_eq!(
        fs::metadata(entry.path.join("data"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o444
    );
    assert_eq!(
        fs::metadata(&entry.path).unwrap().permissions().mode() & 0o777,
        0o555
    );
    assert_eq!(
        filetime::FileTime::from_last_modification_time(&tool).unix_seconds(),
        315_532_800
    );
    assert!(entry.record.nar_hash.starts_with("sha256:"));
    assert_eq!(store.list().unwrap(), vec![entry]);
    assert!(
        fs::read_dir(dir.path().join(".tmp"))
            .unwrap()
            .next()
            .is_none(),
        "temporary folder removed"
    );
}

#[test]
fn same_content_same_nar_hash_in_another_store() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = build(
        &Store::open(a.path()).unwrap(),
        "00000000000000000000000000000abc-x",
        "same",
    );
    let second = build(
        &Store::open(b.path()).unwrap(),
        "00000000000000000000000000000abc-x",
        "same",
    );
    assert_eq!(first.record.nar_hash, second.record.nar_hash);
    let other = build(
        &Store::open(b.path()).unwrap(),
        "00000000000000000000000000000def-y",
        "different",
    );
    assert_ne!(first.record.nar_hash, other.record.nar_hash);
}

#[test]
fn an_output_without_record_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // What a build killed between rename and record leaves behind, plus a stale temp dir.
    fs::create_dir_all(dir.path().join("00000000000000000000000000000abc-x/half")).unwrap();
    fs::create_dir_all(
        dir.path()
            .join(".tmp/00000000000000000000000000000abc-x.99999/out"),
    )
    .unwrap();
    assert!(store.lookup("00000000000000000000000000000abc-x").is_none());
    let entry = build(&store, "00000000000000000000000000000abc-x", "whole");
    assert!(!entry.path.join("half").exists());
    assert!(
        !dir.path()
            .join(".tmp/00000000000000000000000000000abc-x.99999")
            .exists()
    );
}

#[test]
fn a_dropped_build_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let Begin::Build(build) = store.begin("00000000000000000000000000000abc-x").unwrap() else {
        panic!()
    };
    fs::write(build.out().join("f"), "x").unwrap();
    drop(build);
    assert!(store.lookup("00000000000000000000000000000abc-x").is_none());
    assert!(
        !dir.path()
            .join("00000000000000000000000000000abc-x")
            .exists()
    );
    assert!(
        fs::read_dir(dir.path().join(".tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn build_paths_inside_an_output_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let Begin::Build(build) = store.begin("00000000000000000000000000000abc-x").unwrap() else {
        panic!()
    };
    let marker = build.dir().display().to_string();
    fs::write(build.out().join("f"), format!("compiled in {marker}/src")).unwrap();
    let options = Normalise {
        mtime: 0,
        forbidden: vec![("build folder".into(), marker.into_bytes())],
    };
    let error = build.commit("s", "make", "00", &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        "output file `f` contains the path of the build folder"
    );
    assert!(store.lookup("00000000000000000000000000000abc-x").is_none());
}

#[test]
fn a_newer_store_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(VERSION_FILE), "7\n").unwrap();
    let error = Store::open(dir.path()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("format 7; this hivebuild uses format 1"),
        "{error}"
    );
}

#[test]
fn gc_keeps_rooted_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.toml");
    fs::write(&manifest, "").unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        build(&store, "0000000000000000000000000000aaaa-kept", "1");
        build(&store, "0000000000000000000000000000bbbb-dropped", "2");
        let root = GcRoot {
            manifest: manifest.display().to_string(),
            target: "t".into(),
            entries: vec!["0000000000000000000000000000aaaa-kept".into()],
        };
        store.set_root("r", &root).unwrap();
    }
    let warm = dir
        .path()
        .join(".cache")
        .join(crate::WARM_DIR)
        .join("k/skill-1");
    fs::create_dir_all(&warm).unwrap();
    fs::write(warm.join("object.o"), "kept for the next build").unwrap();
    let store = Store::open_exclusive(dir.path()).unwrap();
    let report = store.gc().unwrap();
    assert_eq!(report.removed, ["0000000000000000000000000000bbbb-dropped"]);
    assert!(!warm.exists(), "warm build folders go with gc");
    assert!(report.bytes > 0);
    assert!(
        store
            .lookup("0000000000000000000000000000aaaa-kept")
            .is_some()
    );
    assert!(
        !dir.path()
            .join("0000000000000000000000000000bbbb-dropped")
            .exists()
    );
    fs::remove_file(&manifest).unwrap();
    assert_eq!(
        store.gc().unwrap().removed,
        ["0000000000000000000000000000aaaa-kept"],
        "a root whose manifest is gone is dropped"
    );
}
