//! Messages between the Brain and its skills, and their wire encoding.
//!
//! A message is one tag byte followed by its fields, little-endian. Both ends (the Brain and
//! every skill) use this module, so the encoding lives in one place.

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Brain → skill: are you alive? Carries a sequence number.
    Ping(u32),
    /// Skill → Brain: the answer to `Ping`.
    Pong(u32),
    /// Skill → Brain: booted and ready to serve.
    Ready,
    /// Brain → skill: do this job (opaque bytes for the skill).
    Job(Vec<u8>),
    /// Skill → Brain: the job's result.
    Done(Vec<u8>),
    /// Brain → skill: fault on purpose (fault-injection tests).
    Crash,
    /// Either way: something went wrong, in words.
    Error(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    UnknownTag(u8),
    Truncated,
    BadText,
}

const PING: u8 = 1;
const PONG: u8 = 2;
const READY: u8 = 3;
const JOB: u8 = 4;
const DONE: u8 = 5;
const CRASH: u8 = 6;
const ERROR: u8 = 7;

impl Message {
    /// The message's tag byte (the first byte on the wire).
    pub fn tag(&self) -> u8 {
        match self {
            Self::Ping(_) => PING,
            Self::Pong(_) => PONG,
            Self::Ready => READY,
            Self::Job(_) => JOB,
            Self::Done(_) => DONE,
            Self::Crash => CRASH,
            Self::Error(_) => ERROR,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Ping(n) => {
                out.push(PING);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Self::Pong(n) => {
                out.push(PONG);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Self::Ready => out.push(READY),
            Self::Job(bytes) => {
                out.push(JOB);
                out.extend_from_slice(bytes);
            }
            Self::Done(bytes) => {
                out.push(DONE);
                out.extend_from_slice(bytes);
            }
            Self::Crash => out.push(CRASH),
            Self::Error(text) => {
                out.push(ERROR);
                out.extend_from_slice(text.as_bytes());
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&tag, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        let number = || -> Result<u32, DecodeError> {
            let array: [u8; 4] = rest.try_into().map_err(|_| DecodeError::Truncated)?;
            Ok(u32::from_le_bytes(array))
        };
        match tag {
            PING => Ok(Self::Ping(number()?)),
            PONG => Ok(Self::Pong(number()?)),
            READY => Ok(Self::Ready),
            JOB => Ok(Self::Job(rest.to_vec())),
            DONE => Ok(Self::Done(rest.to_vec())),
            CRASH => Ok(Self::Crash),
            ERROR => core::str::from_utf8(rest)
                .map(|text| Self::Error(String::from(text)))
                .map_err(|_| DecodeError::BadText),
            other => Err(DecodeError::UnknownTag(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip() {
        for message in [
            Message::Ping(7),
            Message::Pong(u32::MAX),
            Message::Ready,
            Message::Job(vec![1, 2, 3]),
            Message::Done(vec![]),
            Message::Crash,
            Message::Error(String::from("no such page")),
        ] {
            assert_eq!(Message::decode(&message.encode()), Ok(message));
        }
    }

    /// Skills in C take the tags from `components/pd-base/include/hive_protocol.h`.
    #[test]
    fn c_header_agrees() {
        let header = include_str!("../../pd-base/include/hive_protocol.h");
        let defined = |name: &str| -> u8 {
            let line = header
                .lines()
                .find(|l| l.starts_with(&alloc::format!("#define HIVE_MSG_{name} ")))
                .unwrap_or_else(|| panic!("HIVE_MSG_{name} is not in hive_protocol.h"));
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        for (name, tag) in [
            ("PING", PING),
            ("PONG", PONG),
            ("READY", READY),
            ("JOB", JOB),
            ("DONE", DONE),
            ("CRASH", CRASH),
            ("ERROR", ERROR),
        ] {
            assert_eq!(defined(name), tag, "HIVE_MSG_{name}");
        }
        assert_eq!(Message::Ready.tag(), Message::Ready.encode()[0]);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Message::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(Message::decode(&[99]), Err(DecodeError::UnknownTag(99)));
        assert_eq!(Message::decode(&[PING, 1, 2]), Err(DecodeError::Truncated));
        assert_eq!(Message::decode(&[ERROR, 0xff]), Err(DecodeError::BadText));
    }
}
