//! Between the Brain and the police on seL4, where the police is a protection domain that
//! owns the skills' threads: the Brain's protected calls on its channel 0 (the police's
//! priority is above the Brain's, as Microkit requires of a callee). The label of a call is
//! the request, its answer the label of the reply. The C side is `hive_protocol.h`
//! (`HIVE_POLICE_*`, `HIVE_NEWS_*`); a test keeps the two equal.
//!
//! The hosted police takes the same decisions with [`crate::protocol::Routed`] frames: there
//! a message for a lazy skill starts it; here the Brain asks for the start itself, because a
//! seL4 message goes straight into the skill's mailbox, past the police.

/// Start the skill on the Brain's channel `mr0` (a lazy skill the police holds stopped).
pub const START: u64 = 1;
/// What happened since the last call: the reply's label is the number of items, each one a
/// message register ([`News::word`]).
pub const NEWS: u64 = 2;
/// The most items one [`NEWS`] reply carries; the police keeps the rest for the next call.
pub const NEWS_MAX: usize = 8;

/// The police's answer to [`START`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It was stopped; it is starting now (a `Ready` message follows).
    Started,
    /// It is already running (or booting): nothing to start.
    Running,
    /// Past its restart limit: the police will not start it again.
    Stopped,
    /// Not a skill the Brain holds a channel to.
    Refused,
}

impl Answer {
    pub const fn code(self) -> u64 {
        match self {
            Self::Started => 0,
            Self::Running => 1,
            Self::Stopped => 2,
            Self::Refused => 3,
        }
    }

    pub fn from_code(code: u64) -> Option<Self> {
        [Self::Started, Self::Running, Self::Stopped, Self::Refused]
            .into_iter()
            .find(|a| a.code() == code)
    }
}

/// One thing the police tells the Brain, about the skill on one of the Brain's channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum News {
    /// The skill faulted; the police restarts it if its policy says so.
    Faulted { channel: u8 },
    /// The skill is stopped for good.
    Stopped { channel: u8 },
    /// Someone at the console asked the hive for this skill (`ask <skill>`); the Brain
    /// decides what to do about it.
    Asked { channel: u8 },
}

const FAULTED: u64 = 1;
const STOPPED: u64 = 2;
const ASKED: u64 = 3;

impl News {
    /// As one message register: the kind above the channel id's byte.
    pub const fn word(self) -> u64 {
        match self {
            Self::Faulted { channel } => FAULTED << 8 | channel as u64,
            Self::Stopped { channel } => STOPPED << 8 | channel as u64,
            Self::Asked { channel } => ASKED << 8 | channel as u64,
        }
    }

    pub fn from_word(word: u64) -> Option<Self> {
        let channel = u8::try_from(word & 0xff).ok()?;
        match word >> 8 {
            FAULTED => Some(Self::Faulted { channel }),
            STOPPED => Some(Self::Stopped { channel }),
            ASKED => Some(Self::Asked { channel }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_and_answers_survive_a_message_register() {
        for news in [
            News::Faulted { channel: 1 },
            News::Stopped { channel: 61 },
            News::Asked { channel: 2 },
        ] {
            assert_eq!(News::from_word(news.word()), Some(news));
        }
        assert_eq!(News::from_word(9 << 8 | 1), None);
        for answer in [
            Answer::Started,
            Answer::Running,
            Answer::Stopped,
            Answer::Refused,
        ] {
            assert_eq!(Answer::from_code(answer.code()), Some(answer));
        }
        assert_eq!(Answer::from_code(4), None);
    }

    /// The police and the Brain's protection domain take these from `hive_protocol.h`.
    #[test]
    fn the_c_header_agrees() {
        let header = include_str!("../../pd-base/include/hive_protocol.h");
        let defined = |name: &str| -> u64 {
            let line = header
                .lines()
                .find(|l| l.starts_with(&alloc::format!("#define {name} ")))
                .unwrap_or_else(|| panic!("{name} is not in hive_protocol.h"));
            line.split_whitespace().nth(2).unwrap().parse().unwrap()
        };
        assert_eq!(defined("HIVE_POLICE_START"), START);
        assert_eq!(defined("HIVE_POLICE_NEWS"), NEWS);
        assert_eq!(defined("HIVE_NEWS_MAX"), NEWS_MAX as u64);
        assert_eq!(defined("HIVE_POLICE_STARTED"), Answer::Started.code());
        assert_eq!(defined("HIVE_POLICE_RUNNING"), Answer::Running.code());
        assert_eq!(defined("HIVE_POLICE_STOPPED"), Answer::Stopped.code());
        assert_eq!(defined("HIVE_POLICE_REFUSED"), Answer::Refused.code());
        assert_eq!(defined("HIVE_NEWS_FAULTED"), FAULTED);
        assert_eq!(defined("HIVE_NEWS_STOPPED"), STOPPED);
        assert_eq!(defined("HIVE_NEWS_ASKED"), ASKED);
    }
}
