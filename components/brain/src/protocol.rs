//! Messages between the Brain and its skills, and their wire encoding.
//!
//! A message is one tag byte followed by its fields, little-endian. Both ends (the Brain and
//! every skill) use this module, so the encoding lives in one place.
//!
//! Where messages travel in a mailbox (seL4), the mailbox holds their length. Where they
//! travel on a byte stream (a Unikraft skill's serial line to the Brain on the hosted lane),
//! each is a frame: its length as a little-endian `u32`, then the message; a frame holds at
//! most [`FRAME_MAX`] message bytes. The C side of both: `hive_protocol.h` (seL4 protection
//! domains) and `hive/channel.h` (the Unikraft skill runtime); tests here read both.

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
    /// Skill → Brain: something arrived for the Brain (a peer's message), as received.
    Deliver(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    UnknownTag(u8),
    Truncated,
    BadText,
}

/// The most message bytes (tag and fields) one frame carries.
pub const FRAME_MAX: usize = 64 * 1024;

/// The bytes before a framed message: its length.
pub const FRAME_HEADER: usize = 4;

const PING: u8 = 1;
const PONG: u8 = 2;
const READY: u8 = 3;
const JOB: u8 = 4;
const DONE: u8 = 5;
const CRASH: u8 = 6;
const ERROR: u8 = 7;
const DELIVER: u8 = 8;

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
            Self::Deliver(_) => DELIVER,
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
            Self::Deliver(bytes) => {
                out.push(DELIVER);
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
            DELIVER => Ok(Self::Deliver(rest.to_vec())),
            CRASH => Ok(Self::Crash),
            ERROR => core::str::from_utf8(rest)
                .map(|text| Self::Error(String::from(text)))
                .map_err(|_| DecodeError::BadText),
            other => Err(DecodeError::UnknownTag(other)),
        }
    }
}

/// A frame that cannot be sent or was not received whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A message of this many bytes does not fit a frame.
    TooLong(usize),
    /// A frame's header declares more than [`FRAME_MAX`] bytes, or none: the stream is not
    /// framed messages.
    BadLength(u32),
    Decode(DecodeError),
}

impl Message {
    /// The message as one frame: its length, then its bytes.
    pub fn frame(&self) -> Result<Vec<u8>, FrameError> {
        let message = self.encode();
        let length = u32::try_from(message.len())
            .ok()
            .filter(|_| message.len() <= FRAME_MAX)
            .ok_or(FrameError::TooLong(message.len()))?;
        let mut out = Vec::with_capacity(FRAME_HEADER + message.len());
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&message);
        Ok(out)
    }
}

/// Collects bytes from a stream and gives back the messages of whole frames. Holds at most
/// one frame's bytes.
#[derive(Debug, Default)]
pub struct Deframer {
    buffer: Vec<u8>,
}

impl Deframer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message, `None` until one is complete. After an error the stream is
    /// not trusted: the caller drops it.
    pub fn next_message(&mut self) -> Option<Result<Message, FrameError>> {
        let header: [u8; FRAME_HEADER] = self.buffer.get(..FRAME_HEADER)?.try_into().ok()?;
        let length = u32::from_le_bytes(header);
        let size = usize::try_from(length).unwrap_or(usize::MAX);
        if size == 0 || size > FRAME_MAX {
            return Some(Err(FrameError::BadLength(length)));
        }
        let message = self.buffer.get(FRAME_HEADER..FRAME_HEADER + size)?;
        let decoded = Message::decode(message).map_err(FrameError::Decode);
        self.buffer.drain(..FRAME_HEADER + size);
        Some(decoded)
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
            Message::Deliver(vec![b'H', b'V']),
        ] {
            assert_eq!(Message::decode(&message.encode()), Ok(message));
        }
    }

    /// The value of `#define NAME value` in a C header.
    fn defined(header: &str, file: &str, name: &str) -> usize {
        let line = header
            .lines()
            .find(|l| l.starts_with(&alloc::format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} is not in {file}"));
        let value = line.split_whitespace().nth(2).unwrap();
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} in {file} is not a number: {value}"))
    }

    const HEADERS: [(&str, &str); 2] = [
        (
            "pd-base/include/hive_protocol.h",
            include_str!("../../pd-base/include/hive_protocol.h"),
        ),
        (
            "skill-runtime/include/hive/channel.h",
            include_str!("../../skill-runtime/include/hive/channel.h"),
        ),
    ];

    /// Skills in C take the tags from `components/pd-base/include/hive_protocol.h` (seL4) and
    /// `components/skill-runtime/include/hive/channel.h` (Unikraft).
    #[test]
    fn c_headers_agree() {
        for (file, header) in HEADERS {
            for (name, tag) in [
                ("PING", PING),
                ("PONG", PONG),
                ("READY", READY),
                ("JOB", JOB),
                ("DONE", DONE),
                ("CRASH", CRASH),
                ("ERROR", ERROR),
                ("DELIVER", DELIVER),
            ] {
                let name = alloc::format!("HIVE_MSG_{name}");
                assert_eq!(
                    defined(header, file, &name),
                    usize::from(tag),
                    "{name} in {file}"
                );
            }
        }
        let (file, channel) = HEADERS[1];
        assert_eq!(defined(channel, file, "HIVE_FRAME_MAX"), FRAME_MAX);
        assert_eq!(defined(channel, file, "HIVE_FRAME_HEADER"), FRAME_HEADER);
        assert_eq!(Message::Ready.tag(), Message::Ready.encode()[0]);
    }

    #[test]
    fn frames_carry_messages_over_a_stream_in_any_pieces() {
        let messages = [
            Message::Ready,
            Message::Job(vec![7; 1000]),
            Message::Pong(3),
        ];
        let stream: Vec<u8> = messages.iter().flat_map(|m| m.frame().unwrap()).collect();
        assert_eq!(&stream[..5], &[1, 0, 0, 0, READY]);
        for piece in [1, 3, 4096] {
            let mut deframer = Deframer::new();
            let mut seen = Vec::new();
            for chunk in stream.chunks(piece) {
                deframer.push(chunk);
                while let Some(message) = deframer.next_message() {
                    seen.push(message.unwrap());
                }
            }
            assert_eq!(seen, messages, "in pieces of {piece}");
        }
    }

    #[test]
    fn frames_are_bounded() {
        assert_eq!(
            Message::Job(vec![0; FRAME_MAX]).frame(),
            Err(FrameError::TooLong(FRAME_MAX + 1))
        );
        assert!(Message::Job(vec![0; FRAME_MAX - 1]).frame().is_ok());
        let mut deframer = Deframer::new();
        deframer.push(&u32::MAX.to_le_bytes());
        assert_eq!(
            deframer.next_message(),
            Some(Err(FrameError::BadLength(u32::MAX)))
        );
        let mut empty = Deframer::new();
        empty.push(&[0, 0, 0, 0]);
        assert_eq!(empty.next_message(), Some(Err(FrameError::BadLength(0))));
        let mut unknown = Deframer::new();
        unknown.push(&[1, 0, 0, 0, 99]);
        assert_eq!(
            unknown.next_message(),
            Some(Err(FrameError::Decode(DecodeError::UnknownTag(99))))
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Message::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(Message::decode(&[99]), Err(DecodeError::UnknownTag(99)));
        assert_eq!(Message::decode(&[PING, 1, 2]), Err(DecodeError::Truncated));
        assert_eq!(Message::decode(&[ERROR, 0xff]), Err(DecodeError::BadText));
    }
}
