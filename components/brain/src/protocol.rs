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
//!
//! On the hosted lane the Brain is a process that reaches its skills only through the police
//! (`components/police-hosted`): [`Routed`] is what crosses between the two, in the same
//! frames.

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
    /// Bytes after a message that has no more fields: one message has one encoding.
    Trailing,
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
            READY | CRASH if !rest.is_empty() => Err(DecodeError::Trailing),
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
        frame_bytes(self.encode())
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
        self.next_decoded(Message::decode)
    }

    /// The next whole message between the Brain and the police (hosted lane).
    pub fn next_routed(&mut self) -> Option<Result<Routed, FrameError>> {
        self.next_decoded(Routed::decode)
    }

    fn next_decoded<T>(
        &mut self,
        decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
    ) -> Option<Result<T, FrameError>> {
        let header: [u8; FRAME_HEADER] = self.buffer.get(..FRAME_HEADER)?.try_into().ok()?;
        let length = u32::from_le_bytes(header);
        let size = usize::try_from(length).unwrap_or(usize::MAX);
        if size == 0 || size > FRAME_MAX {
            return Some(Err(FrameError::BadLength(length)));
        }
        let message = self.buffer.get(FRAME_HEADER..FRAME_HEADER + size)?;
        let decoded = decode(message).map_err(FrameError::Decode);
        self.buffer.drain(..FRAME_HEADER + size);
        Some(decoded)
    }
}

/// Frame already encoded message bytes: their length, then the bytes.
fn frame_bytes(message: Vec<u8>) -> Result<Vec<u8>, FrameError> {
    let length = u32::try_from(message.len())
        .ok()
        .filter(|_| message.len() <= FRAME_MAX)
        .ok_or(FrameError::TooLong(message.len()))?;
    let mut out = Vec::with_capacity(FRAME_HEADER + message.len());
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&message);
    Ok(out)
}

/// What became of a skill, as the police tells the Brain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkillState {
    /// Booted and ready to serve.
    Running,
    /// Ended by a fault (the police restarts it if its policy says so).
    Faulted,
    /// Stopped for good: its restart limit was reached, or its policy does not restart it.
    Stopped,
}

/// Between the Brain and the police on the hosted lane, where the police alone owns the
/// skills' virtual machines and the Brain reaches a skill only through it. Framed like
/// [`Message`], on the one byte stream between the two processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// Brain → police: give `message` to `skill` (a lazy skill is started first).
    /// Police → Brain: `message` came from `skill`.
    Skill { skill: String, message: Message },
    /// Police → Brain: a message for `skill` was not passed on: why (the Brain holds no
    /// channel to it, the skill is stopped, it did not answer).
    Refused { skill: String, reason: String },
    /// Police → Brain: `skill` is now in `state`.
    Notice { skill: String, state: SkillState },
    /// Police → Brain: a person's request (`id` names it in the answer).
    Ask { id: u32, text: String },
    /// Brain → police: the answer to `Ask` `id` (a JSON document: the plan, the skill called,
    /// its timings, the reply).
    Answer { id: u32, text: String },
    /// Brain → police: the Brain is alive (a counter).
    Beat(u64),
}

const SKILL: u8 = 0x20;
const REFUSED: u8 = 0x21;
const NOTICE: u8 = 0x22;
const ASK: u8 = 0x23;
const ANSWER: u8 = 0x24;
const BEAT: u8 = 0x25;

const STATES: [(SkillState, u8); 3] = [
    (SkillState::Running, 1),
    (SkillState::Faulted, 2),
    (SkillState::Stopped, 3),
];

/// A skill's name on the wire: its length in one byte, then its bytes. Skill names are
/// manifest identifiers (at most 63 bytes); a longer one is cut at 255 bytes, on a character
/// boundary, and then names no skill.
fn push_name(out: &mut Vec<u8>, name: &str) {
    let mut end = name.len().min(usize::from(u8::MAX));
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    out.push(u8::try_from(end).unwrap_or(u8::MAX));
    out.extend_from_slice(&name.as_bytes()[..end]);
}

fn split_name(bytes: &[u8]) -> Result<(String, &[u8]), DecodeError> {
    let (&length, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
    let length = usize::from(length);
    if rest.len() < length {
        return Err(DecodeError::Truncated);
    }
    let (name, rest) = rest.split_at(length);
    Ok((text(name)?, rest))
}

fn text(bytes: &[u8]) -> Result<String, DecodeError> {
    core::str::from_utf8(bytes)
        .map(String::from)
        .map_err(|_| DecodeError::BadText)
}

fn split_u32(bytes: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    let (number, rest) = bytes.split_at_checked(4).ok_or(DecodeError::Truncated)?;
    let array: [u8; 4] = number.try_into().map_err(|_| DecodeError::Truncated)?;
    Ok((u32::from_le_bytes(array), rest))
}

impl Routed {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Skill { skill, message } => {
                out.push(SKILL);
                push_name(&mut out, skill);
                out.extend_from_slice(&message.encode());
            }
            Self::Refused { skill, reason } => {
                out.push(REFUSED);
                push_name(&mut out, skill);
                out.extend_from_slice(reason.as_bytes());
            }
            Self::Notice { skill, state } => {
                out.push(NOTICE);
                push_name(&mut out, skill);
                let code = STATES
                    .iter()
                    .find(|(s, _)| s == state)
                    .map_or(0, |(_, c)| *c);
                out.push(code);
            }
            Self::Ask { id, text } | Self::Answer { id, text } => {
                out.push(if matches!(self, Self::Ask { .. }) {
                    ASK
                } else {
                    ANSWER
                });
                out.extend_from_slice(&id.to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Self::Beat(n) => {
                out.push(BEAT);
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&tag, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        match tag {
            SKILL => {
                let (skill, rest) = split_name(rest)?;
                Ok(Self::Skill {
                    skill,
                    message: Message::decode(rest)?,
                })
            }
            REFUSED => {
                let (skill, rest) = split_name(rest)?;
                Ok(Self::Refused {
                    skill,
                    reason: text(rest)?,
                })
            }
            NOTICE => {
                let (skill, rest) = split_name(rest)?;
                let [code] = rest else {
                    return Err(DecodeError::Truncated);
                };
                let state = STATES
                    .iter()
                    .find(|(_, c)| c == code)
                    .map(|(s, _)| *s)
                    .ok_or(DecodeError::UnknownTag(*code))?;
                Ok(Self::Notice { skill, state })
            }
            ASK | ANSWER => {
                let (id, rest) = split_u32(rest)?;
                let text = text(rest)?;
                Ok(if tag == ASK {
                    Self::Ask { id, text }
                } else {
                    Self::Answer { id, text }
                })
            }
            BEAT => {
                let array: [u8; 8] = rest.try_into().map_err(|_| DecodeError::Truncated)?;
                Ok(Self::Beat(u64::from_le_bytes(array)))
            }
            other => Err(DecodeError::UnknownTag(other)),
        }
    }

    /// The message as one frame.
    pub fn frame(&self) -> Result<Vec<u8>, FrameError> {
        frame_bytes(self.encode())
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

    /// Found by fuzzing (fuzz/regressions/protocol): `Ready` and `Crash` took any bytes after
    /// their tag, so one message had many encodings.
    #[test]
    fn one_message_has_one_encoding() {
        assert_eq!(Message::decode(&[READY, 0]), Err(DecodeError::Trailing));
        assert_eq!(Message::decode(&[CRASH, 1, 2]), Err(DecodeError::Trailing));
        assert_eq!(
            Message::decode(&[PING, 1, 2, 3, 4, 5]),
            Err(DecodeError::Truncated)
        );
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
    fn routed_messages_round_trip_through_frames() {
        let messages = [
            Routed::Skill {
                skill: String::from("pdf"),
                message: Message::Job(vec![1, 2, 3]),
            },
            Routed::Skill {
                skill: String::from("net"),
                message: Message::Deliver(vec![]),
            },
            Routed::Refused {
                skill: String::from("mail"),
                reason: String::from("the Brain holds no channel to `mail`"),
            },
            Routed::Notice {
                skill: String::from("net"),
                state: SkillState::Faulted,
            },
            Routed::Ask {
                id: 7,
                text: String::from("extract the text of report.pdf"),
            },
            Routed::Answer {
                id: u32::MAX,
                text: String::from("{}"),
            },
            Routed::Beat(1 << 40),
        ];
        let mut deframer = Deframer::new();
        for message in &messages {
            deframer.push(&message.frame().unwrap());
        }
        for message in messages {
            assert_eq!(deframer.next_routed(), Some(Ok(message)));
        }
        assert_eq!(deframer.next_routed(), None);
    }

    #[test]
    fn routed_rejects_bad_input() {
        assert_eq!(Routed::decode(&[SKILL]), Err(DecodeError::Truncated));
        assert_eq!(
            Routed::decode(&[SKILL, 5, b'p']),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            Routed::decode(&[SKILL, 1, 0xff, READY]),
            Err(DecodeError::BadText)
        );
        assert_eq!(Routed::decode(&[SKILL, 1, b'p']), Err(DecodeError::Empty));
        assert_eq!(
            Routed::decode(&[NOTICE, 1, b'p', 9]),
            Err(DecodeError::UnknownTag(9))
        );
        assert_eq!(Routed::decode(&[ASK, 1, 2]), Err(DecodeError::Truncated));
        assert_eq!(Routed::decode(&[BEAT, 1]), Err(DecodeError::Truncated));
        assert_eq!(Routed::decode(&[PING]), Err(DecodeError::UnknownTag(PING)));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Message::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(Message::decode(&[99]), Err(DecodeError::UnknownTag(99)));
        assert_eq!(Message::decode(&[PING, 1, 2]), Err(DecodeError::Truncated));
        assert_eq!(Message::decode(&[ERROR, 0xff]), Err(DecodeError::BadText));
    }
}
