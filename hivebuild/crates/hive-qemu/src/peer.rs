//! The peer protocol the `net` skill speaks over UDP, as
//! `components/skill-runtime/include/hive/peer.h` defines it (a test reads the header and
//! checks the two agree). hivebuild speaks it when it plays a peer in tests.

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
    let length = KEY + SIGNATURE + body.len();
    let header = &datagram(MESSAGE, &vec![0; length])[..HEADER];
    let signed = [header, key, body].concat();
    let signature = sign(&signed);
    [header, key, &signature, body].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_defines_the_same_protocol() {
        let header = include_str!("../../../../components/skill-runtime/include/hive/peer.h");
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
