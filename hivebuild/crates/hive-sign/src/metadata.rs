//! TUF 1.0 metadata: root and targets, signed envelopes, thresholds, expiry and root
//! rotation.
//!
//! Files are read as JSON values first: signatures are checked over the canonical bytes of
//! the `signed` object as written, unknown fields included, and only then is it read into
//! these types (which ignore fields they do not know, as the specification asks).

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::canonical::to_canonical;
use crate::keys::{PublicKey, SignError, Signer, TufKey};

/// The TUF specification version hivebuild writes.
pub const SPEC_VERSION: &str = "1.0.31";
pub const ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
}

/// A signed envelope as it is on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub signatures: Vec<Signature>,
    pub signed: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub keyids: Vec<String>,
    pub threshold: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub consistent_snapshot: bool,
    pub version: u64,
    pub expires: String,
    pub keys: BTreeMap<String, TufKey>,
    pub roles: BTreeMap<String, Role>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub targets: BTreeMap<String, TargetFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("metadata is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    #[error("expected `{expected}` metadata, found `{found}`")]
    WrongType { expected: String, found: String },
    #[error("the root metadata has no `{0}` role")]
    NoRole(String),
    #[error("role `{role}` needs {threshold} signature(s) by distinct keys, found {valid}{}", detail(*.duplicates, *.invalid))]
    Threshold {
        role: String,
        threshold: u32,
        valid: u32,
        duplicates: u32,
        invalid: u32,
    },
    #[error("`{kind}` metadata expired at {expires}")]
    Expired { kind: String, expires: String },
    #[error("bad expiry `{0}`: expected a UTC time like 2030-01-01T00:00:00Z")]
    BadTime(String),
    #[error("new root is version {found}; the next after the trusted version {trusted} is {}", trusted + 1)]
    RootVersion { trusted: u64, found: u64 },
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

fn detail(duplicates: u32, invalid: u32) -> String {
    let mut parts = Vec::new();
    if duplicates > 0 {
        parts.push(format!("{duplicates} more by a key that already signed"));
    }
    if invalid > 0 {
        parts.push(format!("{invalid} not valid for this role"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

impl Envelope {
    /// Read an envelope. Canonical JSON (what signatures are over) has integers only, so a
    /// document holding any other number (`1.5`, `1e3`, an integer past 64 bits) is refused
    /// here, with its place, rather than at signing or checking time.
    pub fn parse(bytes: &[u8]) -> Result<Self, VerifyError> {
        let document: Value =
            serde_json::from_slice(bytes).map_err(|e| VerifyError::Malformed(e.to_string()))?;
        if let Some((place, number)) = non_integer(&document, &mut String::new()) {
            return Err(VerifyError::Malformed(format!(
                "`{place}` is the number {number}: canonical JSON has integers only"
            )));
        }
        serde_json::from_value(document).map_err(|e| VerifyError::Malformed(e.to_string()))
    }

    /// The `signed` object read as `T`, after checking its `_type`.
    pub fn signed_as<T: DeserializeOwned>(&self, kind: &str) -> Result<T, VerifyError> {
        let found = self
            .signed
            .get("_type")
            .and_then(Value::as_str)
            .unwrap_or("nothing");
        if found != kind {
            return Err(VerifyError::WrongType {
                expected: kind.into(),
                found: found.into(),
            });
        }
        serde_json::from_value(self.signed.clone())
            .map_err(|e| VerifyError::Malformed(e.to_string()))
    }

    /// The bytes every signature is over.
    pub fn signed_bytes(&self) -> Vec<u8> {
        to_canonical(&self.signed)
    }

    /// Add one signature per signer (replacing an older signature by the same key).
    pub fn sign(&mut self, signers: &[&dyn Signer]) -> Result<(), SignError> {
        let bytes = self.signed_bytes();
        for signer in signers {
            let keyid = signer.public().keyid();
            let sig = hex::encode(signer.sign(&bytes)?);
            self.signatures.retain(|s| s.keyid != keyid);
            self.signatures.push(Signature { keyid, sig });
        }
        Ok(())
    }

    /// A new envelope around `signed`, signed by `signers`.
    pub fn new_signed(signed: &impl Serialize, signers: &[&dyn Signer]) -> Result<Self, SignError> {
        let mut envelope = Self {
            signatures: Vec::new(),
            signed: serde_json::to_value(signed).expect("metadata serialises"),
        };
        envelope.sign(signers)?;
        Ok(envelope)
    }

    /// Pretty JSON for files (signatures are over the canonical form, not these bytes).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("metadata serialises") + "\n"
    }

    /// Check that `role` of `root` has signed this envelope with at least its threshold of
    /// distinct keys.
    pub fn verify_role(&self, root: &Root, role: &str) -> Result<(), VerifyError> {
        let definition = root
            .roles
            .get(role)
            .ok_or_else(|| VerifyError::NoRole(role.into()))?;
        let bytes = self.signed_bytes();
        let mut signed_by: BTreeSet<[u8; 32]> = BTreeSet::new();
        let (mut duplicates, mut invalid) = (0, 0);
        for signature in &self.signatures {
            let key = definition
                .keyids
                .contains(&signature.keyid)
                .then(|| root.keys.get(&signature.keyid))
                .flatten()
                .and_then(|key| PublicKey::from_tuf(key).ok());
            let valid = key.filter(|key| {
                hex::decode(&signature.sig).is_ok_and(|sig| key.verify(&bytes, &sig))
            });
            match valid {
                Some(key) if !signed_by.insert(key.bytes()) => duplicates += 1,
                Some(_) => {}
                None => invalid += 1,
            }
        }
        let valid = u32::try_from(signed_by.len()).unwrap_or(u32::MAX);
        if valid < definition.threshold.max(1) {
            return Err(VerifyError::Threshold {
                role: role.into(),
                threshold: definition.threshold,
                valid,
                duplicates,
                invalid,
            });
        }
        Ok(())
    }
}

/// The first number in `value` that is not a 64-bit integer, with its place (`signed.a[2]`).
fn non_integer(value: &Value, place: &mut String) -> Option<(String, serde_json::Number)> {
    let within = |place: &mut String, step: std::fmt::Arguments, inner: &Value| {
        let length = place.len();
        std::fmt::Write::write_fmt(place, step).expect("writing to a String");
        let found = non_integer(inner, place);
        place.truncate(length);
        found
    };
    match value {
        Value::Number(n) if n.is_f64() => Some((place.clone(), n.clone())),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| within(place, format_args!("[{i}]"), item)),
        Value::Object(members) => members.iter().find_map(|(key, member)| {
            let dot = if place.is_empty() { "" } else { "." };
            within(place, format_args!("{dot}{key}"), member)
        }),
        _ => None,
    }
}

/// Fails if `expires` is not after `now`.
pub fn check_expiry(kind: &str, expires: &str, now: OffsetDateTime) -> Result<(), VerifyError> {
    let at = OffsetDateTime::parse(expires, &Rfc3339)
        .map_err(|_| VerifyError::BadTime(expires.into()))?;
    if at <= now {
        return Err(VerifyError::Expired {
            kind: kind.into(),
            expires: expires.into(),
        });
    }
    Ok(())
}

/// `now + seconds` as TUF writes times: UTC, whole seconds, `Z`.
pub fn expiry_after(now: OffsetDateTime, seconds: u64) -> String {
    let at = now + time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 2));
    at.replace_nanosecond(0)
        .expect("0 ns is valid")
        .format(&Rfc3339)
        .expect("UTC times format")
}

impl Root {
    /// A root whose four roles all use `keys` with `threshold`.
    pub fn new(keys: &[PublicKey], threshold: u32, expires: String, version: u64) -> Self {
        let keyids: Vec<String> = keys.iter().map(PublicKey::keyid).collect();
        Self {
            kind: "root".into(),
            spec_version: SPEC_VERSION.into(),
            consistent_snapshot: true,
            version,
            expires,
            keys: keys.iter().map(|k| (k.keyid(), k.to_tuf())).collect(),
            roles: ROLES
                .iter()
                .map(|r| {
                    (
                        (*r).to_owned(),
                        Role {
                            keyids: keyids.clone(),
                            threshold,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Read a root that verifies against itself and has not expired.
    pub fn trusted(envelope: &Envelope, now: OffsetDateTime) -> Result<Self, VerifyError> {
        let root = Self::self_signed(envelope)?;
        check_expiry("root", &root.expires, now)?;
        Ok(root)
    }

    /// Read a root that verifies against itself, expired or not: the start of a rotation
    /// chain, whose last root alone must be unexpired (TUF 1.0, 5.3).
    pub fn self_signed(envelope: &Envelope) -> Result<Self, VerifyError> {
        let root: Root = envelope.signed_as("root")?;
        envelope.verify_role(&root, "root")?;
        Ok(root)
    }

    /// Move from this trusted root to `next`: it must be the next version and be signed by
    /// the threshold of this root's root role and of its own. Expiry is the caller's to check,
    /// on the last root of the chain.
    pub fn update(&self, next: &Envelope) -> Result<Self, VerifyError> {
        let root: Root = next.signed_as("root")?;
        if root.version != self.version + 1 {
            return Err(VerifyError::RootVersion {
                trusted: self.version,
                found: root.version,
            });
        }
        next.verify_role(self, "root")?;
        next.verify_role(&root, "root")?;
        Ok(root)
    }
}

#[cfg(test)]
mod tests;
