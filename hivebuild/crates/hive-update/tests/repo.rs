//! A static TUF repository of bundles, and the device's client: picking, freeze,
//! mix-and-match and rollback.

use std::path::{Path, PathBuf};

use hive_sign::{Envelope, PrivateKey, Root, Signer};
use hive_update::repo::{Folder, fetch_update, publish};
use hive_update::{BundleRequest, ComponentFile, UpdateError, write_bundle};
use time::OffsetDateTime;

const FAR: &str = "2099-01-01T00:00:00Z";

struct Fleet {
    dir: tempfile::TempDir,
    key: PrivateKey,
    root: Envelope,
}

impl Fleet {
    fn new() -> Self {
        Self::new_with_seed(7)
    }

    fn new_with_seed(seed: u8) -> Self {
        let key = PrivateKey::from_seed([seed; 32]);
        let root = Root::new(&[key.public()], 1, FAR.into(), 1);
        let root = Envelope::new_signed(&root, &[&key as &dyn Signer]).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            key,
            root,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn release(&self, version: u64) -> Vec<ComponentFile> {
        let dir = self.path(&format!("release-{version}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("loader.img");
        let mut bytes = vec![0u8; 64 * 1024];
        bytes[..8].copy_from_slice(&version.to_le_bytes());
        std::fs::write(&file, bytes).unwrap();
        vec![ComponentFile {
            name: "loader.img".into(),
            origin: "step:system/loader.img".into(),
            path: file,
            release: version,
        }]
    }

    /// Make and publish a bundle of `version` (a delta from `from` when given).
    fn publish(&self, version: u64, from: Option<u64>, expires: &str) {
        let out = self.bundle(version, from, Vec::new(), &[&self.key]);
        publish(
            &self.path("repo"),
            &out,
            Some(&self.root),
            &[&self.key as &dyn Signer],
            expires,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    }

    /// A bundle of `version` (a delta from `from`), carrying `roots`, signed by `signers`.
    fn bundle(
        &self,
        version: u64,
        from: Option<u64>,
        roots: Vec<Envelope>,
        signers: &[&dyn Signer],
    ) -> PathBuf {
        let out = self.path(&format!("{version}-{from:?}.hivebundle"));
        let request = BundleRequest {
            hive: "demo".into(),
            hive_version: "0.1.0".into(),
            target: "rpi4".into(),
            hardware_id: "rpi4b".into(),
            version,
            expires: FAR.into(),
            components: self.release(version),
            roots,
            base: from.map(|v| self.release(v)).unwrap_or_default(),
            from_version: from,
            only: None,
        };
        write_bundle(&request, signers, &out).unwrap();
        out
    }

    fn update(&self, device: &Path) -> Result<hive_update::repo::Updated, UpdateError> {
        fetch_update(
            &Folder(self.path("repo")),
            device,
            Some(&self.root),
            Some("rpi4b"),
            OffsetDateTime::now_utc(),
            &hive_update::Silent,
        )
    }
}

#[test]
fn a_device_takes_the_newest_full_then_a_delta_from_its_version() {
    let fleet = Fleet::new();
    fleet.publish(1, None, FAR);
    fleet.publish(2, None, FAR);
    fleet.publish(2, Some(1), FAR);
    let device = fleet.path("device");
    let (name, applied) = fleet.update(&device).unwrap().applied.unwrap();
    assert_eq!(
        (name.as_str(), applied.version),
        ("demo/rpi4/2.full.hivebundle", 2)
    );

    fleet.publish(3, None, FAR);
    fleet.publish(3, Some(2), FAR);
    let (name, applied) = fleet.update(&device).unwrap().applied.unwrap();
    assert_eq!(name, "demo/rpi4/3.delta-from-2.hivebundle");
    assert_eq!((applied.slot, applied.version), ('b', 3));
    // Nothing newer: nothing applied.
    assert!(fleet.update(&device).unwrap().applied.is_none());
    // The repository layout is what TUF clients expect.
    for file in [
        "metadata/1.root.json",
        "metadata/timestamp.json",
        "metadata/5.snapshot.json",
        "metadata/5.targets.json",
    ] {
        assert!(fleet.path("repo").join(file).is_file(), "{file}");
    }
}

#[test]
fn an_expired_timestamp_is_a_frozen_repository() {
    let fleet = Fleet::new();
    fleet.publish(1, None, "2001-01-01T00:00:00Z");
    let error = fleet.update(&fleet.path("device")).unwrap_err();
    assert!(
        matches!(error, UpdateError::Expired(ref m) if m.contains("timestamp")),
        "{error}"
    );
}

#[test]
fn a_snapshot_with_targets_of_another_version_is_refused() {
    let fleet = Fleet::new();
    fleet.publish(1, None, FAR);
    fleet.publish(2, None, FAR);
    // Mix and match: version 2's targets file replaced by version 1's.
    let metadata = fleet.path("repo/metadata");
    std::fs::copy(
        metadata.join("1.targets.json"),
        metadata.join("2.targets.json"),
    )
    .unwrap();
    let error = fleet.update(&fleet.path("device")).unwrap_err();
    assert!(
        matches!(error, UpdateError::Repository(ref m) if m.contains("do not belong together")),
        "{error}"
    );
}

#[test]
fn an_older_timestamp_than_seen_is_refused() {
    let fleet = Fleet::new();
    fleet.publish(1, None, FAR);
    let old_timestamp = std::fs::read(fleet.path("repo/metadata/timestamp.json")).unwrap();
    fleet.publish(2, None, FAR);
    let device = fleet.path("device");
    fleet.update(&device).unwrap();
    std::fs::write(fleet.path("repo/metadata/timestamp.json"), old_timestamp).unwrap();
    let error = fleet.update(&device).unwrap_err();
    assert!(
        matches!(error, UpdateError::Repository(ref m) if m.contains("older than")),
        "{error}"
    );
}

#[test]
fn a_bundle_file_that_differs_from_its_listing_is_refused() {
    let fleet = Fleet::new();
    fleet.publish(1, None, FAR);
    let targets = fleet.path("repo/targets/demo/rpi4");
    let file = std::fs::read_dir(&targets)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[600] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    assert!(matches!(
        fleet.update(&fleet.path("device")).unwrap_err(),
        UpdateError::Hash { .. }
    ));
    assert!(!fleet.path("device/active").exists());
    assert!(
        !fleet.path("device/download.tmp").exists(),
        "the download is removed"
    );
}

/// The release keys rotate: the bundle carries root 2. Publishing it needs the new keys,
/// moves the repository to root 2, and a device provisioned with root 1 follows; a bundle the
/// repository's root does not endorse is refused before anything is written.
#[test]
fn a_rotation_in_a_bundle_reaches_the_repository_and_devices() {
    let fleet = Fleet::new();
    fleet.publish(1, None, FAR);
    let device = fleet.path("device");
    fleet.update(&device).unwrap();
    let new_key = PrivateKey::from_seed([8; 32]);
    let both = [&fleet.key as &dyn Signer, &new_key];
    let root2 =
        Envelope::new_signed(&Root::new(&[new_key.public()], 1, FAR.into(), 2), &both).unwrap();
    let rotated = fleet.bundle(2, None, vec![root2.clone()], &[&new_key]);
    let repo = fleet.path("repo");
    let timestamp = std::fs::read(repo.join("metadata/timestamp.json")).unwrap();
    let now = OffsetDateTime::now_utc();

    // The old key can no longer sign the repository's metadata.
    let error = publish(&repo, &rotated, None, &[&fleet.key], FAR, now).unwrap_err();
    assert!(
        matches!(error, UpdateError::Signatures(ref m) if m.contains("root version 2")),
        "{error}"
    );
    // A trust root that is not the repository's.
    let other = Fleet::new_with_seed(11);
    let error = publish(&repo, &rotated, Some(&other.root), &[&new_key], FAR, now).unwrap_err();
    assert!(
        matches!(error, UpdateError::Repository(ref m) if m.contains("not the repository's root")),
        "{error}"
    );
    // A bundle signed by a key no root endorses.
    let stranger = PrivateKey::from_seed([9; 32]);
    let unsigned = fleet.bundle(3, None, Vec::new(), &[&stranger]);
    let error = publish(&repo, &unsigned, None, &[&stranger], FAR, now).unwrap_err();
    assert!(matches!(error, UpdateError::Signatures(_)), "{error}");
    assert_eq!(
        std::fs::read(repo.join("metadata/timestamp.json")).unwrap(),
        timestamp,
        "a refused publish wrote nothing"
    );
    assert!(!repo.join("metadata/2.root.json").exists());

    publish(&repo, &rotated, None, &[&new_key], FAR, now).unwrap();
    assert_eq!(
        std::fs::read(repo.join("metadata/2.root.json")).unwrap(),
        std::fs::read(repo.join("metadata/root.json")).unwrap()
    );
    let (_, applied) = fleet.update(&device).unwrap().applied.unwrap();
    assert_eq!((applied.version, applied.root_version), (2, 2));
}
