//! Crash consistency of the store's commit by fault injection (hive-faults): every write,
//! fsync and rename a build's commit makes under the store fails (EIO, ENOSPC, a short write)
//! or is the last thing the process does, one at a time. After each, the entry is whole (its
//! files are the build's and hash to its record) or absent (no half entry is ever looked up
//! or listed), and the next build of it ends with it whole.

use std::path::Path;
use std::process::Command;

use hive_faults::{Fault, Injector, Run};
use hive_store::{Begin, Normalise, Store, nar_hash};

const NAME: &str = "0123456789abcdfghijklmnpqrsvwxyz-step";

/// What the build makes: two files and a folder with one more.
const FILES: [(&str, &[u8]); 3] = [
    ("kernel.img", &[7; 100_000]),
    ("config.txt", b"release 1\n"),
    ("lib/skill.a", b"an archive"),
];

/// Build the entry into the store at `root`, unless it is there.
fn build(root: &Path) -> Result<(), hive_store::StoreError> {
    let store = Store::open(root)?;
    match store.begin(NAME)? {
        Begin::Done(_) => Ok(()),
        Begin::Build(build) => {
            for (name, bytes) in FILES {
                let path = build.out().join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
            build
                .commit(
                    "step",
                    "test",
                    "00",
                    &Normalise {
                        mtime: 1,
                        forbidden: Vec::new(),
                    },
                )
                .map(drop)
        }
    }
}

#[test]
#[ignore = "run by the fault sweep, in a child process"]
fn child_commit() {
    build(Path::new(&std::env::var("HIVE_FAULTS_STORE").unwrap())).unwrap();
}

/// Whether the entry is there; when it is, it is whole.
fn whole_or_absent(root: &Path, fault: Option<Fault>) -> bool {
    let store = Store::open(root).unwrap();
    let listed = store.list().unwrap().iter().any(|e| e.name == NAME);
    let Some(entry) = store.lookup(NAME) else {
        assert!(!listed, "{fault:?}: listed, but not looked up");
        return false;
    };
    assert!(listed, "{fault:?}: looked up, but not listed");
    for (name, bytes) in FILES {
        let found = std::fs::read(entry.path.join(name))
            .unwrap_or_else(|e| panic!("{fault:?}: the entry lacks `{name}`: {e}"));
        assert!(found == bytes, "{fault:?}: `{name}` is not what was built");
    }
    let nar = nar_hash(&entry.path).unwrap();
    assert_eq!(
        nar.hash, entry.record.nar_hash,
        "{fault:?}: the entry is not its record's"
    );
    true
}

#[test]
fn a_commit_survives_a_fault_at_every_write_fsync_and_rename() {
    let Some(injector) = Injector::for_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let report = injector.sweep(
        &root,
        || {
            let _ = std::fs::remove_dir_all(&root);
            Store::open(&root).unwrap();
            let mut command = Command::new(std::env::current_exe().unwrap());
            command
                .args([
                    "child_commit",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("HIVE_FAULTS_STORE", &root);
            command
        },
        |fault: Option<Fault>, run: &Run| {
            let there = whole_or_absent(&root, fault);
            if run.status.success() {
                assert!(there, "{fault:?}: committed, but not in the store");
            }
            build(&root).unwrap_or_else(|e| panic!("{fault:?}: the next build fails: {e}"));
            assert!(
                whole_or_absent(&root, fault),
                "{fault:?}: after the next build"
            );
        },
    );
    eprintln!(
        "store commit: {} injection points, {} runs",
        report.points, report.runs
    );
    assert!(report.points >= 4, "{report:?}");
}
