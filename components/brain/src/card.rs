//! The hive as the Brain sees it: its skills, what each does and takes, and the Brain's own
//! capabilities. The police writes it (from the manifest) for the hosted Brain it starts; the
//! Brain reads it. One definition for both sides, as JSON (`serde`), behind the `card`
//! feature so the protection domain's build does not carry it.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// The version of this format; a reader refuses another. 2: `peers`, the `peer` kind.
pub const CARD_VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Card {
    pub version: u32,
    pub hive: String,
    /// The Brain's capabilities, as the manifest spells them (`channel:pdf`, ...).
    pub caps: Vec<String>,
    pub skills: Vec<SkillCard>,
    /// Other hives (`[peers]`): whose signed messages a skill hands on, and where to send.
    #[serde(default)]
    pub peers: Vec<PeerCard>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PeerCard {
    pub name: String,
    /// Its ed25519 public key, 64 hex digits.
    pub key: String,
    /// Where it listens as the sending skill reaches it (`IPv4:port`), if it can be sent to.
    pub address: Option<String>,
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
    /// One of `peers` with an address: the Brain signs the request's message and the job
    /// carries it there.
    Peer,
}

impl Card {
    /// Whether the Brain holds `capability` (exactly as spelt).
    pub fn holds(&self, capability: &str) -> bool {
        self.caps.iter().any(|c| c == capability)
    }

    /// The peer whose key is `key` (64 hex digits or its 32 bytes).
    pub fn peer_by_key(&self, key: &[u8; 32]) -> Option<&PeerCard> {
        self.peers.iter().find(|p| decode_key(&p.key) == Some(*key))
    }

    pub fn skill(&self, name: &str) -> Option<&SkillCard> {
        self.skills.iter().find(|s| s.name == name)
    }
}

/// A key's 64 hex digits as its bytes.
pub fn decode_key(hex: &str) -> Option<[u8; 32]> {
    let mut bytes = [0_u8; 32];
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}
