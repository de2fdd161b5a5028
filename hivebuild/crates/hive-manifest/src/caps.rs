//! The capability grammar: what a component may touch.
//!
//! ```text
//! channel:PEER            a two-way channel to `brain` or a skill (both ends must declare it)
//! net:udp:PORT | net:tcp:PORT
//! store:NAME:ro | store:NAME:rw
//! device:NAME
//! ```

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    Channel { peer: String },
    Net { protocol: Protocol, port: u16 },
    Store { name: String, access: Access },
    Device { name: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Udp,
    Tcp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// Why a capability string does not parse, with a hint.
#[derive(Debug, PartialEq, Eq)]
pub struct CapabilityError {
    pub message: String,
    pub help: String,
}

pub const KINDS: &str =
    "`channel:PEER`, `net:udp:PORT`, `net:tcp:PORT`, `store:NAME:ro|rw`, `device:NAME`";

impl Capability {
    pub fn parse(text: &str) -> Result<Self, CapabilityError> {
        let parts: Vec<&str> = text.split(':').collect();
        let error = |message: String| CapabilityError {
            message,
            help: format!("capabilities are written {KINDS}"),
        };
        match parts.as_slice() {
            ["channel", peer] if crate::is_identifier(peer) => Ok(Self::Channel {
                peer: (*peer).to_owned(),
            }),
            ["net", protocol, port] => {
                let protocol = match *protocol {
                    "udp" => Protocol::Udp,
                    "tcp" => Protocol::Tcp,
                    other => return Err(error(format!("unknown network protocol `{other}`"))),
                };
                match port.parse::<u16>() {
                    Ok(port) if port > 0 => Ok(Self::Net { protocol, port }),
                    _ => Err(error(format!("`{port}` is not a port number (1-65535)"))),
                }
            }
            ["store", name, access] if crate::is_identifier(name) => {
                let access = match *access {
                    "ro" => Access::ReadOnly,
                    "rw" => Access::ReadWrite,
                    other => return Err(error(format!("unknown store access `{other}`"))),
                };
                Ok(Self::Store {
                    name: (*name).to_owned(),
                    access,
                })
            }
            ["device", name] if crate::is_identifier(name) => Ok(Self::Device {
                name: (*name).to_owned(),
            }),
            [kind, ..] if !["channel", "net", "store", "device"].contains(kind) => {
                Err(error(format!("unknown capability kind `{kind}`")))
            }
            _ => Err(error(format!("malformed capability `{text}`"))),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Channel { .. } => "channel",
            Self::Net { .. } => "net",
            Self::Store { .. } => "store",
            Self::Device { .. } => "device",
        }
    }
}

/// Whether `caps` grant a channel to `peer`.
pub fn has_channel(caps: &[Capability], peer: &str) -> bool {
    caps.iter()
        .any(|cap| matches!(cap, Capability::Channel { peer: p } if p == peer))
}

/// The `net:` ports `caps` grant, in the order written.
pub fn net_ports(caps: &[Capability]) -> impl Iterator<Item = (Protocol, u16)> + '_ {
    caps.iter().filter_map(|cap| match cap {
        Capability::Net { protocol, port } => Some((*protocol, *port)),
        _ => None,
    })
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Channel { peer } => write!(f, "channel:{peer}"),
            Self::Net { protocol, port } => {
                let protocol = match protocol {
                    Protocol::Udp => "udp",
                    Protocol::Tcp => "tcp",
                };
                write!(f, "net:{protocol}:{port}")
            }
            Self::Store { name, access } => {
                let access = match access {
                    Access::ReadOnly => "ro",
                    Access::ReadWrite => "rw",
                };
                write!(f, "store:{name}:{access}")
            }
            Self::Device { name } => write!(f, "device:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in [
            "channel:net",
            "net:udp:4001",
            "net:tcp:80",
            "store:models:ro",
            "store:x:rw",
            "device:gpio",
        ] {
            assert_eq!(Capability::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects() {
        assert!(
            Capability::parse("nett:udp:1")
                .unwrap_err()
                .message
                .contains("unknown capability kind `nett`")
        );
        assert!(
            Capability::parse("net:udp:0")
                .unwrap_err()
                .message
                .contains("port")
        );
        assert!(Capability::parse("net:udp:70000").is_err());
        assert!(
            Capability::parse("net:icmp:1")
                .unwrap_err()
                .message
                .contains("protocol")
        );
        assert!(
            Capability::parse("store:m:rx")
                .unwrap_err()
                .message
                .contains("access")
        );
        assert!(
            Capability::parse("channel:")
                .unwrap_err()
                .message
                .contains("malformed")
        );
        assert!(Capability::parse("channel:a:b").is_err());
    }
}
