//! What the Brain knows about its skills: which are up, which it is waiting for, and when
//! to give up on one. Pure state, driven by events, so it is tested without any kernel.

use alloc::collections::BTreeMap;
use alloc::string::String;

use crate::protocol::Message;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkillState {
    /// Declared, not spawned yet (lazy skills start here).
    Idle,
    Booting,
    Ready,
    /// Faulted; the police may bring it back.
    Faulted {
        faults: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A tick of the Brain's own clock: it beats whatever its skills do.
    Tick,
    Message {
        from: String,
        message: Message,
    },
    /// The police reports a skill fault.
    Fault {
        skill: String,
    },
}

#[derive(Debug, Default)]
pub struct Supervisor {
    skills: BTreeMap<String, SkillState>,
    heartbeats: u64,
}

impl Supervisor {
    pub fn new<'a>(skills: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            skills: skills
                .into_iter()
                .map(|name| (String::from(name), SkillState::Idle))
                .collect(),
            heartbeats: 0,
        }
    }

    pub fn spawned(&mut self, skill: &str) {
        if let Some(state) = self.skills.get_mut(skill) {
            *state = SkillState::Booting;
        }
    }

    /// Handle one event; returns the heartbeat count after it.
    pub fn handle(&mut self, event: Event) -> u64 {
        match event {
            Event::Tick => self.heartbeats += 1,
            Event::Message { from, message } => {
                if let Some(state) = self.skills.get_mut(&from)
                    && matches!(message, Message::Ready | Message::Pong(_))
                {
                    *state = SkillState::Ready;
                }
            }
            Event::Fault { skill } => {
                if let Some(state) = self.skills.get_mut(&skill) {
                    let faults = match *state {
                        SkillState::Faulted { faults } => faults + 1,
                        _ => 1,
                    };
                    *state = SkillState::Faulted { faults };
                }
            }
        }
        self.heartbeats
    }

    pub fn state(&self, skill: &str) -> Option<SkillState> {
        self.skills.get(skill).copied()
    }

    pub fn heartbeats(&self) -> u64 {
        self.heartbeats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_never_stop_the_heartbeat() {
        let mut brain = Supervisor::new(["net", "pdf"]);
        brain.spawned("net");
        brain.handle(Event::Message {
            from: "net".into(),
            message: Message::Ready,
        });
        assert_eq!(brain.state("net"), Some(SkillState::Ready));
        brain.handle(Event::Fault {
            skill: "net".into(),
        });
        brain.handle(Event::Fault {
            skill: "net".into(),
        });
        assert_eq!(brain.state("net"), Some(SkillState::Faulted { faults: 2 }));
        assert_eq!(brain.handle(Event::Tick), 1);
        assert_eq!(brain.handle(Event::Tick), 2);
        assert_eq!(brain.state("pdf"), Some(SkillState::Idle));
        assert_eq!(brain.state("nope"), None);
    }
}
