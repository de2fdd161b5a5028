//! Fault injection: crash a skill through a command typed on the console, then expect the
//! police to report the fault and bring the skill back (or, past its restart limit, to stop
//! it), while the Brain's heartbeat goes on without a gap longer than allowed.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use regex::Regex;
use serde::Serialize;

use crate::{Flow, Guest, Machine, QemuError};

/// One scenario, with the skill's name already in every pattern.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The skill is up (at boot and after a restart).
    pub ready: Regex,
    /// The police reports a fault of the skill.
    pub fault: Regex,
    /// The police gave up on the skill.
    pub stopped: Regex,
    /// The Brain is alive.
    pub heartbeat: Regex,
    /// Typed on the console, with a newline, to crash the skill.
    pub command: String,
    /// How many crashes; past the restart limit the skill must be stopped.
    pub crashes: u32,
    pub expect_stopped: bool,
    pub boot_within: Duration,
    pub restart_within: Duration,
    pub max_gap: Duration,
}

/// What a scenario saw.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    pub failure: Option<String>,
    /// Milliseconds from each crash command to the skill's ready marker.
    pub restarts_ms: Vec<f64>,
    /// The longest gap between two heartbeats after the first crash.
    pub max_gap_ms: f64,
    pub heartbeats: usize,
    #[serde(skip)]
    pub console: String,
    pub duration_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Ready,
    Fault,
    Back,
    Heartbeat,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Boot `image` and play `scenario` against its console.
pub fn run(machine: &Machine, image: &Path, scenario: &Scenario) -> Result<Outcome, QemuError> {
    let mut guest = Guest::spawn(machine, image, &[])?;
    let started = Instant::now();
    let mut watch = Watch {
        scenario,
        input: guest.take_input(),
        waiting: Waiting::Ready,
        deadline: started + scenario.boot_within,
        crashes_sent: 0,
        crashed_at: started,
        last_beat: None,
        first_crash: None,
        skill_ready: false,
        outcome: Outcome::default(),
    };
    let budget = scenario.boot_within
        + (scenario.restart_within * 2) * (scenario.crashes + 1)
        + scenario.max_gap * 2;
    let mut text = String::new();
    let mut done_lines = 0;
    let booted = guest.watch(budget, &mut |bytes| {
        let now = Instant::now();
        text.push_str(&String::from_utf8_lossy(bytes).replace('\r', ""));
        let end = text.rfind('\n').map_or(done_lines, |i| i + 1);
        let lines: Vec<String> = text[done_lines..end].lines().map(str::to_owned).collect();
        done_lines = end;
        for line in lines {
            if watch.line(&line, now) == Flow::Stop {
                return Flow::Stop;
            }
        }
        watch.clock(now)
    })?;
    let mut outcome = watch.finish();
    outcome.console = booted.console;
    outcome.duration_ms = u64::try_from(booted.duration.as_millis()).unwrap_or(u64::MAX);
    Ok(outcome)
}

/// A scenario's state while the console streams: what it waits for, until when, and what it
/// saw so far.
struct Watch<'a> {
    scenario: &'a Scenario,
    input: Option<std::process::ChildStdin>,
    waiting: Waiting,
    deadline: Instant,
    crashes_sent: u32,
    crashed_at: Instant,
    last_beat: Option<Instant>,
    first_crash: Option<Instant>,
    skill_ready: bool,
    outcome: Outcome,
}

impl Watch<'_> {
    fn fail(&mut self, why: String) -> Flow {
        self.outcome.failure = Some(why);
        Flow::Stop
    }

    fn heartbeat_stopped(&self) -> String {
        format!(
            "the Brain's heartbeat stopped for more than {} ms",
            self.scenario.max_gap.as_millis()
        )
    }

    /// The pattern (or patterns) awaited now, for messages.
    fn waiting_for(&self) -> String {
        let scenario = self.scenario;
        match self.waiting {
            Waiting::Fault => format!("`{}`", scenario.fault.as_str()),
            Waiting::Back if scenario.expect_stopped => format!(
                "`{}` or `{}`",
                scenario.ready.as_str(),
                scenario.stopped.as_str()
            ),
            Waiting::Ready | Waiting::Back => format!("`{}`", scenario.ready.as_str()),
            Waiting::Heartbeat => format!("`{}` after the fault", scenario.heartbeat.as_str()),
        }
    }

    /// Type the crash command, then wait for the police to report the fault.
    fn crash(&mut self, now: Instant) -> Flow {
        let command = format!("{}\n", self.scenario.command);
        let typed = self.input.as_mut().is_some_and(|stdin| {
            stdin
                .write_all(command.as_bytes())
                .and_then(|()| stdin.flush())
                .is_ok()
        });
        if !typed {
            return self.fail("could not type on the guest's console".into());
        }
        self.crashes_sent += 1;
        self.crashed_at = now;
        self.first_crash.get_or_insert(now);
        self.waiting = Waiting::Fault;
        self.deadline = now + self.scenario.restart_within;
        Flow::Continue
    }

    /// Wait for heartbeats to go on after the last fault.
    fn await_heartbeat(&mut self, now: Instant) {
        self.waiting = Waiting::Heartbeat;
        self.deadline = now + self.scenario.max_gap;
    }

    /// One console line, seen at `now`.
    fn line(&mut self, line: &str, now: Instant) -> Flow {
        let scenario = self.scenario;
        if scenario.heartbeat.is_match(line) {
            self.outcome.heartbeats += 1;
            if let (Some(last), Some(_)) = (self.last_beat, self.first_crash) {
                self.outcome.max_gap_ms = self.outcome.max_gap_ms.max(ms(now - last));
            }
            self.last_beat = Some(now);
            if self.waiting == Waiting::Heartbeat {
                return Flow::Stop;
            }
        } else if self.waiting == Waiting::Ready && scenario.ready.is_match(line) {
            self.skill_ready = true;
        }
        match self.waiting {
            // Crash only once the skill is up and the Brain beats, so that the pause the
            // crash causes (if any) shows as a gap between two heartbeats.
            Waiting::Ready if self.skill_ready && self.last_beat.is_some() => self.crash(now),
            Waiting::Fault if scenario.fault.is_match(line) => {
                self.waiting = Waiting::Back;
                self.deadline = self.crashed_at + scenario.restart_within;
                Flow::Continue
            }
            Waiting::Back if scenario.stopped.is_match(line) => {
                if scenario.expect_stopped && self.crashes_sent == scenario.crashes {
                    self.await_heartbeat(now);
                    Flow::Continue
                } else {
                    self.fail(format!(
                        "the police stopped the skill after {} crash(es), before its restart limit",
                        self.crashes_sent
                    ))
                }
            }
            Waiting::Back if scenario.ready.is_match(line) => {
                self.outcome.restarts_ms.push(ms(now - self.crashed_at));
                if self.crashes_sent < scenario.crashes {
                    self.crash(now)
                } else if scenario.expect_stopped {
                    self.fail(format!(
                        "the skill came back after crash {}, past its restart limit",
                        self.crashes_sent
                    ))
                } else {
                    self.await_heartbeat(now);
                    Flow::Continue
                }
            }
            _ => Flow::Continue,
        }
    }

    /// After each read: a heartbeat gap too long, or a deadline passed, ends the scenario.
    fn clock(&mut self, now: Instant) -> Flow {
        if let (Some(last), Some(_)) = (self.last_beat, self.first_crash)
            && now - last > self.scenario.max_gap
        {
            return self.fail(self.heartbeat_stopped());
        }
        if now > self.deadline {
            let why = if self.waiting == Waiting::Heartbeat {
                self.heartbeat_stopped()
            } else {
                format!("{} did not appear in time", self.waiting_for())
            };
            return self.fail(why);
        }
        Flow::Continue
    }

    /// The outcome once the guest stopped: it must have stopped because the scenario ended.
    fn finish(mut self) -> Outcome {
        if self.outcome.failure.is_none() && self.waiting != Waiting::Heartbeat {
            self.outcome.failure = Some(format!(
                "the guest stopped while waiting for {}",
                self.waiting_for()
            ));
        }
        if self.outcome.failure.is_none() && self.outcome.max_gap_ms > ms(self.scenario.max_gap) {
            self.outcome.failure = Some(format!(
                "the Brain's heartbeat paused for {:.0} ms (at most {} ms allowed)",
                self.outcome.max_gap_ms,
                self.scenario.max_gap.as_millis()
            ));
        }
        self.outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c` plays police and Brain: heartbeats in the background; each line typed is a
    /// crash; after `limit` restarts the skill is stopped. `beats_after_crash` 0 makes the
    /// Brain die with the first crash.
    fn guest(limit: u32, beats_after_crash: bool) -> Machine {
        let brain = if beats_after_crash {
            "(i=0; while [ $i -lt 60 ]; do echo \"brain: heartbeat $i\"; sleep 0.05; i=$((i+1)); done) &"
        } else {
            "(i=0; while [ ! -e \"$T/crashed\" ]; do echo \"brain: heartbeat $i\"; sleep 0.05; i=$((i+1)); done) &"
        };
        let script = format!(
            "T=$(mktemp -d); {brain} echo 'net: ready'; n=0; while read cmd; do touch \"$T/crashed\"; n=$((n+1)); \
             echo 'police: net faulted'; if [ $n -gt {limit} ]; then echo 'police: net stopped'; else echo 'net: ready'; fi; done"
        );
        Machine {
            program: "sh".into(),
            args: vec!["-c".into(), script],
            powers_off: true,
            description: String::new(),
        }
    }

    fn scenario(crashes: u32, expect_stopped: bool) -> Scenario {
        Scenario {
            ready: Regex::new("net: ready").unwrap(),
            fault: Regex::new("police: net faulted").unwrap(),
            stopped: Regex::new("police: net stopped").unwrap(),
            heartbeat: Regex::new("brain: heartbeat").unwrap(),
            command: "crash net".into(),
            crashes,
            expect_stopped,
            boot_within: Duration::from_secs(5),
            restart_within: Duration::from_secs(2),
            max_gap: Duration::from_millis(1500),
        }
    }

    #[test]
    fn a_crashed_skill_comes_back_and_the_brain_beats_on() {
        let outcome = run(&guest(3, true), Path::new("/dev/null"), &scenario(1, false)).unwrap();
        assert_eq!(outcome.failure, None, "{}", outcome.console);
        assert_eq!(outcome.restarts_ms.len(), 1);
        assert!(outcome.heartbeats >= 1);
    }

    #[test]
    fn past_its_limit_a_skill_is_stopped_and_the_brain_beats_on() {
        let outcome = run(&guest(1, true), Path::new("/dev/null"), &scenario(2, true)).unwrap();
        assert_eq!(outcome.failure, None, "{}", outcome.console);
        assert_eq!(outcome.restarts_ms.len(), 1, "one restart, then stopped");
    }

    #[test]
    fn a_skill_stopped_too_early_or_a_silent_brain_fails() {
        let early = run(&guest(0, true), Path::new("/dev/null"), &scenario(1, false)).unwrap();
        assert_eq!(
            early.failure.as_deref(),
            Some("the police stopped the skill after 1 crash(es), before its restart limit")
        );
        let silent = run(
            &guest(3, false),
            Path::new("/dev/null"),
            &scenario(1, false),
        )
        .unwrap();
        assert_eq!(
            silent.failure.as_deref(),
            Some("the Brain's heartbeat stopped for more than 1500 ms"),
            "{}",
            silent.console
        );
    }
}
