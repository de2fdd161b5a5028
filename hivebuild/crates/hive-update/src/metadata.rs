//! The bundle's signed metadata: TUF targets metadata whose `targets` are the payload members
//! (length and sha256 of the bytes as stored) and whose `custom` object carries the bundle's
//! own fields. Serialised as canonical JSON, the only form a device accepts.

use std::collections::BTreeMap;

use hive_sign::{Envelope, TargetFile};
use serde::{Deserialize, Serialize};

use crate::UpdateError;

/// Version of the bundle format (`custom.hive-bundle`).
pub const BUNDLE_FORMAT: u32 = 2;
/// The first member.
pub const METADATA_MEMBER: &str = "metadata.json";
/// The most metadata a device reads.
pub const MAX_METADATA: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSigned {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    /// The bundle version: a device takes only versions above the one it runs.
    pub version: u64,
    pub expires: String,
    /// Payload member → length and sha256 of its stored (compressed) bytes.
    pub targets: BTreeMap<String, TargetFile>,
    pub custom: BundleInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BundleInfo {
    /// [`BUNDLE_FORMAT`].
    pub hive_bundle: u32,
    pub hive: String,
    pub hive_version: String,
    pub target: String,
    pub hardware_id: String,
    pub kind: BundleKind,
    /// For a delta: the bundle version of the release it patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<u64>,
    /// Every component of the result, in name order.
    pub components: Vec<Component>,
    /// Newer trust roots, in version order: a device walks them before it checks the
    /// bundle's signatures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<Envelope>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleKind {
    /// Every component carried whole: installs on an empty device.
    Full,
    /// Changed components as patches against the version a device runs.
    Delta,
    /// One component only; the others stay as they are.
    Component,
}

impl BundleKind {
    /// Its name in the metadata (and in repository file names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Delta => "delta",
            Self::Component => "component",
        }
    }

    /// Its name for people: what `bundle` and `bundle inspect` print.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Component => "single-component",
            other => other.as_str(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Component {
    /// Its file name in a slot (ASCII letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// Where it comes from in the release (`step:system/loader.img`, `asset:...`).
    pub origin: String,
    /// Never goes down on a device.
    pub release: u64,
    /// The result's length and sha256.
    pub length: u64,
    pub sha256: String,
    pub carried: Carried,
    /// The payload member, when carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// For a delta: the sha256 of the component it patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sha256: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Carried {
    Full,
    Delta,
    Unchanged,
}

impl Carried {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Delta => "delta",
            Self::Unchanged => "unchanged",
        }
    }
}

/// The first member of a bundle: its signed metadata, canonical and of the bundle's shape
/// (signatures are the caller's to check).
pub fn read<R: std::io::Read>(
    reader: &mut crate::format::Reader<R>,
) -> Result<(Envelope, BundleSigned), UpdateError> {
    let first = reader.next_member()?.ok_or(UpdateError::Empty)?;
    if first.name != METADATA_MEMBER {
        return Err(UpdateError::UnexpectedMember {
            expected: METADATA_MEMBER.into(),
            found: first.name,
        });
    }
    if first.size > MAX_METADATA {
        return Err(UpdateError::Metadata(format!(
            "{} bytes of metadata; at most {MAX_METADATA}",
            first.size
        )));
    }
    let mut bytes = Vec::new();
    let read = std::io::Read::read_to_end(&mut reader.data(first.size), &mut bytes);
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(UpdateError::Truncated {
                offset: reader.offset(),
            });
        }
        other => other?,
    };
    reader.end_member(first.size)?;
    parse(&bytes)
}

/// The next member, which must be `payload` of the length the metadata declares.
pub fn next_payload<R: std::io::Read>(
    reader: &mut crate::format::Reader<R>,
    signed: &BundleSigned,
    payload: &str,
) -> Result<crate::format::Member, UpdateError> {
    let member = reader
        .next_member()?
        .ok_or_else(|| UpdateError::MissingMember(payload.into()))?;
    if member.name != payload {
        return Err(UpdateError::UnexpectedMember {
            expected: payload.into(),
            found: member.name,
        });
    }
    let declared = signed.targets[payload].length;
    if member.size != declared {
        return Err(UpdateError::Length {
            what: payload.into(),
            declared,
            found: member.size,
        });
    }
    Ok(member)
}

/// After the last payload: the end of the bundle, and nothing else.
pub fn expect_end<R: std::io::Read>(
    reader: &mut crate::format::Reader<R>,
) -> Result<(), UpdateError> {
    match reader.next_member()? {
        None => Ok(()),
        Some(extra) => Err(UpdateError::UnexpectedMember {
            expected: "the end of the bundle".into(),
            found: extra.name,
        }),
    }
}

/// The payload member of component `name`: a zstd frame when carried whole, a
/// [`crate::delta`] when carried as a delta.
pub fn payload_member(name: &str, carried: Carried) -> String {
    match carried {
        Carried::Delta => format!("payloads/{name}.delta"),
        _ => format!("payloads/{name}.zst"),
    }
}

/// The metadata's bytes on the wire: the envelope as canonical JSON.
pub fn to_bytes(envelope: &Envelope) -> Vec<u8> {
    hive_sign::canonical::to_canonical(envelope)
}

/// Parse metadata bytes, requiring the canonical form and the bundle's shape (signatures
/// are checked by the caller, against the device's trust).
pub fn parse(bytes: &[u8]) -> Result<(Envelope, BundleSigned), UpdateError> {
    let envelope = Envelope::parse(bytes).map_err(|e| UpdateError::Metadata(e.to_string()))?;
    if to_bytes(&envelope) != bytes {
        return Err(UpdateError::NonCanonical {
            offset: 0,
            what: "the metadata is not in canonical JSON".into(),
        });
    }
    // Hex is read either case; only the lower case is written.
    for signature in &envelope.signatures {
        if !is_lower_hex(&signature.sig, 128) || !is_lower_hex(&signature.keyid, 64) {
            return Err(UpdateError::NonCanonical {
                offset: 0,
                what: "signatures and key ids are lower-case hex".into(),
            });
        }
    }
    let signed: BundleSigned = envelope
        .signed_as("targets")
        .map_err(|e| UpdateError::Metadata(e.to_string()))?;
    check_shape(&signed)?;
    Ok((envelope, signed))
}

/// What must hold of any bundle's metadata, signed or not.
fn check_shape(signed: &BundleSigned) -> Result<(), UpdateError> {
    let bad = |message: String| Err(UpdateError::Metadata(message));
    let info = &signed.custom;
    if info.hive_bundle != BUNDLE_FORMAT {
        return bad(format!(
            "bundle format {} (this reader reads format {BUNDLE_FORMAT})",
            info.hive_bundle
        ));
    }
    let mut names: Vec<&str> = info.components.iter().map(|c| c.name.as_str()).collect();
    let sorted = {
        let mut copy = names.clone();
        copy.sort_unstable();
        copy.dedup();
        copy
    };
    if names != sorted {
        return bad("components are not in name order, or one is listed twice".into());
    }
    let mut payloads = Vec::new();
    for component in &info.components {
        crate::format::check_name(&component.name)?;
        if component.name.contains('/') {
            return bad(format!("component `{}`: a name has no `/`", component.name));
        }
        if !is_sha256(&component.sha256) {
            return bad(format!("component `{}`: bad sha256", component.name));
        }
        match (
            component.carried,
            &component.payload,
            &component.base_sha256,
        ) {
            (Carried::Unchanged, None, None) => {}
            (Carried::Full, Some(payload), None) => payloads.push(payload.as_str()),
            (Carried::Delta, Some(payload), Some(base)) if is_sha256(base) => {
                payloads.push(payload.as_str());
            }
            _ => {
                return bad(format!(
                    "component `{}`: `{}` with the wrong payload or base fields",
                    component.name,
                    component.carried.as_str()
                ));
            }
        }
        let member = payload_member(&component.name, component.carried);
        if let Some(payload) = &component.payload
            && *payload != member
        {
            return bad(format!(
                "component `{}`: its payload is `{member}`",
                component.name
            ));
        }
    }
    names.clear();
    let listed: Vec<&str> = signed.targets.keys().map(String::as_str).collect();
    let mut expected = payloads.clone();
    expected.sort_unstable();
    if listed != expected {
        return bad("the signed targets are not exactly the carried payloads".into());
    }
    for (name, file) in &signed.targets {
        if file.hashes.len() != 1 || !file.hashes.get("sha256").is_some_and(|h| is_sha256(h)) {
            return bad(format!("target `{name}`: one sha256 hash, nothing else"));
        }
    }
    if info.kind == BundleKind::Full && info.components.iter().any(|c| c.carried != Carried::Full) {
        return bad("a full bundle carries every component whole".into());
    }
    if info.kind == BundleKind::Component
        && (info.components.len() != 1 || info.components[0].carried == Carried::Unchanged)
    {
        return bad("a single-component bundle carries exactly one component".into());
    }
    if (info.kind == BundleKind::Delta) != info.from_version.is_some() {
        return bad("a delta names the version it starts from, and only a delta does".into());
    }
    Ok(())
}

fn is_sha256(text: &str) -> bool {
    is_lower_hex(text, 64)
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
