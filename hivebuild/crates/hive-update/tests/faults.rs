//! Crash consistency of `apply` and `publish` by fault injection (hive-faults): every write,
//! fsync and rename each makes under the device or repository folder fails (EIO, ENOSPC, a
//! short write) or is the last thing the process does, one at a time. After each, the device
//! boots the old slot, intact, or the new one, whole; the repository is one that clients
//! accept, serving the previous release or the new one; and running the operation again
//! without a fault ends where a run without faults does. (RAUC's atomic slot switch and
//! `SQLite`'s I/O-error tests are the anchors.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::copy_tree;
use hive_faults::{Fault, Injector, Run};
use hive_sign::{Envelope, PrivateKey, Root, Signer};
use hive_update::repo::{Folder, Seen};
use hive_update::{BundleRequest, ComponentFile, Device, Silent, UpdateError, apply, write_bundle};
use time::OffsetDateTime;

const FAR: &str = "2099-01-01T00:00:00Z";

fn keys() -> Vec<PrivateKey> {
    vec![
        PrivateKey::from_seed([1; 32]),
        PrivateKey::from_seed([2; 32]),
    ]
}

fn signers(keys: &[PrivateKey]) -> Vec<&dyn Signer> {
    keys.iter().map(|k| k as &dyn Signer).collect()
}

fn root(keys: &[PrivateKey], version: u64, by: &[PrivateKey]) -> Envelope {
    let publics: Vec<_> = keys.iter().map(PrivateKey::public).collect();
    Envelope::new_signed(&Root::new(&publics, 2, FAR.into(), version), &signers(by)).unwrap()
}

/// Bytes that compress somewhat.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if i % 4 == 0 {
                state.to_le_bytes()[0]
            } else {
                b'x'
            }
        })
        .collect()
}

/// Release `version`'s files.
fn release(version: u64) -> Vec<(&'static str, Vec<u8>)> {
    let mut loader = bytes(7, 300_000);
    if version == 2 {
        loader[5000..5100].fill(0xaa);
    }
    vec![
        ("config.txt", format!("release {version}\n").into_bytes()),
        ("loader.img", loader),
    ]
}

fn components(dir: &Path, version: u64) -> Vec<ComponentFile> {
    let folder = dir.join(format!("release-{version}"));
    std::fs::create_dir_all(&folder).unwrap();
    release(version)
        .into_iter()
        .map(|(name, bytes)| {
            std::fs::write(folder.join(name), bytes).unwrap();
            ComponentFile {
                name: name.into(),
                origin: format!("step:test/{name}"),
                path: folder.join(name),
                release: version,
            }
        })
        .collect()
}

/// A bundle of release `version`: whole, or a delta from release 1; signed by `keys`,
/// carrying `roots`.
fn bundle(
    dir: &Path,
    version: u64,
    delta: bool,
    roots: Vec<Envelope>,
    keys: &[PrivateKey],
) -> PathBuf {
    let request = BundleRequest {
        hive: "demo".into(),
        hive_version: "0.1.0".into(),
        target: "rpi4".into(),
        hardware_id: "rpi4b".into(),
        version,
        expires: FAR.into(),
        components: components(dir, version),
        roots,
        base: if delta {
            components(dir, 1)
        } else {
            Vec::new()
        },
        from_version: delta.then_some(1),
        only: None,
    };
    let out = dir.join(format!(
        "v{version}-{}.hivebundle",
        if delta { "delta" } else { "full" }
    ));
    write_bundle(&request, &signers(keys), &out).unwrap();
    out
}

/// This test binary, running the operation `HIVE_FAULTS_OP` names in a child of its own.
fn child(op: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_operation",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("HIVE_FAULTS_OP", op);
    command
}

#[test]
#[ignore = "run by the fault sweeps, in a child process"]
fn child_operation() {
    let var = |name: &str| PathBuf::from(std::env::var(name).expect("run by a sweep"));
    match std::env::var("HIVE_FAULTS_OP").as_deref() {
        Ok("apply") => {
            let bundle = std::fs::File::open(var("HIVE_FAULTS_BUNDLE")).unwrap();
            apply(
                bundle,
                &var("HIVE_FAULTS_DEVICE"),
                None,
                OffsetDateTime::now_utc(),
                &Silent,
            )
            .unwrap();
        }
        Ok("publish") => {
            let keys = if std::env::var_os("HIVE_FAULTS_ROTATED").is_some() {
                vec![
                    PrivateKey::from_seed([3; 32]),
                    PrivateKey::from_seed([4; 32]),
                ]
            } else {
                keys()
            };
            hive_update::repo::publish(
                &var("HIVE_FAULTS_REPO"),
                &var("HIVE_FAULTS_BUNDLE"),
                None,
                &signers(&keys),
                FAR,
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        }
        other => panic!("no operation {other:?}"),
    }
}

/// The release a device runs, checked whole: its slot's files are that release's, byte for
/// byte.
fn running(device: &Path) -> u64 {
    let (slot, record) = Device::new(device)
        .running()
        .unwrap_or_else(|e| panic!("the device cannot tell what it runs: {e}"))
        .expect("the device runs a release");
    for (name, bytes) in release(record.version) {
        let found = std::fs::read(device.join(format!("slot-{slot}")).join(name)).unwrap();
        assert!(
            found == bytes,
            "slot {slot}'s `{name}` is not release {}'s",
            record.version
        );
    }
    record.version
}

fn apply_sweep(delta: bool) {
    let Some(injector) = Injector::for_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let trust = root(&keys(), 1, &keys());
    let first = bundle(dir.path(), 1, false, Vec::new(), &keys());
    let next = bundle(dir.path(), 2, delta, Vec::new(), &keys());
    let pristine = dir.path().join("pristine");
    apply(
        std::fs::File::open(&first).unwrap(),
        &pristine,
        Some(&trust),
        OffsetDateTime::now_utc(),
        &Silent,
    )
    .unwrap();
    let device = dir.path().join("device");
    let report = injector.sweep(
        &device,
        || {
            copy_tree(&pristine, &device);
            let mut command = child("apply");
            command
                .env("HIVE_FAULTS_BUNDLE", &next)
                .env("HIVE_FAULTS_DEVICE", &device);
            command
        },
        |fault: Option<Fault>, run: &Run| {
            let version = running(&device);
            assert!(version == 1 || version == 2, "{fault:?}: version {version}");
            if run.status.success() {
                assert_eq!(
                    version, 2,
                    "{fault:?}: apply succeeded, the device runs {version}"
                );
            }
            // The next run, without a fault, ends at release 2.
            match apply(
                std::fs::File::open(&next).unwrap(),
                &device,
                None,
                OffsetDateTime::now_utc(),
                &Silent,
            ) {
                Ok(_) | Err(UpdateError::NotNewer { .. }) => {}
                Err(e) => panic!("{fault:?}: after it, apply fails: {e}"),
            }
            assert_eq!(running(&device), 2, "{fault:?}: after the next run");
        },
    );
    eprintln!(
        "apply ({}): {} injection points, {} runs",
        if delta { "delta" } else { "full" },
        report.points,
        report.runs
    );
    assert!(report.points >= 8, "{report:?}");
}

#[test]
fn apply_of_a_full_bundle_survives_a_fault_at_every_write_fsync_and_rename() {
    apply_sweep(false);
}

#[test]
fn apply_of_a_delta_survives_a_fault_at_every_write_fsync_and_rename() {
    apply_sweep(true);
}

/// What a client of the repository makes of it: the newest bundle version it lists.
fn served(repo: &Path) -> u64 {
    let refreshed = hive_update::repo::refresh(
        &Folder(repo.to_owned()),
        &root(&keys(), 1, &keys()),
        &Seen::default(),
        OffsetDateTime::now_utc(),
    )
    .unwrap_or_else(|e| panic!("clients refuse the repository: {e}"));
    refreshed
        .targets
        .targets
        .values()
        .filter_map(|t| t.custom.as_ref()?.get("version")?.as_u64())
        .max()
        .expect("the repository lists a bundle")
}

fn publish_sweep(rotate: bool) {
    let Some(injector) = Injector::for_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let trust = root(&keys(), 1, &keys());
    let first = bundle(dir.path(), 1, false, Vec::new(), &keys());
    let new_keys = vec![
        PrivateKey::from_seed([3; 32]),
        PrivateKey::from_seed([4; 32]),
    ];
    let next = if rotate {
        let both: Vec<PrivateKey> = [1, 2, 3, 4].map(|n| PrivateKey::from_seed([n; 32])).into();
        bundle(
            dir.path(),
            2,
            false,
            vec![root(&new_keys, 2, &both)],
            &new_keys,
        )
    } else {
        bundle(dir.path(), 2, false, Vec::new(), &keys())
    };
    let pristine = dir.path().join("pristine");
    hive_update::repo::publish(
        &pristine,
        &first,
        Some(&trust),
        &signers(&keys()),
        FAR,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let repo = dir.path().join("repo");
    let publish_keys = if rotate { new_keys } else { keys() };
    let report = injector.sweep(
        &repo,
        || {
            copy_tree(&pristine, &repo);
            let mut command = child("publish");
            command
                .env("HIVE_FAULTS_BUNDLE", &next)
                .env("HIVE_FAULTS_REPO", &repo);
            if rotate {
                command.env("HIVE_FAULTS_ROTATED", "1");
            }
            command
        },
        |fault: Option<Fault>, run: &Run| {
            let version = served(&repo);
            if run.status.success() {
                assert_eq!(
                    version, 2,
                    "{fault:?}: published, but clients see {version}"
                );
            }
            // The next run, without a fault, publishes it.
            if version != 2 {
                hive_update::repo::publish(
                    &repo,
                    &next,
                    None,
                    &signers(&publish_keys),
                    FAR,
                    OffsetDateTime::now_utc(),
                )
                .unwrap_or_else(|e| panic!("{fault:?}: after it, publish fails: {e}"));
            }
            assert_eq!(served(&repo), 2, "{fault:?}: after the next run");
        },
    );
    eprintln!(
        "publish ({}): {} injection points, {} runs",
        if rotate { "rotating" } else { "plain" },
        report.points,
        report.runs
    );
    assert!(report.points >= 4, "{report:?}");
}

#[test]
fn publish_survives_a_fault_at_every_write_fsync_and_rename() {
    publish_sweep(false);
}

#[test]
fn publish_of_a_root_rotation_survives_a_fault_at_every_write_fsync_and_rename() {
    publish_sweep(true);
}
