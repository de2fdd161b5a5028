//! The raw layer: exactly what a manifest or target file may say, as serde types.
//!
//! Every table rejects unknown keys. Values that later checks talk about are `Spanned`, so a
//! diagnostic can underline them. No `flatten`, no `untagged`: they ruin serde's messages.
//! Each section is deserialized on its own (see `section`), so that one bad section does not
//! hide the problems of the next.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IntoDeserializer as _};
use serde_spanned::Spanned;
use toml_edit::{Item, Value};

use crate::diagnostic::{Diagnostic, Diagnostics};

pub(crate) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Hive {
    pub name: S<String>,
    pub version: S<String>,
    pub targets: S<Vec<S<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Kernel {
    pub config: Option<S<String>>,
    #[serde(default)]
    pub overrides: BTreeMap<String, S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Platform {
    pub kernel: S<String>,
    pub skill_base: S<String>,
    pub skill_runtime: Option<S<String>>,
    pub packer: S<String>,
    pub microkit: Option<Microkit>,
    pub unikraft: Option<Unikraft>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Unikraft {
    pub core: S<String>,
    pub runtime: S<String>,
    #[serde(default)]
    pub libraries: BTreeMap<String, UnikraftLibrary>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct UnikraftLibrary {
    pub source: S<String>,
    pub origin: Option<S<String>>,
    pub archive: Option<String>,
    pub unpack: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Microkit {
    pub sel4: S<String>,
    #[serde(rename = "microkit")]
    pub sdk: S<String>,
    pub rust_sel4: S<String>,
    pub pd_base: S<String>,
    pub police: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Brain {
    pub path: S<String>,
    pub memory: Option<S<String>>,
    pub priority: Option<S<u32>>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub caps: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Skill {
    pub template: Option<S<String>>,
    pub path: Option<S<String>>,
    pub memory: Option<S<String>>,
    #[serde(default)]
    pub caps: Vec<S<String>>,
    pub restart: Option<S<String>>,
    pub restart_limit: Option<S<u32>>,
    #[serde(default)]
    pub lazy: bool,
    pub boot_budget: Option<S<String>>,
    pub priority: Option<S<u32>>,
    pub interface: Option<Interface>,
    #[serde(default)]
    pub peers: Vec<S<String>>,
}

/// `[peers.NAME]`: another hive, by its ed25519 public key and where it listens.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Peer {
    pub key: S<String>,
    pub address: Option<S<String>>,
}

/// `[skills.NAME.interface]`: what the Brain's planner knows of a skill.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Interface {
    pub description: S<String>,
    #[serde(default)]
    pub request: BTreeMap<String, S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Update {
    pub channel: S<String>,
    pub trust_root: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Source {
    pub git: Option<S<String>>,
    pub rev: Option<S<String>>,
    pub url: Option<S<String>>,
    pub sha256: Option<S<String>>,
    pub path: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct TargetSection {
    pub name: S<String>,
    pub arch: S<String>,
    pub board: S<String>,
    pub system: Option<S<String>>,
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RustSection {
    pub triple: S<String>,
    #[serde(default)]
    pub build_std: Vec<String>,
    pub crate_type: S<String>,
    pub cpu: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct CSection {
    pub cross_prefix: String,
    #[serde(default)]
    pub packages: Vec<String>,
}

/// Deserialize one section (`[brain]`, `[skills.net]`, ...) on its own, turning serde's error
/// into a diagnostic that points at the offending key or value.
pub(crate) fn section<T: DeserializeOwned>(
    item: &Item,
    what: &str,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    let value = match item {
        Item::Table(table) => Value::InlineTable(table.clone().into_inline_table()),
        Item::Value(value @ Value::InlineTable(_)) => value.clone(),
        _ => {
            diagnostics.push(
                Diagnostic::new(
                    format!("`{what}` must be a table"),
                    item.span().unwrap_or(0..0),
                )
                .label("expected a table")
                .help(format!("write it as a `[{what}]` section")),
            );
            return None;
        }
    };
    let span = item.span().unwrap_or(0..0);
    match T::deserialize(value.into_deserializer()) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            diagnostics.push(serde_diagnostic(
                error.message(),
                error.span().unwrap_or(span),
                what,
            ));
            None
        }
    }
}

fn serde_diagnostic(message: &str, span: std::ops::Range<usize>, what: &str) -> Diagnostic {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let expected = expected.trim_start_matches("one of ");
        return Diagnostic::new(format!("unknown key {key} in `[{what}]`"), span)
            .label("unknown key")
            .help(format!("the keys allowed here are {expected}"));
    }
    if let Some(key) = message.strip_prefix("missing field ") {
        return Diagnostic::new(format!("missing key {key} in `[{what}]`"), span)
            .label(format!("this table needs {key}"))
            .help(format!(
                "add {key} = ... to `[{what}]` (see docs/manifest.md)"
            ));
    }
    Diagnostic::new(format!("in `[{what}]`: {message}"), span).label("here")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ImageSection {
    pub table: S<String>,
    pub size: S<String>,
    pub hardware_id: S<String>,
    #[serde(default)]
    pub partitions: Vec<PartitionSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct PartitionSection {
    pub name: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub size: S<String>,
    #[serde(default)]
    pub bootable: bool,
    pub label: Option<S<String>>,
    #[serde(default)]
    pub files: Vec<FileSection>,
    pub content: Option<FileSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct FileSection {
    pub path: Option<S<String>>,
    pub step: Option<S<String>>,
    pub asset: Option<S<String>>,
    pub template: Option<S<String>>,
    pub file: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct AssetSection {
    pub package: S<String>,
    pub version: S<String>,
    pub arch: S<String>,
    pub sha256: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct QemuSection {
    pub binary: S<String>,
    pub machine: S<String>,
    pub cpu: Option<String>,
    pub memory: S<String>,
    #[serde(default)]
    pub console: u8,
    pub accel: Option<S<String>>,
    #[serde(default)]
    pub args: Vec<String>,
    pub powers_off: bool,
    #[serde(default)]
    pub image_kernel: Option<String>,
    #[serde(default)]
    pub image_dtb: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct TestsSection {
    pub smoke: Option<SmokeSection>,
    pub faults: Option<FaultsSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct FaultsSection {
    pub skills: Vec<S<String>>,
    pub command: S<String>,
    pub ready: S<String>,
    pub fault: S<String>,
    pub stopped: S<String>,
    pub heartbeat: S<String>,
    pub restart_within: S<String>,
    pub max_gap: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SmokeSection {
    #[serde(default)]
    pub kernel: Vec<MarkerSection>,
    #[serde(default)]
    pub skills: Vec<MarkerSection>,
    #[serde(default)]
    pub fail: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct MarkerSection {
    pub expect: S<String>,
    pub within: S<String>,
}
