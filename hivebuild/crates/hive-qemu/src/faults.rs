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
#[derive(Clone, Debug, Serialize)]
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

#[expect(
    clippy::too_many_lines,
    reason = "one scenario's state machine over the console, kept in one loop"
)]
pub fn run(machine: &Machine, image: &Path, scenario: &Scenario) -> Result<Outcome, QemuError> {
    let mut guest = Guest::spawn(machine, image, &[])?;
    let mut input = guest.take_input();
    let started = Instant::now();
    let mut text = String::new();
    let mut done_lines = 0;
    let mut waiting = Waiting::Ready;
    let mut deadline = started + scenario.boot_within;
    let mut crashes_sent = 0;
    let mut crashed_at = started;
    let mut last_beat: Option<Instant> = None;
    let mut first_crash: Option<Instant> = None;
    let mut skill_ready = false;
    let mut outcome = Outcome {
        failure: None,
        restarts_ms: Vec::new(),
        max_gap_ms: 0.0,
        heartbeats: 0,
        console: String::new(),
        duration_ms: 0,
    };
    let send = |input: &mut Option<std::process::ChildStdin>| -> bool {
        input.as_mut().is_some_and(|stdin| {
            stdin
                .write_all(format!("{}\n", scenario.command).as_bytes())
                .and_then(|()| stdin.flush())
                .is_ok()
        })
    };
    let waiting_for = |waiting: Waiting| match waiting {
        Waiting::Fault => format!("`{}`", scenario.fault.as_str()),
        Waiting::Back if scenario.expect_stopped => format!(
            "`{}` or `{}`",
            scenario.ready.as_str(),
            scenario.stopped.as_str()
        ),
        Waiting::Ready | Waiting::Back => format!("`{}`", scenario.ready.as_str()),
        Waiting::Heartbeat => format!("`{}` after the fault", scenario.heartbeat.as_str()),
    };
    let budget = scenario.boot_within
        + (scenario.restart_within * 2) * (scenario.crashes + 1)
        + scenario.max_gap * 2;
    let booted = guest.watch(budget, &mut |bytes| {
        let now = Instant::now();
        text.push_str(&String::from_utf8_lossy(bytes).replace('\r', ""));
        let end = text.rfind('\n').map_or(done_lines, |i| i + 1);
        let lines: Vec<String> = text[done_lines..end].lines().map(str::to_owned).collect();
        done_lines = end;
        for line in lines {
            let beat = scenario.heartbeat.is_match(&line);
            if beat {
                outcome.heartbeats += 1;
                if let (Some(last), Some(_)) = (last_beat, first_crash) {
                    outcome.max_gap_ms = outcome.max_gap_ms.max(ms(now - last));
                }
                last_beat = Some(now);
                if waiting == Waiting::Heartbeat {
                    return Flow::Stop;
                }
            } else if waiting == Waiting::Ready && scenario.ready.is_match(&line) {
                skill_ready = true;
            }
            match waiting {
                // Crash only once the skill is up and the Brain beats, so that the pause
                // the crash causes (if any) shows as a gap between two heartbeats.
                Waiting::Ready if skill_ready && last_beat.is_some() => {
                    if !send(&mut input) {
                        outcome.failure = Some("could not type on the guest's console".into());
                        return Flow::Stop;
                    }
                    crashes_sent = 1;
                    crashed_at = now;
                    first_crash = Some(now);
                    waiting = Waiting::Fault;
                    deadline = now + scenario.restart_within;
                }
                Waiting::Fault if scenario.fault.is_match(&line) => {
                    waiting = Waiting::Back;
                    deadline = crashed_at + scenario.restart_within;
                }
                Waiting::Back if scenario.stopped.is_match(&line) => {
                    if scenario.expect_stopped && crashes_sent == scenario.crashes {
                        waiting = Waiting::Heartbeat;
                        deadline = now + scenario.max_gap;
                    } else {
                        outcome.failure = Some(format!("the police stopped the skill after {crashes_sent} crash(es), before its restart limit"));
                        return Flow::Stop;
                    }
                }
                Waiting::Back if scenario.ready.is_match(&line) => {
                    outcome.restarts_ms.push(ms(now - crashed_at));
                    if crashes_sent < scenario.crashes {
                        if !send(&mut input) {
                            outcome.failure = Some("could not type on the guest's console".into());
                            return Flow::Stop;
                        }
                        crashes_sent += 1;
                        crashed_at = now;
                        waiting = Waiting::Fault;
                        deadline = now + scenario.restart_within;
                    } else if scenario.expect_stopped {
                        outcome.failure = Some(format!("the skill came back after crash {crashes_sent}, past its restart limit"));
                        return Flow::Stop;
                    } else {
                        waiting = Waiting::Heartbeat;
                        deadline = now + scenario.max_gap;
                    }
                }
                _ => {}
            }
        }
        if let (Some(last), Some(_)) = (last_beat, first_crash)
            && now - last > scenario.max_gap
        {
            outcome.failure = Some(format!("the Brain's heartbeat stopped for more than {} ms", scenario.max_gap.as_millis()));
            return Flow::Stop;
        }
        if now > deadline {
            outcome.failure = Some(if waiting == Waiting::Heartbeat {
                format!("the Brain's heartbeat stopped for more than {} ms", scenario.max_gap.as_millis())
            } else {
                format!("{} did not appear in time", waiting_for(waiting))
            });
            return Flow::Stop;
        }
        Flow::Continue
    })?;
    if outcome.failure.is_none() && waiting != Waiting::Heartbeat {
        outcome.failure = Some(format!(
            "the guest stopped while waiting for {}",
            waiting_for(waiting)
        ));
    }
    if outcome.failure.is_none() && outcome.max_gap_ms > ms(scenario.max_gap) {
        outcome.failure = Some(format!(
            "the Brain's heartbeat paused for {:.0} ms (at most {} ms allowed)",
            outcome.max_gap_ms,
            scenario.max_gap.as_millis()
        ));
    }
    outcome.console = booted.console;
    outcome.duration_ms = u64::try_from(booted.duration.as_millis()).unwrap_or(u64::MAX);
    Ok(outcome)
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
