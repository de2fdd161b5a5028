//! Making a bundle (hivebuild's side): compress each carried component to a temporary file,
//! sign the metadata over their hashes, then write the stream to a temporary file and
//! rename it into place, so a bundle is either whole or absent.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hive_sign::{Envelope, Signer, TargetFile};
use sha2::{Digest as _, Sha256};

use crate::format::Writer;
use crate::metadata::{
    self, BUNDLE_FORMAT, BundleInfo, BundleKind, BundleSigned, Carried, Component, METADATA_MEMBER,
};
use crate::{UpdateError, device::hex};

/// zstd level of full payloads.
pub const LEVEL: i32 = 19;

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
}

/// Write a full bundle to `out`; returns its signed metadata.
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
    components.sort_by(|a, b| a.name.cmp(&b.name));
    let mut listed = Vec::new();
    let mut targets = std::collections::BTreeMap::new();
    let mut payloads = Vec::new();
    for component in &components {
        let (length, sha256) = hash_file(&component.path)?;
        let member = metadata::payload_member(&component.name);
        let mut compressed = tempfile::tempfile_in(dir)?;
        {
            let input = BufReader::new(File::open(&component.path)?);
            let mut encoder =
                zstd::stream::write::Encoder::new(BufWriter::new(&mut compressed), LEVEL)?;
            encoder.include_checksum(false)?;
            encoder.include_contentsize(true)?;
            encoder.set_pledged_src_size(Some(length))?;
            let mut input = input;
            io::copy(&mut input, &mut encoder)?;
            encoder.finish()?.flush()?;
        }
        compressed.seek(SeekFrom::Start(0))?;
        let (stored, stored_sha256) = hash_reader(&mut compressed)?;
        compressed.seek(SeekFrom::Start(0))?;
        targets.insert(
            member.clone(),
            TargetFile {
                length: stored,
                hashes: [("sha256".to_owned(), stored_sha256)].into(),
                custom: None,
            },
        );
        listed.push(Component {
            name: component.name.clone(),
            origin: component.origin.clone(),
            release: component.release,
            length,
            sha256,
            carried: Carried::Full,
            payload: Some(member.clone()),
            base_sha256: None,
        });
        payloads.push((member, stored, compressed));
    }
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
            kind: BundleKind::Full,
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

fn hash_file(path: &Path) -> Result<(u64, String), UpdateError> {
    hash_reader(&mut File::open(path)?)
}

fn hash_reader(input: &mut impl Read) -> Result<(u64, String), UpdateError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((total, hex(&hasher.finalize())))
}
