//! The peer protocol the `net` skill speaks over UDP, as
//! `components/skill-runtime/include/hive/peer.h` defines it (a test reads the header and
//! checks the two agree): the Brain signs its messages and reads what its skill delivers;
//! hivebuild speaks it when it plays a peer in tests.

use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

pub const VERSION: u8 = 1;
pub const HEADER: usize = 6;
pub const MAX_PAYLOAD: usize = 256;
pub const HELLO: u8 = 0x01;
pub const PING: u8 = 0x02;
pub const MESSAGE: u8 = 0x03;
pub const STATS: u8 = 0x04;
pub const FAULT: u8 = 0x7f;
pub const REPLY: u8 = 0x80;
/// A MESSAGE's payload: the sender's ed25519 key, its signature, then the body.
pub const KEY: usize = 32;
pub const SIGNATURE: usize = 64;
/// An IPv4 address and a big-endian port, between a skill and its Brain.
pub const ENDPOINT: usize = 6;
/// How long the Brain waits for the answer to a MESSAGE it sent.
pub const ANSWER_MS: u64 = 30_000;

/// A datagram: the header, then `payload`. A payload longer than `u16::MAX` is cut there
/// (the protocol's own limit is far lower; a test may want to send past it).
pub fn datagram(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let mut out = vec![b'H', b'V', VERSION, opcode];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&payload[..usize::from(length)]);
    out
}

/// A signed MESSAGE from the hive whose public key is `key`: `sign` signs the bytes it is
/// given (the header, `key`, `body`) with the matching secret key.
pub fn message(
    key: &[u8; KEY],
    body: &[u8],
    sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE],
) -> Vec<u8> {
    signed(MESSAGE, key, body, sign)
}

/// A signed datagram of `opcode` (MESSAGE, or REPLY | MESSAGE: an answer), laid out as a
/// MESSAGE is.
pub fn signed(
    opcode: u8,
    key: &[u8; KEY],
    body: &[u8],
    sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE],
) -> Vec<u8> {
    let length = KEY + SIGNATURE + body.len();
    let header = &datagram(opcode, &vec![0; length])[..HEADER];
    let signed = [header, key, body].concat();
    let signature = sign(&signed);
    [header, key, &signature, body].concat()
}

/// The longest body a signed datagram carries.
pub const MAX_BODY: usize = MAX_PAYLOAD - KEY - SIGNATURE;

fn endpoint_bytes(to: SocketAddrV4) -> [u8; ENDPOINT] {
    let mut out = [0; ENDPOINT];
    out[..4].copy_from_slice(&to.ip().octets());
    out[4..].copy_from_slice(&to.port().to_be_bytes());
    out
}

fn endpoint(bytes: &[u8]) -> Option<SocketAddrV4> {
    let ip: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let port: [u8; 2] = bytes.get(4..ENDPOINT)?.try_into().ok()?;
    Some(SocketAddrV4::new(
        Ipv4Addr::from(ip),
        u16::from_be_bytes(port),
    ))
}

/// The Brain's job for its network skill: send `datagram` to `to`.
pub fn send_job(to: SocketAddrV4, datagram: &[u8]) -> Vec<u8> {
    [&endpoint_bytes(to)[..], datagram].concat()
}

/// What a skill delivers to its Brain of a peer's checked datagram: where it came from, its
/// opcode (a MESSAGE to answer, or REPLY | MESSAGE: the answer to the one sent last), the key
/// that signed it, the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub from: SocketAddrV4,
    pub opcode: u8,
    pub key: [u8; KEY],
    pub body: Vec<u8>,
}

impl Delivery {
    /// Whether it answers a MESSAGE this hive sent.
    pub fn is_answer(&self) -> bool {
        self.opcode == REPLY | MESSAGE
    }

    pub fn encode(&self) -> Vec<u8> {
        [
            &endpoint_bytes(self.from)[..],
            &[self.opcode],
            &self.key,
            &self.body,
        ]
        .concat()
    }

    /// `None` for bytes too short to hold an endpoint, an opcode and a key, or of another
    /// opcode.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let from = endpoint(bytes)?;
        let opcode = *bytes.get(ENDPOINT)?;
        if opcode != MESSAGE && opcode != REPLY | MESSAGE {
            return None;
        }
        let key = bytes
            .get(ENDPOINT + 1..ENDPOINT + 1 + KEY)?
            .try_into()
            .ok()?;
        Some(Self {
            from,
            opcode,
            key,
            body: bytes[ENDPOINT + 1 + KEY..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_and_a_send_job_lead_with_the_endpoint() {
        let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 4101);
        let delivery = Delivery {
            from,
            opcode: REPLY | MESSAGE,
            key: [3; KEY],
            body: b"hi".to_vec(),
        };
        let bytes = delivery.encode();
        assert_eq!(&bytes[..=ENDPOINT], &[10, 0, 2, 2, 0x10, 0x05, 0x83]);
        assert!(delivery.is_answer());
        assert_eq!(Delivery::decode(&bytes), Some(delivery));
        assert_eq!(Delivery::decode(&bytes[..ENDPOINT + KEY]), None);
        let mut other = bytes.clone();
        other[ENDPOINT] = PING;
        assert_eq!(Delivery::decode(&other), None);
        assert_eq!(send_job(from, b"HV"), [10, 0, 2, 2, 0x10, 0x05, b'H', b'V']);
    }

    #[test]
    fn the_header_defines_the_same_protocol() {
        let header = include_str!("../../skill-runtime/include/hive/peer.h");
        let define = |name: &str| -> usize {
            header
                .lines()
                .find_map(|line| {
                    let rest = line.strip_prefix("#define ")?.strip_prefix(name)?;
                    let value = rest.split_whitespace().next()?;
                    Some(match value.strip_prefix("0x") {
                        Some(hex) => usize::from_str_radix(hex, 16).unwrap(),
                        None => value.parse().unwrap(),
                    })
                })
                .unwrap_or_else(|| panic!("no {name} in peer.h"))
        };
        assert_eq!(define("HIVE_PEER_VERSION "), usize::from(VERSION));
        assert_eq!(define("HIVE_PEER_HEADER "), HEADER);
        assert_eq!(define("HIVE_PEER_MAX_PAYLOAD "), MAX_PAYLOAD);
        assert_eq!(define("HIVE_PEER_KEY "), KEY);
        assert_eq!(define("HIVE_PEER_SIGNATURE "), SIGNATURE);
        assert_eq!(define("HIVE_PEER_ENDPOINT "), ENDPOINT);
        assert_eq!(
            define("HIVE_PEER_ANSWER_MS "),
            usize::try_from(ANSWER_MS).unwrap()
        );
        for (name, value) in [
            ("HIVE_PEER_HELLO ", HELLO),
            ("HIVE_PEER_PING ", PING),
            ("HIVE_PEER_MESSAGE ", MESSAGE),
            ("HIVE_PEER_STATS ", STATS),
            ("HIVE_PEER_FAULT ", FAULT),
            ("HIVE_PEER_REPLY ", REPLY),
        ] {
            assert_eq!(define(name), usize::from(value), "{name}");
        }
        assert_eq!(datagram(PING, b"ab"), b"HV\x01\x02\x00\x02ab");
    }

    #[test]
    fn a_message_is_header_key_signature_body_and_signs_header_key_body() {
        let key = [7; KEY];
        let mut signed = Vec::new();
        let out = message(&key, b"hi", |bytes| {
            signed = bytes.to_vec();
            [9; SIGNATURE]
        });
        assert_eq!(&out[..HEADER], b"HV\x01\x03\x00\x62");
        assert_eq!(out.len(), HEADER + 98);
        assert_eq!(&out[HEADER..HEADER + KEY], &key);
        assert_eq!(
            &out[HEADER + KEY..HEADER + KEY + SIGNATURE],
            &[9; SIGNATURE]
        );
        assert_eq!(&out[HEADER + KEY + SIGNATURE..], b"hi");
        assert_eq!(signed, [&out[..HEADER], &key[..], b"hi"].concat());
    }
}
