//! The hive as the Brain sees it: its skills, what each does and takes, and the Brain's own
//! capabilities. The police writes it (from the manifest) for the hosted Brain it starts; the
//! Brain reads it. One definition for both sides, as JSON (`serde`), behind the `card`
//! feature so the protection domain's build does not carry it.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// The version of this format; a reader refuses another.
pub const CARD_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Card {
    pub version: u32,
    pub hive: String,
    /// The Brain's capabilities, as the manifest spells them (`channel:pdf`, ...).
    pub caps: Vec<String>,
    pub skills: Vec<SkillCard>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SkillCard {
    pub name: String,
    /// One line: what the skill does (the router compares requests with it).
    pub description: String,
    /// The request's arguments, in order.
    pub request: Vec<Argument>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Argument {
    pub name: String,
    pub kind: Kind,
}

/// What an argument holds (the manifest's `text`, `integer`, `file`, `one-of:a|b`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Text,
    Integer,
    /// A path in the Brain's `files` store; the job carries the file's bytes.
    File,
    OneOf(Vec<String>),
}

impl Card {
    /// Whether the Brain holds `capability` (exactly as spelt).
    pub fn holds(&self, capability: &str) -> bool {
        self.caps.iter().any(|c| c == capability)
    }

    pub fn skill(&self, name: &str) -> Option<&SkillCard> {
        self.skills.iter().find(|s| s.name == name)
    }
}
