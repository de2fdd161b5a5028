//! Making a bundle (hivebuild's side): compress each carried component to a temporary file,
//! sign the metadata over their hashes, then write the stream to a temporary file and
//! rename it into place, so a bundle is either whole or absent.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hive_sign::{Envelope, Signer, TargetFile};
use sha2::{Digest as _, Sha256};

use crate::UpdateError;
use crate::device::{hash_copy, hex};
use crate::format::Writer;
use crate::metadata::{
    self, BUNDLE_FORMAT, BundleInfo, BundleKind, BundleSigned, Carried, Component, METADATA_MEMBER,
};

/// zstd level of full payloads (tuned by `cargo bench -p hive-update`).
pub const LEVEL: i32 = 9;
/// The largest component (either version) hivebuild makes a delta of: both versions and the
/// delta's index, two to four times the base, are in memory while it is made. Larger ones are
/// carried whole.
pub const MAX_DELTA_BASE: u64 = 1 << 27;

/// One component of the release the bundle brings a device to.
#[derive(Clone, Debug)]
pub struct ComponentFile {
    pub name: String,
    pub origin: String,
    pub path: PathBuf,
    pub release: u64,
}

#[derive(Clone, Debug)]
pub struct BundleRequest {
    pub hive: String,
    pub hive_version: String,
    pub target: String,
    pub hardware_id: String,
    pub version: u64,
    pub expires: String,
    pub components: Vec<ComponentFile>,
    /// Newer trust roots for devices to walk, in version order.
    pub roots: Vec<Envelope>,
    /// The release devices run now, for a delta bundle (empty: a full bundle). Components
    /// with the same name are patched against it, or left out when they did not change.
    pub base: Vec<ComponentFile>,
    /// The bundle version of that release (required with `base`, unless `only`).
    pub from_version: Option<u64>,
    /// A single-component bundle: only this component, carried whole (or patched against
    /// `base`); a device keeps all its others.
    pub only: Option<String>,
}

/// Write a full bundle to `out`; returns its signed metadata.
#[expect(
    clippy::too_many_lines,
    reason = "the bundle's stream, written in the order of its format"
)]
pub fn write_bundle(
    request: &BundleRequest,
    signers: &[&dyn Signer],
    out: &Path,
) -> Result<BundleSigned, UpdateError> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut components = request.components.clone();
    if let Some(only) = &request.only {
        components.retain(|c| c.name == *only);
        if components.is_empty() {
            return Err(UpdateError::Metadata(format!(
                "the release has no component `{only}`"
            )));
        }
    }
    components.sort_by(|a, b| a.name.cmp(&b.name));
    let mut listed = Vec::new();
    let mut targets = std::collections::BTreeMap::new();
    let mut payloads = Vec::new();
    for component in &components {
        let (length, sha256) = hash_file(&component.path)?;
        let base = request.base.iter().find(|b| b.name == component.name);
        let base = match base {
            Some(base) => {
                let bytes = std::fs::read(&base.path)?;
                let base_sha256 = hex(&Sha256::digest(&bytes));
                if base_sha256 == sha256 {
                    listed.push(describe(
                        component,
                        length,
                        sha256,
                        Carried::Unchanged,
                        None,
                    ));
                    continue;
                }
                (bytes.len() as u64 <= MAX_DELTA_BASE && length <= MAX_DELTA_BASE)
                    .then_some((bytes, base_sha256))
            }
            None => None,
        };
        let mut compressed = tempfile::tempfile_in(dir)?;
        match &base {
            Some((base, _)) => {
                let new = std::fs::read(&component.path)?;
                compressed.write_all(&crate::delta::make(base, &new))?;
            }
            None => compress(&component.path, length, &mut compressed)?,
        }
        compressed.seek(SeekFrom::Start(0))?;
        let (stored, stored_sha256) = hash_reader(&mut compressed)?;
        compressed.seek(SeekFrom::Start(0))?;
        let (carried, base_sha256) = match base {
            Some((_, base_sha256)) => (Carried::Delta, Some(base_sha256)),
            None => (Carried::Full, None),
        };
        let member = metadata::payload_member(&component.name, carried);
        targets.insert(
            member.clone(),
            TargetFile {
                length: stored,
                hashes: [("sha256".to_owned(), stored_sha256)].into(),
                custom: None,
            },
        );
        let mut described = describe(component, length, sha256, carried, base_sha256);
        described.payload = Some(member.clone());
        listed.push(described);
        payloads.push((member, stored, compressed));
    }
    let kind = if request.only.is_some() {
        BundleKind::Component
    } else if request.base.is_empty() {
        BundleKind::Full
    } else {
        BundleKind::Delta
    };
    let signed = BundleSigned {
        kind: "targets".into(),
        spec_version: hive_sign::metadata::SPEC_VERSION.into(),
        version: request.version,
        expires: request.expires.clone(),
        targets,
        custom: BundleInfo {
            hive_bundle: BUNDLE_FORMAT,
            hive: request.hive.clone(),
            hive_version: request.hive_version.clone(),
            target: request.target.clone(),
            hardware_id: request.hardware_id.clone(),
            kind,
            from_version: request.from_version.filter(|_| kind == BundleKind::Delta),
            components: listed,
            roots: request.roots.clone(),
        },
    };
    let envelope = Envelope::new_signed(&signed, signers)?;
    let bytes = metadata::to_bytes(&envelope);
    // What a device will read must parse here too.
    metadata::parse(&bytes)?;

    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut writer = Writer::new(BufWriter::new(tmp.as_file_mut()));
        writer.member(METADATA_MEMBER, bytes.len() as u64, |w| {
            w.write_all(&bytes)?;
            Ok(bytes.len() as u64)
        })?;
        for (member, stored, mut file) in payloads {
            writer.member(&member, stored, |w| io::copy(&mut file, w))?;
        }
        writer.finish()?.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(out).map_err(|e| UpdateError::Io(e.error))?;
    Ok(signed)
}

/// A component's entry in the metadata (without its payload).
fn describe(
    component: &ComponentFile,
    length: u64,
    sha256: String,
    carried: Carried,
    base_sha256: Option<String>,
) -> Component {
    Component {
        name: component.name.clone(),
        origin: component.origin.clone(),
        release: component.release,
        length,
        sha256,
        carried,
        payload: None,
        base_sha256,
    }
}

/// The file at `path` (`length` bytes) as one zstd frame into `out` (the level's own window,
/// well within what devices accept).
fn compress(path: &Path, length: u64, out: &mut File) -> Result<(), UpdateError> {
    let mut input = BufReader::new(File::open(path)?);
    let mut encoder = zstd::stream::write::Encoder::new(BufWriter::new(out), LEVEL)?;
    encoder.include_checksum(false)?;
    encoder.include_contentsize(true)?;
    encoder.set_pledged_src_size(Some(length))?;
    io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.flush()?;
    Ok(())
}

fn hash_file(path: &Path) -> Result<(u64, String), UpdateError> {
    hash_reader(&mut File::open(path)?)
}

fn hash_reader(input: &mut impl Read) -> Result<(u64, String), UpdateError> {
    Ok(hash_copy(input, &mut io::sink())?)
}
