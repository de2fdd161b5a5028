//! The device's updater, on a folder that stands for the device:
//!
//! ```text
//! DIR/device.json      who the device is: hive, target, hardware id (written when provisioned)
//! DIR/root.json        the trust root it was provisioned with
//! DIR/active           `a` or `b`: the slot it boots (replaced atomically)
//! DIR/slot-a/, slot-b/ the components, and slot.json: the version, each component's
//!                      release counter, length and sha256, and the newest trusted root
//! ```
//!
//! Applying a bundle reads and checks its signed metadata first (trust root, rotation,
//! signatures, threshold, expiry, hive, target, hardware id, version, release counters) and
//! only then its payloads, into the inactive slot, each checked against its declared length
//! and hash while it streams; then the slot's record is written and synced, and `active` is
//! replaced (write, fsync, rename, fsync the folder). Stopped at any point before that rename,
//! the device still boots the slot it booted, which nothing touched.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek as _, Write};
use std::path::{Path, PathBuf};

use hive_sign::{Envelope, Root};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::UpdateError;
use crate::delta;
use crate::format::Reader;
use crate::metadata::{self, BundleKind, BundleSigned, Carried, Component};

/// Version of `device.json` and `slot.json`.
pub const DEVICE_FORMAT: u32 = 1;
/// zstd windows a device accepts for whole payloads: 2^27 bytes (128 MiB) of decoder memory
/// at most (a delta's streams take at most 2^[`crate::delta::WINDOW_LOG`] each).
pub const MAX_WINDOW_LOG: u32 = 27;
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeviceInfo {
    pub hive_device: u32,
    pub hive: String,
    pub target: String,
    pub hardware_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlotRecord {
    pub hive_slot: u32,
    pub version: u64,
    pub hive_version: String,
    pub components: BTreeMap<String, Installed>,
    /// The newest root this slot's bundle was checked against.
    pub root: Envelope,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Installed {
    pub release: u64,
    pub length: u64,
    pub sha256: String,
}

/// What an apply did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub version: u64,
    pub slot: char,
    /// Components written from the bundle, and kept from the running slot.
    pub written: Vec<String>,
    pub kept: Vec<String>,
    /// Root versions walked to.
    pub root_version: u64,
    pub provisioned: bool,
}

/// The device folder's current state.
pub struct Device {
    dir: PathBuf,
}

impl Device {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn slot_dir(&self, slot: char) -> PathBuf {
        self.path(&format!("slot-{slot}"))
    }

    /// The slot it boots, if it was ever installed.
    pub fn active(&self) -> Result<Option<char>, UpdateError> {
        match fs::read_to_string(self.path("active")) {
            Ok(text) => match text.trim() {
                "a" => Ok(Some('a')),
                "b" => Ok(Some('b')),
                other => Err(UpdateError::Device(format!(
                    "`active` names slot `{other}`"
                ))),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn info(&self) -> Result<Option<DeviceInfo>, UpdateError> {
        read_json(&self.path("device.json"))
    }

    pub fn slot(&self, slot: char) -> Result<Option<SlotRecord>, UpdateError> {
        read_json(&self.slot_dir(slot).join("slot.json"))
    }

    /// The running slot's record.
    pub fn running(&self) -> Result<Option<(char, SlotRecord)>, UpdateError> {
        let Some(active) = self.active()? else {
            return Ok(None);
        };
        let record = self.slot(active)?.ok_or_else(|| {
            UpdateError::Device(format!("slot {active} is active but has no slot.json"))
        })?;
        Ok(Some((active, record)))
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, UpdateError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| UpdateError::Device(format!("`{}`: {e}", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Write a file so that it is either absent, or whole and on disk.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().expect("a file in a folder"))
}

fn sync_dir(dir: &Path) -> Result<(), UpdateError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Progress of applying a bundle, for the user.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// The metadata is signed by a trusted root and fits the device; nothing is written yet.
    Verified {
        version: u64,
        kind: BundleKind,
        components: usize,
    },
    /// A component is whole in the inactive slot: `how` it came (`full`, `delta`,
    /// `unchanged`, or `kept` from the running slot) and its length.
    Staged {
        slot: char,
        component: &'a str,
        how: &'a str,
        length: u64,
    },
    /// `active` names the new slot.
    Switched { slot: char, version: u64 },
}

pub trait Reporter: Sync {
    fn report(&self, event: &Event<'_>);
}

/// A reporter that shows nothing.
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: &Event<'_>) {}
}

/// Apply a bundle to the device folder `dir`. An empty (or missing) folder is provisioned
/// with `trust_root`, which is required then and ignored after.
pub fn apply(
    bundle: impl Read,
    dir: &Path,
    trust_root: Option<&Envelope>,
    now: OffsetDateTime,
    reporter: &dyn Reporter,
) -> Result<Applied, UpdateError> {
    let device = Device::new(dir);
    let mut reader = Reader::new(BufReader::with_capacity(CHUNK, bundle));

    // 1. The metadata, and everything that can be decided from it.
    let (envelope, signed) = metadata::read(&mut reader)?;
    let running = device.running()?;
    let info = device.info()?;
    let trusted = device.trusted(running.as_ref(), trust_root)?;
    let root = walk_roots(&trusted, &signed.custom.roots, now)?;
    envelope
        .verify_role(&root, "targets")
        .map_err(|e| UpdateError::Signatures(e.to_string()))?;
    hive_sign::check_expiry("bundle", &signed.expires, now)
        .map_err(|e| UpdateError::Expired(e.to_string()))?;
    check_against_device(&signed, info.as_ref(), running.as_ref().map(|(_, r)| r))?;
    reporter.report(&Event::Verified {
        version: signed.version,
        kind: signed.custom.kind,
        components: signed.custom.components.len(),
    });

    // 2. Provision an empty device: who it is, and the root it trusts.
    let provisioning = running.is_none();
    fs::create_dir_all(dir)?;
    if info.is_none() {
        let info = DeviceInfo {
            hive_device: DEVICE_FORMAT,
            hive: signed.custom.hive.clone(),
            target: signed.custom.target.clone(),
            hardware_id: signed.custom.hardware_id.clone(),
        };
        write_durably(&device.path("device.json"), &json(&info))?;
    }
    if provisioning && !device.path("root.json").exists() {
        write_durably(&device.path("root.json"), trusted.to_json().as_bytes())?;
    }

    // 3. The payloads, into the inactive slot.
    let mut slot = Staging::new(&device, running.as_ref(), reporter)?;
    // A single-component bundle leaves every other component as it runs.
    if signed.custom.kind == BundleKind::Component {
        slot.keep_others(&signed)?;
    }
    for component in &signed.custom.components {
        slot.stage(&mut reader, &signed, component)?;
    }
    metadata::expect_end(&mut reader)?;

    // 4. The slot's record, then the switch.
    let record = SlotRecord {
        hive_slot: DEVICE_FORMAT,
        version: signed.version,
        hive_version: signed.custom.hive_version.clone(),
        components: std::mem::take(&mut slot.kept_records)
            .into_iter()
            .chain(signed.custom.components.iter().map(|c| {
                (
                    c.name.clone(),
                    Installed {
                        release: c.release,
                        length: c.length,
                        sha256: c.sha256.clone(),
                    },
                )
            }))
            .collect(),
        root: newest_root(&trusted, &signed.custom.roots),
    };
    write_durably(&slot.dir.join("slot.json"), &json(&record))?;
    sync_dir(&slot.dir)?;
    write_durably(
        &device.path("active"),
        format!("{}\n", slot.slot).as_bytes(),
    )?;
    reporter.report(&Event::Switched {
        slot: slot.slot,
        version: signed.version,
    });
    Ok(Applied {
        version: signed.version,
        slot: slot.slot,
        written: slot.written,
        kept: slot.kept,
        root_version: root.version,
        provisioned: provisioning,
    })
}

impl Device {
    /// The root a bundle is checked against: the running slot's, else the one the device was
    /// provisioned with, else `trust_root` (an empty device).
    pub(crate) fn trusted(
        &self,
        running: Option<&(char, SlotRecord)>,
        trust_root: Option<&Envelope>,
    ) -> Result<Envelope, UpdateError> {
        if let Some((_, record)) = running {
            return Ok(record.root.clone());
        }
        match fs::read(self.path("root.json")) {
            Ok(bytes) => Envelope::parse(&bytes).map_err(|e| UpdateError::Trust(e.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                trust_root.cloned().ok_or(UpdateError::NotProvisioned)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The inactive slot while a bundle's components go into it.
struct Staging<'a> {
    device: &'a Device,
    running: Option<&'a (char, SlotRecord)>,
    reporter: &'a dyn Reporter,
    slot: char,
    dir: PathBuf,
    /// Components written from the bundle, and kept from the running slot.
    written: Vec<String>,
    kept: Vec<String>,
    /// Records of the components a single-component bundle keeps.
    kept_records: BTreeMap<String, Installed>,
}

impl<'a> Staging<'a> {
    /// Empty the inactive slot.
    fn new(
        device: &'a Device,
        running: Option<&'a (char, SlotRecord)>,
        reporter: &'a dyn Reporter,
    ) -> Result<Self, UpdateError> {
        let slot = match running {
            Some(('a', _)) => 'b',
            _ => 'a',
        };
        let dir = device.slot_dir(slot);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(Self {
            device,
            running,
            reporter,
            slot,
            dir,
            written: Vec::new(),
            kept: Vec::new(),
            kept_records: BTreeMap::new(),
        })
    }

    /// The running slot's copy of `name`, and its record.
    fn running(&self, name: &str) -> (PathBuf, &'a Installed) {
        let (from_slot, record) = self.running.expect("checked: a running slot");
        (
            self.device.slot_dir(*from_slot).join(name),
            &record.components[name],
        )
    }

    fn staged(&self, component: &str, how: &str, length: u64) {
        self.reporter.report(&Event::Staged {
            slot: self.slot,
            component,
            how,
            length,
        });
    }

    /// Copy every running component the bundle does not carry.
    fn keep_others(&mut self, signed: &BundleSigned) -> Result<(), UpdateError> {
        let (_, record) = self.running.expect("checked: a running slot");
        for (name, installed) in &record.components {
            if signed.custom.components.iter().any(|c| c.name == *name) {
                continue;
            }
            let (from, _) = self.running(name);
            copy_checked(
                &from,
                &self.dir.join(name),
                installed.length,
                &installed.sha256,
            )?;
            self.kept_records.insert(name.clone(), installed.clone());
            self.kept.push(name.clone());
            self.staged(name, "kept", installed.length);
        }
        Ok(())
    }

    /// One component of the bundle, as it is carried.
    fn stage<R: Read>(
        &mut self,
        reader: &mut Reader<R>,
        signed: &BundleSigned,
        component: &Component,
    ) -> Result<(), UpdateError> {
        let out = self.dir.join(&component.name);
        match component.carried {
            Carried::Unchanged => {
                let (from, installed) = self.running(&component.name);
                copy_checked(&from, &out, installed.length, &installed.sha256)?;
                self.kept.push(component.name.clone());
            }
            Carried::Full => {
                let payload = component.payload.as_deref().expect("checked by parse");
                let member = metadata::next_payload(reader, signed, payload)?;
                let data = HashingReader::new(reader.data(member.size));
                let mut file = File::create(&out)?;
                let data = decompress_to(
                    data,
                    &mut file,
                    component.length,
                    &component.sha256,
                    payload,
                )?;
                file.sync_all()?;
                check_stored(signed, payload, &data.finish())?;
                reader.end_member(member.size)?;
                self.written.push(component.name.clone());
            }
            Carried::Delta => {
                let payload = component.payload.as_deref().expect("checked by parse");
                let member = metadata::next_payload(reader, signed, payload)?;
                // The delta goes to a file in the inactive slot and is checked against its
                // signed hash before anything reads it; then it is applied from there, its
                // streams read side by side, to the running slot's component (checked too).
                let spool = self.dir.join(format!(".{}.delta", component.name));
                let mut data = HashingReader::new(reader.data(member.size));
                let mut file = File::create(&spool)?;
                io::copy(&mut data, &mut file)?;
                file.sync_all()?;
                check_stored(signed, payload, &data.finish())?;
                reader.end_member(member.size)?;
                let (from, installed) = self.running(&component.name);
                copy_installed(&from, &mut io::sink(), installed.length, &installed.sha256)?;
                patch_file(&from, &spool, member.size, &out, component)?;
                fs::remove_file(&spool)?;
                self.written.push(component.name.clone());
            }
        }
        self.staged(
            &component.name,
            component.carried.as_str(),
            component.length,
        );
        Ok(())
    }
}

fn json(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialises");
    bytes.push(b'\n');
    bytes
}

/// Walk from the trusted root through newer ones (each signed by the previous threshold and
/// its own); the last must not have expired.
pub(crate) fn walk_roots(
    trusted: &Envelope,
    newer: &[Envelope],
    now: OffsetDateTime,
) -> Result<Root, UpdateError> {
    let mut root = Root::self_signed(trusted).map_err(|e| UpdateError::Trust(e.to_string()))?;
    for next in newer {
        let version: u64 = next
            .signed
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if version <= root.version {
            continue; // already trusted
        }
        root = root
            .update(next)
            .map_err(|e| UpdateError::Rotation(e.to_string()))?;
    }
    hive_sign::check_expiry("root", &root.expires, now)
        .map_err(|e| UpdateError::Expired(e.to_string()))?;
    Ok(root)
}

/// The envelope of the newest root: the last of `newer` above the trusted one's version.
fn newest_root(trusted: &Envelope, newer: &[Envelope]) -> Envelope {
    newer
        .iter()
        .max_by_key(|e| e.signed.get("version").and_then(serde_json::Value::as_u64))
        .filter(|e| {
            e.signed.get("version").and_then(serde_json::Value::as_u64)
                > trusted
                    .signed
                    .get("version")
                    .and_then(serde_json::Value::as_u64)
        })
        .unwrap_or(trusted)
        .clone()
}

fn check_against_device(
    signed: &BundleSigned,
    info: Option<&DeviceInfo>,
    running: Option<&SlotRecord>,
) -> Result<(), UpdateError> {
    let bundle = &signed.custom;
    if let Some(info) = info {
        for (what, device, carried) in [
            ("hive", &info.hive, &bundle.hive),
            ("target", &info.target, &bundle.target),
            ("hardware id", &info.hardware_id, &bundle.hardware_id),
        ] {
            if device != carried {
                return Err(UpdateError::WrongDevice {
                    what,
                    device: device.clone(),
                    bundle: carried.clone(),
                });
            }
        }
    }
    let Some(running) = running else {
        if bundle.kind != BundleKind::Full {
            return Err(UpdateError::NeedsFull);
        }
        return Ok(());
    };
    if signed.version <= running.version {
        return Err(UpdateError::NotNewer {
            installed: running.version,
            bundle: signed.version,
        });
    }
    if let Some(from) = bundle.from_version
        && from != running.version
    {
        return Err(UpdateError::WrongBase {
            from,
            running: running.version,
        });
    }
    for component in &bundle.components {
        if let Some(installed) = running.components.get(&component.name) {
            if component.release < installed.release {
                return Err(UpdateError::ReleaseBack {
                    component: component.name.clone(),
                    installed: installed.release,
                    bundle: component.release,
                });
            }
            if component.carried == Carried::Unchanged
                && (installed.sha256 != component.sha256 || installed.length != component.length)
            {
                return Err(UpdateError::BaseMismatch {
                    component: component.name.clone(),
                });
            }
            if component.carried == Carried::Delta
                && component.base_sha256.as_deref() != Some(installed.sha256.as_str())
            {
                return Err(UpdateError::BaseMismatch {
                    component: component.name.clone(),
                });
            }
        } else if component.carried != Carried::Full {
            return Err(UpdateError::BaseMismatch {
                component: component.name.clone(),
            });
        }
    }
    Ok(())
}

/// Decompress one zstd frame from `input` into `out`, stopping at `length` bytes (more is an
/// error) and checking the result's sha256; the frame must end exactly where `input` does.
/// Gives `input` back, read to its end.
pub(crate) fn decompress_to<R: Read>(
    input: R,
    file: &mut impl Write,
    length: u64,
    sha256: &str,
    what: &str,
) -> Result<R, UpdateError> {
    let payload_error = |message: String| UpdateError::Payload {
        what: what.into(),
        message,
    };
    let buffered = BufReader::with_capacity(CHUNK, input);
    let mut decoder = zstd::stream::read::Decoder::with_buffer(buffered)?.single_frame();
    decoder.window_log_max(MAX_WINDOW_LOG)?;
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = decoder
            .read(&mut buffer)
            .map_err(|e| payload_error(e.to_string()))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > length {
            return Err(UpdateError::TooLarge {
                what: what.into(),
                declared: length,
            });
        }
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n])?;
    }
    if total != length {
        return Err(UpdateError::Length {
            what: what.into(),
            declared: length,
            found: total,
        });
    }
    let found = hex(&hasher.finalize());
    if found != sha256 {
        return Err(UpdateError::Hash {
            what: what.into(),
            declared: sha256.into(),
            found,
        });
    }
    let mut rest = decoder.finish();
    let mut more = [0u8; 1];
    if !rest.buffer().is_empty() || rest.read(&mut more)? != 0 {
        return Err(payload_error("bytes after its zstd frame".into()));
    }
    Ok(rest.into_inner())
}

/// The stored bytes of `payload` must have the sha256 its target says.
pub(crate) fn check_stored(
    signed: &BundleSigned,
    payload: &str,
    found: &[u8],
) -> Result<(), UpdateError> {
    let declared = &signed.targets[payload].hashes["sha256"];
    let found = hex(found);
    if found != *declared {
        return Err(UpdateError::Hash {
            what: payload.into(),
            declared: declared.clone(),
            found,
        });
    }
    Ok(())
}

/// A component of the running slot, copied to `out` (or only read, into a sink), must still
/// be what was installed.
fn copy_installed(
    from: &Path,
    out: &mut impl Write,
    length: u64,
    sha256: &str,
) -> Result<(), UpdateError> {
    let (total, found) = hash_copy(&mut File::open(from)?, out)?;
    if total != length || found != sha256 {
        return Err(UpdateError::Device(format!(
            "`{}` no longer matches what was installed",
            from.display()
        )));
    }
    Ok(())
}

/// Apply the delta in `spool` (`size` bytes, already checked) to `base` into `out`, which
/// must come out as `component` says.
fn patch_file(
    base: &Path,
    spool: &Path,
    size: u64,
    out: &Path,
    component: &metadata::Component,
) -> Result<(), UpdateError> {
    let failed = |source: delta::DeltaError| UpdateError::Delta {
        component: component.name.clone(),
        source,
    };
    let base = File::open(base)?;
    let header = delta::Header::read(File::open(spool)?).map_err(failed)?;
    header
        .check(size, base.metadata()?.len(), component.length)
        .map_err(failed)?;
    let mut output = HashingWriter::create(out)?;
    delta::apply(
        &base,
        &header,
        |offset| {
            let mut file = File::open(spool)?;
            file.seek(io::SeekFrom::Start(offset))?;
            Ok(file)
        },
        &mut output,
    )
    .map_err(failed)?;
    let (written, found) = output.finish()?;
    if written != component.length || found != component.sha256 {
        return Err(UpdateError::Hash {
            what: component.name.clone(),
            declared: component.sha256.clone(),
            found,
        });
    }
    Ok(())
}

fn copy_checked(from: &Path, to: &Path, length: u64, sha256: &str) -> Result<(), UpdateError> {
    let mut output = File::create(to)?;
    copy_installed(from, &mut output, length, sha256)?;
    output.sync_all()?;
    Ok(())
}

/// Copy `input` to `output` in chunks; its length and sha256.
pub(crate) fn hash_copy(
    input: &mut impl Read,
    output: &mut impl Write,
) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buffer[..n]);
        output.write_all(&buffer[..n])?;
    }
    Ok((total, hex(&hasher.finalize())))
}

/// A file being written, hashed and counted as it goes.
struct HashingWriter {
    inner: io::BufWriter<File>,
    hasher: Sha256,
    written: u64,
}

impl HashingWriter {
    fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            inner: io::BufWriter::with_capacity(CHUNK, File::create(path)?),
            hasher: Sha256::new(),
            written: 0,
        })
    }

    /// Flush and sync the file; its length and sha256.
    fn finish(self) -> io::Result<(u64, String)> {
        let file = self
            .inner
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok((self.written, hex(&self.hasher.finalize())))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.hasher.finalize().to_vec()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..n]);
        Ok(n)
    }
}

pub(crate) use hive_sign::hex;
