//! Fleet distribution: a static TUF 1.0 repository of bundles, and the device's client.
//!
//! ```text
//! REPO/metadata/1.root.json, 2.root.json, ...   every root version
//! REPO/metadata/root.json                       the newest root (for bootstrapping clients)
//! REPO/metadata/timestamp.json                  the only unversioned role
//! REPO/metadata/N.snapshot.json, N.targets.json consistent snapshots
//! REPO/targets/<hive>/<target>/<sha256>.<name>  bundles, named by hash (consistent snapshots)
//! ```
//!
//! Any HTTP server or object store serves it as files. The targets metadata lists the
//! bundles with `custom`: hive, target, hardware id, bundle version, kind and, for a delta,
//! the version it starts from. The client (no network code: the caller fetches bytes) walks
//! the TUF update workflow — roots, timestamp, snapshot, targets, each signed, unexpired and
//! not older than what the device saw before — then picks the bundle for its hardware id and
//! version: a delta from its version when there is one, else the newest full bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hive_sign::{Envelope, Root, Signer, TargetFile, Targets};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::UpdateError;
use crate::device::{HashingReader, hex, walk_roots};
use crate::metadata::{BundleKind, BundleSigned};

/// Largest metadata file a client downloads.
pub const MAX_METADATA: u64 = 4 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
}

/// Timestamp and snapshot metadata: `meta` names the file of the next role and its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub meta: BTreeMap<String, MetaFile>,
}

impl Meta {
    /// `kind` metadata of `version` that names version `names_version` of role `names`.
    fn naming(kind: &str, version: u64, expires: &str, names: &str, names_version: u64) -> Self {
        Self {
            kind: kind.into(),
            spec_version: hive_sign::metadata::SPEC_VERSION.into(),
            version,
            expires: expires.into(),
            meta: [(
                format!("{names}.json"),
                MetaFile {
                    version: names_version,
                },
            )]
            .into(),
        }
    }
}

/// What a bundle's entry in the repository's targets says (its `custom`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Listed {
    pub hive: String,
    pub target: String,
    pub hardware_id: String,
    pub version: u64,
    pub kind: BundleKind,
    /// For a delta: the bundle version a device must run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<u64>,
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> UpdateError + '_ {
    move |e| UpdateError::Repository(format!("`{}`: {e}", path.display()))
}

fn read_envelope(path: &Path) -> Result<Envelope, UpdateError> {
    let bytes = std::fs::read(path).map_err(io_at(path))?;
    Envelope::parse(&bytes)
        .map_err(|e| UpdateError::Repository(format!("`{}`: {e}", path.display())))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io_at(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_at(path))
}

impl Listed {
    /// What the repository lists of the bundle with this metadata.
    pub fn of(signed: &BundleSigned) -> Self {
        let info = &signed.custom;
        Listed {
            hive: info.hive.clone(),
            target: info.target.clone(),
            hardware_id: info.hardware_id.clone(),
            version: signed.version,
            kind: info.kind,
            from_version: info.from_version,
        }
    }
}

/// What `publish` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The bundle's target path in the repository.
    pub name: String,
    /// The repository's root version now, and whether this bundle moved it.
    pub root_version: u64,
    pub rotated: bool,
}

/// Add a bundle to the repository at `dir` (created, with `first_root` as its first root,
/// when it does not exist yet), signing targets, snapshot and timestamp with `signers`.
///
/// The bundle is verified first, as a device would from the repository's root; newer roots
/// it carries become the repository's too (`N.root.json`, `root.json`), so a key rotation
/// reaches clients of the repository and devices alike. The signers must satisfy the
/// newest root's `targets`, `snapshot` and `timestamp` roles. Nothing is written until all
/// of that holds; the timestamp is written last.
pub fn publish(
    dir: &Path,
    bundle: &Path,
    first_root: Option<&Envelope>,
    signers: &[&dyn Signer],
    expires: &str,
    now: OffsetDateTime,
) -> Result<Published, UpdateError> {
    let metadata = dir.join("metadata");
    let current_root = metadata.join("root.json");
    let existing = current_root.is_file();
    let trusted = trusted_root(dir, first_root)?;
    let current = Root::self_signed(&trusted).map_err(|e| UpdateError::Trust(e.to_string()))?;
    // One read of the bundle: verified, and hashed for its target entry as it passes.
    let file = std::fs::File::open(bundle).map_err(io_at(bundle))?;
    let length = file.metadata().map_err(io_at(bundle))?.len();
    let mut hashed = HashingReader::new(file);
    let signed = crate::verify(&mut hashed, &trusted, now)?;
    let sha256 = hex(&hashed.finish());
    let root = walk_roots(&trusted, &signed.custom.roots, now)?;
    let listed = Listed::of(&signed);
    let mut new_roots: Vec<(u64, &Envelope)> = Vec::new();
    if !existing {
        new_roots.push((current.version, &trusted));
    }
    for envelope in &signed.custom.roots {
        let version = envelope
            .signed
            .get("version")
            .and_then(serde_json::Value::as_u64);
        if let Some(version) = version.filter(|v| *v > current.version && *v <= root.version) {
            new_roots.push((version, envelope));
        }
    }

    // The targets: the previous ones plus this bundle.
    let name = target_name(&listed);
    let (mut targets, old_snapshot) = match latest(&metadata)? {
        Some((targets, snapshot)) => (targets, Some(snapshot)),
        None => (
            Targets {
                kind: "targets".into(),
                spec_version: hive_sign::metadata::SPEC_VERSION.into(),
                version: 0,
                expires: expires.into(),
                targets: BTreeMap::new(),
            },
            None,
        ),
    };
    targets.version += 1;
    targets.expires = expires.into();
    targets.targets.insert(
        name.clone(),
        TargetFile {
            length,
            hashes: [("sha256".to_owned(), sha256)].into(),
            custom: Some(serde_json::to_value(listed).expect("serialises")),
        },
    );
    let snapshot = Meta::naming(
        "snapshot",
        old_snapshot.map_or(1, |s| s.version + 1),
        expires,
        "targets",
        targets.version,
    );
    let timestamp = Meta::naming(
        "timestamp",
        snapshot.version,
        expires,
        "snapshot",
        snapshot.version,
    );
    let targets_json = signed_for(&targets, "targets", &root, signers)?;
    let snapshot_json = signed_for(&snapshot, "snapshot", &root, signers)?;
    let timestamp_json = signed_for(&timestamp, "timestamp", &root, signers)?;

    let stored = dir.join(target_path(&name, &targets.targets[&name]));
    std::fs::create_dir_all(stored.parent().expect("under targets/")).map_err(io_at(&stored))?;
    let tmp = stored.with_extension("tmp");
    std::fs::copy(bundle, &tmp).map_err(io_at(bundle))?;
    std::fs::rename(&tmp, &stored).map_err(io_at(&stored))?;

    let mut files = vec![
        (format!("{}.targets.json", targets.version), targets_json),
        (format!("{}.snapshot.json", snapshot.version), snapshot_json),
    ];
    for (version, envelope) in &new_roots {
        files.push((format!("{version}.root.json"), envelope.to_json()));
        files.push(("root.json".into(), envelope.to_json()));
    }
    files.push(("timestamp.json".into(), timestamp_json));
    switch_metadata(dir, &files)?;
    Ok(Published {
        name,
        root_version: root.version,
        rotated: root.version > current.version,
    })
}

/// The root a publication starts from: the repository's current one (a root given must be
/// one of its roots), or for a new repository the first root given.
fn trusted_root(dir: &Path, first_root: Option<&Envelope>) -> Result<Envelope, UpdateError> {
    let metadata = dir.join("metadata");
    let current_root = metadata.join("root.json");
    if !current_root.is_file() {
        return first_root.cloned().ok_or_else(|| {
            UpdateError::Repository(format!(
                "`{}` is not a repository yet: give its first trust root",
                dir.display()
            ))
        });
    }
    if let Some(given) = first_root {
        let version = Root::self_signed(given)
            .map_err(|e| UpdateError::Trust(e.to_string()))?
            .version;
        let file = metadata.join(format!("{version}.root.json"));
        if !file.is_file() || read_envelope(&file)?.to_json() != given.to_json() {
            return Err(UpdateError::Repository(format!(
                "the trust root given (version {version}) is not the repository's root \
                 version {version} in `{}`",
                metadata.display()
            )));
        }
    }
    read_envelope(&current_root)
}

/// Where a bundle is listed: `HIVE/TARGET/VERSION.KIND[-from-N].hivebundle`.
fn target_name(listed: &Listed) -> String {
    let kind = listed.kind.as_str();
    match listed.from_version {
        Some(from) => format!(
            "{}/{}/{}.{kind}-from-{from}.hivebundle",
            listed.hive, listed.target, listed.version
        ),
        None => format!(
            "{}/{}/{}.{kind}.hivebundle",
            listed.hive, listed.target, listed.version
        ),
    }
}

/// The newest targets and snapshot of a repository, if it has any.
fn latest(metadata: &Path) -> Result<Option<(Targets, Meta)>, UpdateError> {
    let timestamp = metadata.join("timestamp.json");
    if !timestamp.is_file() {
        return Ok(None);
    }
    let timestamp: Meta = read_envelope(&timestamp)?
        .signed_as("timestamp")
        .map_err(|e| UpdateError::Repository(e.to_string()))?;
    let version = timestamp.meta["snapshot.json"].version;
    let snapshot: Meta = read_envelope(&metadata.join(format!("{version}.snapshot.json")))?
        .signed_as("snapshot")
        .map_err(|e| UpdateError::Repository(e.to_string()))?;
    let targets_version = snapshot.meta["targets.json"].version;
    let targets: Targets =
        read_envelope(&metadata.join(format!("{targets_version}.targets.json")))?
            .signed_as("targets")
            .map_err(|e| UpdateError::Repository(e.to_string()))?;
    Ok(Some((targets, snapshot)))
}

/// Add `files` (name, content) to the repository's `metadata` folder as a whole.
///
/// A new root next to the old timestamp (or the new timestamp next to the old root) is
/// refused by clients when the rotation changed the timestamp's keys, and no order of writing
/// separate files avoids that (found by fault injection, tests/faults.rs). So the new metadata
/// is made in a staging folder (hard links to the files that stay, the new files beside them)
/// that trades places with `metadata` in one rename (`renameat2(RENAME_EXCHANGE)`): after a
/// crash at any point, clients find the old metadata or the new.
fn switch_metadata(dir: &Path, files: &[(String, String)]) -> Result<(), UpdateError> {
    let metadata = dir.join("metadata");
    let staging = dir.join("metadata.staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io_at(&staging))?;
    let existing = metadata.is_dir();
    if existing {
        for entry in std::fs::read_dir(&metadata).map_err(io_at(&metadata))? {
            let from = entry.map_err(io_at(&metadata))?.path();
            let to = staging.join(from.file_name().expect("a file name"));
            // Every file is replaced by a rename, never written in place: linking is safe.
            std::fs::hard_link(&from, &to)
                .or_else(|_| std::fs::copy(&from, &to).map(drop))
                .map_err(io_at(&to))?;
        }
    }
    for (name, content) in files {
        write_file(&staging.join(name), content.as_bytes())?;
    }
    if existing {
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            &staging,
            rustix::fs::CWD,
            &metadata,
            rustix::fs::RenameFlags::EXCHANGE,
        )
        .map_err(|e| io_at(&metadata)(e.into()))?;
        // The old metadata, now in the staging folder (or at the next publish, if not now).
        let _ = std::fs::remove_dir_all(&staging);
        Ok(())
    } else {
        std::fs::rename(&staging, &metadata).map_err(io_at(&metadata))
    }
}

/// `value` signed by `signers` as `role` of `root`, as the JSON of its envelope; refused
/// when the signatures do not satisfy the role (clients would refuse it).
fn signed_for(
    value: &impl Serialize,
    role: &str,
    root: &Root,
    signers: &[&dyn Signer],
) -> Result<String, UpdateError> {
    let envelope = Envelope::new_signed(value, signers)?;
    envelope.verify_role(root, role).map_err(|e| {
        UpdateError::Signatures(format!(
            "the signing keys cannot sign the repository's `{role}` for root version {}: {e}",
            root.version
        ))
    })?;
    Ok(envelope.to_json())
}

/// Where the client gets files: a path under the repository (`metadata/2.root.json`,
/// `targets/...`); `None` when it does not exist; never more than `limit` bytes.
pub trait Fetch {
    fn fetch(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, UpdateError>;

    /// The same, streamed into `out` (bundles: a device need not hold one in memory);
    /// returns the bytes written. The default reads the whole file first.
    fn fetch_to(
        &self,
        path: &str,
        limit: u64,
        out: &mut dyn std::io::Write,
    ) -> Result<Option<u64>, UpdateError> {
        let Some(bytes) = self.fetch(path, limit)? else {
            return Ok(None);
        };
        out.write_all(&bytes)?;
        Ok(Some(bytes.len() as u64))
    }
}

/// What a device remembers of the repository between refreshes (rollback protection).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Seen {
    pub timestamp: u64,
    pub snapshot: u64,
    pub targets: u64,
}

/// The outcome of a refresh: the trusted root and the repository's bundles.
pub struct Refreshed {
    pub root: Envelope,
    pub seen: Seen,
    pub targets: Targets,
}

fn verified<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    root: &Root,
    role: &str,
    now: OffsetDateTime,
) -> Result<(T, u64, String), UpdateError> {
    let envelope =
        Envelope::parse(bytes).map_err(|e| UpdateError::Repository(format!("{role}: {e}")))?;
    envelope
        .verify_role(root, role)
        .map_err(|e| UpdateError::Repository(format!("{role}: {e}")))?;
    let value: serde_json::Value = envelope.signed.clone();
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let expires = value
        .get("expires")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    hive_sign::check_expiry(role, &expires, now)
        .map_err(|e| UpdateError::Expired(e.to_string()))?;
    let parsed = envelope
        .signed_as(role)
        .map_err(|e| UpdateError::Repository(format!("{role}: {e}")))?;
    Ok((parsed, version, expires))
}

/// The version `meta` names for `role`, which must not be older than the one seen before.
fn next_version(meta: &Meta, role: &str, seen: u64) -> Result<u64, UpdateError> {
    let version = meta
        .meta
        .get(&format!("{role}.json"))
        .ok_or_else(|| UpdateError::Repository(format!("{} names no {role}", meta.kind)))?
        .version;
    if version < seen {
        return Err(UpdateError::Repository(format!(
            "{role} version {version} is older than the {seen} this device saw"
        )));
    }
    Ok(version)
}

/// `VERSION.ROLE.json`, signed, unexpired, and exactly that version: metadata mixed from
/// different snapshots is refused.
fn exact<T: serde::de::DeserializeOwned>(
    fetch: &dyn Fetch,
    root: &Root,
    role: &str,
    version: u64,
    now: OffsetDateTime,
) -> Result<T, UpdateError> {
    let path = format!("metadata/{version}.{role}.json");
    let bytes = fetch
        .fetch(&path, MAX_METADATA)?
        .ok_or_else(|| UpdateError::Repository(format!("no {path}")))?;
    let (parsed, found, _) = verified::<T>(&bytes, root, role, now)?;
    if found != version {
        return Err(UpdateError::Repository(format!(
            "{path} is version {found}: the metadata that names it and it do not belong together"
        )));
    }
    Ok(parsed)
}

/// TUF's client workflow from a trusted root and what was seen before.
pub fn refresh(
    fetch: &dyn Fetch,
    trusted: &Envelope,
    seen: &Seen,
    now: OffsetDateTime,
) -> Result<Refreshed, UpdateError> {
    // Roots, one version at a time.
    let mut root = Root::self_signed(trusted).map_err(|e| UpdateError::Trust(e.to_string()))?;
    let mut root_envelope = trusted.clone();
    loop {
        let path = format!("metadata/{}.root.json", root.version + 1);
        let Some(bytes) = fetch.fetch(&path, MAX_METADATA)? else {
            break;
        };
        let next =
            Envelope::parse(&bytes).map_err(|e| UpdateError::Repository(format!("{path}: {e}")))?;
        root = root
            .update(&next)
            .map_err(|e| UpdateError::Rotation(e.to_string()))?;
        root_envelope = next;
    }
    hive_sign::check_expiry("root", &root.expires, now)
        .map_err(|e| UpdateError::Expired(e.to_string()))?;

    // Timestamp: signed, unexpired (a frozen repository is refused), not older.
    let bytes = fetch
        .fetch("metadata/timestamp.json", MAX_METADATA)?
        .ok_or_else(|| UpdateError::Repository("no timestamp.json".into()))?;
    let (timestamp, timestamp_version, _) = verified::<Meta>(&bytes, &root, "timestamp", now)?;
    if timestamp_version < seen.timestamp {
        return Err(UpdateError::Repository(format!(
            "timestamp version {timestamp_version} is older than the {} this device saw",
            seen.timestamp
        )));
    }
    let snapshot_version = next_version(&timestamp, "snapshot", seen.snapshot)?;
    let snapshot: Meta = exact(fetch, &root, "snapshot", snapshot_version, now)?;
    let targets_version = next_version(&snapshot, "targets", seen.targets)?;
    let targets: Targets = exact(fetch, &root, "targets", targets_version, now)?;
    Ok(Refreshed {
        root: root_envelope,
        seen: Seen {
            timestamp: timestamp_version,
            snapshot: snapshot_version,
            targets: targets_version,
        },
        targets,
    })
}

/// The bundle for a device: a delta from its version when there is one, else the newest full
/// bundle above its version. None: nothing newer.
pub fn choose(
    targets: &Targets,
    hardware_id: &str,
    installed: Option<u64>,
) -> Option<(String, TargetFile, Listed)> {
    let mut candidates: Vec<(String, TargetFile, Listed)> = targets
        .targets
        .iter()
        .filter_map(|(name, file)| {
            let listed: Listed = serde_json::from_value(file.custom.clone()?).ok()?;
            (listed.hardware_id == hardware_id && installed.is_none_or(|v| listed.version > v))
                .then(|| (name.clone(), file.clone(), listed))
        })
        .collect();
    candidates.sort_by_key(|(_, _, listed)| listed.version);
    let newest_of = |wanted: &dyn Fn(&Listed) -> bool| {
        candidates.iter().rev().find(|(_, _, l)| wanted(l)).cloned()
    };
    let delta = installed.and_then(|version| {
        newest_of(&|l| l.kind == BundleKind::Delta && l.from_version == Some(version))
    });
    let full = newest_of(&|l| l.kind == BundleKind::Full);
    match (delta, full) {
        (Some(delta), Some(full)) if full.2.version > delta.2.version => Some(full),
        (Some(delta), _) => Some(delta),
        (None, full) => full,
    }
}

/// The path under the repository of a target file, with consistent snapshots: its folder,
/// then `<sha256>.<name>`.
pub fn target_path(name: &str, file: &TargetFile) -> String {
    let hash = file.hashes.get("sha256").cloned().unwrap_or_default();
    match name.rsplit_once('/') {
        Some((dir, base)) => format!("targets/{dir}/{hash}.{base}"),
        None => format!("targets/{hash}.{name}"),
    }
}

/// A local repository folder as a [`Fetch`] (tests, and `file://` repositories).
pub struct Folder(pub PathBuf);

impl Fetch for Folder {
    fn fetch_to(
        &self,
        path: &str,
        limit: u64,
        out: &mut dyn std::io::Write,
    ) -> Result<Option<u64>, UpdateError> {
        let file = self.0.join(path);
        match std::fs::File::open(&file) {
            Ok(input) => {
                let copied = std::io::copy(&mut std::io::Read::take(input, limit + 1), out)?;
                if copied > limit {
                    return Err(UpdateError::Repository(format!(
                        "`{path}` is over {limit} bytes"
                    )));
                }
                Ok(Some(copied))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(UpdateError::Repository(format!("`{path}`: {e}"))),
        }
    }

    fn fetch(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, UpdateError> {
        let mut bytes = Vec::new();
        Ok(self.fetch_to(path, limit, &mut bytes)?.map(|_| bytes))
    }
}

/// What `fetch_update` did.
#[derive(Debug)]
pub struct Updated {
    /// The bundle's target name, and what applying it did; None: nothing newer for this
    /// device.
    pub applied: Option<(String, crate::Applied)>,
    pub seen: Seen,
}

/// The device's updater against a repository: refresh the metadata, pick the bundle for
/// this device, download it (length and sha256 checked against the targets metadata) and
/// apply it, reporting to `reporter`. An empty device needs `trust_root` and `hardware_id`.
pub fn fetch_update(
    fetch: &dyn Fetch,
    dir: &Path,
    trust_root: Option<&Envelope>,
    hardware_id: Option<&str>,
    now: OffsetDateTime,
    reporter: &dyn crate::Reporter,
) -> Result<Updated, UpdateError> {
    let device = crate::Device::new(dir);
    let running = device.running()?;
    let trusted = device.trusted(running.as_ref(), trust_root)?;
    let seen_path = dir.join("repository.json");
    let seen: Seen = match std::fs::read(&seen_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| UpdateError::Device(format!("`{}`: {e}", seen_path.display())))?,
        Err(_) => Seen::default(),
    };
    let refreshed = refresh(fetch, &trusted, &seen, now)?;
    let hardware_id = match device.info()? {
        Some(info) => info.hardware_id,
        None => hardware_id
            .ok_or_else(|| {
                UpdateError::Device("an empty device needs its hardware id to pick a bundle".into())
            })?
            .to_owned(),
    };
    std::fs::create_dir_all(dir)?;
    let record_seen = |seen: &Seen| {
        crate::device::write_durably(
            &seen_path,
            &serde_json::to_vec_pretty(seen).expect("serialises"),
        )
    };
    let installed = running.as_ref().map(|(_, record)| record.version);
    let Some((name, file, _)) = choose(&refreshed.targets, &hardware_id, installed) else {
        record_seen(&refreshed.seen)?;
        return Ok(Updated {
            applied: None,
            seen: refreshed.seen,
        });
    };
    // Downloaded to a file beside the slots, checked, applied from there, removed.
    let path = target_path(&name, &file);
    let download = dir.join("download.tmp");
    let result = (|| {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&download)?);
        let written = fetch
            .fetch_to(&path, file.length, &mut out)?
            .ok_or_else(|| UpdateError::Repository(format!("`{path}` is listed but missing")))?;
        std::io::Write::flush(&mut out)?;
        drop(out);
        let (length, sha256) =
            crate::device::hash_copy(&mut std::fs::File::open(&download)?, &mut std::io::sink())?;
        if written != file.length
            || length != file.length
            || Some(&sha256) != file.hashes.get("sha256")
        {
            return Err(UpdateError::Hash {
                what: name.clone(),
                declared: file.hashes.get("sha256").cloned().unwrap_or_default(),
                found: sha256,
            });
        }
        record_seen(&refreshed.seen)?;
        crate::device::apply(
            std::fs::File::open(&download)?,
            dir,
            Some(&trusted),
            now,
            reporter,
        )
    })();
    let _ = std::fs::remove_file(&download);
    let applied = result?;
    Ok(Updated {
        applied: Some((name, applied)),
        seen: refreshed.seen,
    })
}
