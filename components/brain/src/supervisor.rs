//! What the Brain knows about its skills: which are up, which it is waiting for, and when
//! to give up on one. Pure state, driven by events, so it is tested without any kernel.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;

use crate::police::Answer;
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

/// What the Brain does with a request for a skill, given what it knows of the skill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// It has not been started (a lazy skill): ask the police to start it, then send the
    /// request once it is ready.
    Start,
    /// It is on its way up (booting, or restarting after a fault): send once it is ready.
    Wait,
    /// It is ready: send now.
    Send,
    /// Not a skill the Brain knows.
    Unknown,
}

#[derive(Debug, Default)]
pub struct Supervisor {
    skills: BTreeMap<String, SkillState>,
    /// Skills with a request waiting for them to be ready.
    waiting: BTreeSet<String>,
    heartbeats: u64,
}

impl Supervisor {
    pub fn new<'a>(skills: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            skills: skills
                .into_iter()
                .map(|name| (String::from(name), SkillState::Idle))
                .collect(),
            waiting: BTreeSet::new(),
            heartbeats: 0,
        }
    }

    /// A request for `skill` arrived: what to do now. Unless it can be sent at once, the
    /// request waits for the skill's `Ready` ([`Self::take_waiting`]).
    pub fn want(&mut self, skill: &str) -> Want {
        let Some(state) = self.skills.get(skill) else {
            return Want::Unknown;
        };
        let want = match state {
            SkillState::Ready => return Want::Send,
            SkillState::Idle => Want::Start,
            SkillState::Booting | SkillState::Faulted { .. } => Want::Wait,
        };
        self.waiting.insert(String::from(skill));
        want
    }

    /// The police answered the Brain's request to start `skill`; returns whether a request
    /// still waits for it (a skill that will not start drops its request).
    pub fn police_answered(&mut self, skill: &str, answer: Answer) -> bool {
        match answer {
            Answer::Started | Answer::Running => {
                if let Some(state @ SkillState::Idle) = self.skills.get_mut(skill) {
                    *state = SkillState::Booting;
                }
                self.waiting.contains(skill)
            }
            Answer::Stopped | Answer::Refused => {
                self.waiting.remove(skill);
                false
            }
        }
    }

    /// Whether a request waits for `skill` (now ready); it is taken.
    pub fn take_waiting(&mut self, skill: &str) -> bool {
        self.state(skill) == Some(SkillState::Ready) && self.waiting.remove(skill)
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

    #[test]
    fn a_request_for_a_lazy_skill_starts_it_and_waits_for_it() {
        let mut brain = Supervisor::new(["net", "pdf"]);
        assert_eq!(brain.want("nope"), Want::Unknown);
        assert_eq!(brain.want("pdf"), Want::Start);
        assert!(!brain.take_waiting("pdf"), "not ready yet");
        assert!(brain.police_answered("pdf", Answer::Started));
        assert_eq!(brain.state("pdf"), Some(SkillState::Booting));
        assert_eq!(brain.want("pdf"), Want::Wait);
        brain.handle(Event::Message {
            from: "pdf".into(),
            message: Message::Ready,
        });
        assert!(brain.take_waiting("pdf"));
        assert!(!brain.take_waiting("pdf"), "taken once");
        assert_eq!(brain.want("pdf"), Want::Send);

        // A skill the police will not start drops its request.
        assert_eq!(brain.want("net"), Want::Start);
        assert!(!brain.police_answered("net", Answer::Stopped));
        brain.handle(Event::Message {
            from: "net".into(),
            message: Message::Ready,
        });
        assert!(!brain.take_waiting("net"));
    }
}
