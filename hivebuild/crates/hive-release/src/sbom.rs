//! A software bill of materials in CycloneDX 1.5 JSON: the hive, every built component
//! with the hash of its output, every source with its pin, and every crate from the Brain's
//! `Cargo.lock`. Deterministic: no timestamps, a serial number derived from the content.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// One entry of the bill.
#[derive(Clone, Debug)]
pub struct Component {
    /// CycloneDX type: `application`, `firmware`, `library`, `data`, `file`.
    pub kind: String,
    pub name: String,
    pub version: Option<String>,
    /// A package URL, for crates (`pkg:cargo/NAME@VERSION`) and Debian packages.
    pub purl: Option<String>,
    /// sha256 (hex) of the output or pinned content, if known.
    pub sha256: Option<String>,
    /// Where it came from, in words (`step:kernel`, `path:components/brain`, `git:URL@COMMIT`).
    pub origin: String,
}

pub fn sbom(hive: &str, version: &str, target: &str, components: &[Component]) -> Value {
    let entries: Vec<Value> = components
        .iter()
        .map(|c| {
            let mut entry = json!({
                "type": c.kind,
                "name": c.name,
                "bom-ref": format!("{}:{}", c.kind, c.name),
                "properties": [{"name": "hivebuild:origin", "value": c.origin}],
            });
            if let Some(version) = &c.version {
                entry["version"] = json!(version);
            }
            if let Some(purl) = &c.purl {
                entry["purl"] = json!(purl);
            }
            if let Some(sha256) = &c.sha256 {
                entry["hashes"] = json!([{"alg": "SHA-256", "content": sha256}]);
            }
            entry
        })
        .collect();
    let mut document = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "hivebuild", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {"type": "operating-system", "name": hive, "version": version, "bom-ref": format!("hive:{hive}"),
                          "properties": [{"name": "hivebuild:target", "value": target}]},
        },
        "components": entries,
    });
    let digest: [u8; 32] = Sha256::digest(document.to_string().as_bytes()).into();
    let mut id = [0_u8; 16];
    id.copy_from_slice(&digest[..16]);
    id[6] = (id[6] & 0x0f) | 0x80;
    id[8] = (id[8] & 0x3f) | 0x80;
    let hex = crate::hex(&id);
    document["serialNumber"] = json!(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ));
    document
}
