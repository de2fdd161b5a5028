//! Expectations on a serial console, the way Genode's run scripts wait for output: markers
//! (regular expressions) in order, each within its time after the one before; patterns that
//! fail a boot at once; the whole transcript kept.

use std::path::Path;
use std::time::{Duration, Instant};

use regex::Regex;
use serde::Serialize;

use std::io::Write as _;

use crate::{Flow, Guest, Machine, QemuError};

/// What to expect of one boot.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub markers: Vec<(Regex, Duration)>,
    pub fail: Vec<Regex>,
    /// Lines typed on the console once the marker at that index has appeared (a request
    /// that makes the next markers happen: seL4's `ask <skill>`).
    pub typed: Vec<(usize, String)>,
}

impl Expectation {
    /// Build from patterns; they were validated with the manifest, so a bad one is a bug.
    pub fn new(markers: &[(String, Duration)], fail: &[String]) -> Result<Self, regex::Error> {
        Ok(Self {
            markers: markers
                .iter()
                .map(|(p, d)| Ok((Regex::new(p)?, *d)))
                .collect::<Result<_, regex::Error>>()?,
            fail: fail
                .iter()
                .map(|p| Regex::new(p))
                .collect::<Result<_, _>>()?,
            typed: Vec::new(),
        })
    }

    /// The longest a boot can take before every marker is due.
    pub fn budget(&self) -> Duration {
        self.markers.iter().map(|(_, d)| *d).sum::<Duration>() + Duration::from_secs(1)
    }
}

/// A marker that was seen, and when (from the start of the boot).
#[derive(Clone, Debug, Serialize)]
pub struct Reached {
    pub marker: String,
    pub at_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    /// A marker did not appear in time.
    Timeout { marker: String, waited_ms: u64 },
    /// A fail pattern appeared.
    FailPattern { pattern: String, line: String },
    /// The guest stopped before every marker appeared (`qemu`: the last thing QEMU itself said).
    Exited {
        marker: String,
        status: Option<i32>,
        qemu: String,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout { marker, waited_ms } => {
                write!(f, "`{marker}` did not appear within {waited_ms} ms")
            }
            Self::FailPattern { pattern, line } => {
                write!(f, "fail pattern `{pattern}` appeared: {line}")
            }
            Self::Exited {
                marker,
                status,
                qemu,
            } => {
                match status {
                    Some(code) => write!(
                        f,
                        "the guest stopped (exit status {code}) before `{marker}`"
                    )?,
                    None => write!(f, "the guest stopped before `{marker}`")?,
                }
                if qemu.is_empty() {
                    Ok(())
                } else {
                    write!(f, "; QEMU said: {qemu}")
                }
            }
        }
    }
}

/// The outcome of one checked boot.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub reached: Vec<Reached>,
    pub failure: Option<Failure>,
    /// Kept in a transcript file next to the report, not in it.
    #[serde(skip)]
    pub console: String,
    pub duration_ms: u64,
}

impl Checked {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The last lines of the console, for messages.
    pub fn tail(&self, lines: usize) -> String {
        tail(&self.console, lines)
    }
}

/// The last `lines` lines of a console transcript.
pub fn tail(console: &str, lines: usize) -> String {
    let all: Vec<&str> = console.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Boot `image` and hold its console to `expectation`. The guest is stopped as soon as every
/// marker has appeared, a fail pattern appears, or a marker is late.
pub fn check(
    machine: &Machine,
    image: &Path,
    expectation: &Expectation,
) -> Result<Checked, QemuError> {
    let started = Instant::now();
    let mut text = String::new();
    let mut scanned = 0; // where the next marker is searched from
    let mut lines_checked = 0; // bytes of `text` already checked against fail patterns
    let mut next = 0;
    let mut since = Duration::ZERO;
    let mut reached = Vec::new();
    let mut failure = None;
    let mut guest = Guest::spawn(machine, image, &[])?;
    let mut input = guest.take_input();
    let booted = guest.watch(
        expectation.budget() + Duration::from_secs(2),
        &mut |bytes| {
            let now = started.elapsed();
            text.push_str(&String::from_utf8_lossy(bytes).replace('\r', ""));
            // Fail patterns, on every complete line not yet checked.
            if let Some(end) = text
                .rfind('\n')
                .map(|i| i + 1)
                .filter(|end| *end > lines_checked)
            {
                for line in text[lines_checked..end].lines() {
                    if let Some(pattern) = expectation.fail.iter().find(|p| p.is_match(line)) {
                        failure = Some(Failure::FailPattern {
                            pattern: pattern.as_str().to_owned(),
                            line: line.to_owned(),
                        });
                        return Flow::Stop;
                    }
                }
                lines_checked = end;
            }
            // Markers, in order; several may arrive in one chunk.
            while let Some((marker, within)) = expectation.markers.get(next) {
                match marker.find(&text[scanned..]) {
                    Some(found) => {
                        scanned += found.end();
                        since = now;
                        reached.push(Reached {
                            marker: marker.as_str().to_owned(),
                            at_ms: ms(now),
                        });
                        for (_, line) in expectation.typed.iter().filter(|(at, _)| *at == next) {
                            let typed = input.as_mut().is_some_and(|stdin| {
                                stdin
                                    .write_all(format!("{line}\n").as_bytes())
                                    .and_then(|()| stdin.flush())
                                    .is_ok()
                            });
                            if !typed {
                                failure = Some(Failure::Exited {
                                    marker: marker.as_str().to_owned(),
                                    status: None,
                                    qemu: format!("could not type `{line}` on its console"),
                                });
                                return Flow::Stop;
                            }
                        }
                        next += 1;
                    }
                    None if now > since + *within => {
                        failure = Some(Failure::Timeout {
                            marker: marker.as_str().to_owned(),
                            waited_ms: ms(*within),
                        });
                        return Flow::Stop;
                    }
                    None => return Flow::Continue,
                }
            }
            Flow::Stop
        },
    )?;
    if failure.is_none()
        && let Some((marker, within)) = expectation.markers.get(next)
    {
        failure = Some(if booted.timed_out {
            Failure::Timeout {
                marker: marker.as_str().to_owned(),
                waited_ms: ms(*within),
            }
        } else {
            Failure::Exited {
                marker: marker.as_str().to_owned(),
                status: booted.status,
                qemu: booted
                    .qemu_messages
                    .lines()
                    .rev()
                    .find(|line| !line.contains("warning:"))
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            }
        });
    }
    Ok(Checked {
        reached,
        failure,
        console: booted.console,
        duration_ms: ms(booted.duration),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `sh -c SCRIPT` plays the guest: its stdout is the console, its stdin what is typed.
    pub(crate) fn guest(script: &str) -> Machine {
        Machine {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            powers_off: true,
            description: String::new(),
        }
    }

    fn expect(markers: &[(&str, u64)], fail: &[&str]) -> Expectation {
        let markers: Vec<(String, Duration)> = markers
            .iter()
            .map(|(p, ms)| ((*p).to_owned(), Duration::from_millis(*ms)))
            .collect();
        let fail: Vec<String> = fail.iter().map(|p| (*p).to_owned()).collect();
        Expectation::new(&markers, &fail).unwrap()
    }

    #[test]
    fn ordered_markers_pass_and_stop_the_guest() {
        let checked = check(
            &guest("echo one; sleep 0.1; echo two three; exec sleep 30"),
            Path::new("/dev/null"),
            &expect(&[("one", 2000), ("two", 2000), ("thr.e", 2000)], &["panic"]),
        )
        .unwrap();
        assert!(checked.passed(), "{:?}", checked.failure);
        assert_eq!(checked.reached.len(), 3);
        assert!(
            checked.duration_ms < 5000,
            "the guest was stopped once all markers appeared"
        );
    }

    #[test]
    fn a_typed_line_goes_in_once_its_marker_appeared() {
        let script = "echo up; read line; echo \"got $line\"; exec sleep 30";
        let mut expectation = expect(&[("up", 2000), ("got ask pdf", 2000)], &[]);
        expectation.typed = vec![(0, "ask pdf".into())];
        let checked = check(&guest(script), Path::new("/dev/null"), &expectation).unwrap();
        assert!(
            checked.passed(),
            "{:?}\n{}",
            checked.failure,
            checked.console
        );

        // Nothing typed: the guest waits, and the marker is late.
        let checked = check(
            &guest(script),
            Path::new("/dev/null"),
            &expect(&[("up", 2000), ("got ask pdf", 300)], &[]),
        )
        .unwrap();
        assert!(matches!(checked.failure, Some(Failure::Timeout { .. })));
    }

    #[test]
    fn markers_out_of_order_time_out_naming_the_marker() {
        let checked = check(
            &guest("echo two; echo one; exec sleep 30"),
            Path::new("/dev/null"),
            &expect(&[("one", 2000), ("two", 300)], &[]),
        )
        .unwrap();
        assert_eq!(
            checked.failure,
            Some(Failure::Timeout {
                marker: "two".into(),
                waited_ms: 300
            })
        );
        assert_eq!(checked.tail(1), "one");
    }

    #[test]
    fn a_fail_pattern_fails_at_once() {
        let checked = check(
            &guest("echo booting; echo 'Kernel panic: oops'; exec sleep 30"),
            Path::new("/dev/null"),
            &expect(
                &[("booting", 2000), ("ready", 20_000)],
                &["(?i)kernel panic"],
            ),
        )
        .unwrap();
        assert_eq!(
            checked.failure,
            Some(Failure::FailPattern {
                pattern: "(?i)kernel panic".into(),
                line: "Kernel panic: oops".into()
            })
        );
        assert!(checked.duration_ms < 5000, "not after the marker's 20 s");
    }

    #[test]
    fn a_guest_that_stops_early_is_reported() {
        let checked = check(
            &guest("echo booting; exit 3"),
            Path::new("/dev/null"),
            &expect(&[("booting", 2000), ("ready", 2000)], &[]),
        )
        .unwrap();
        assert_eq!(
            checked.failure,
            Some(Failure::Exited {
                marker: "ready".into(),
                status: Some(3),
                qemu: String::new()
            })
        );
        assert_eq!(
            checked.failure.unwrap().to_string(),
            "the guest stopped (exit status 3) before `ready`"
        );
    }
}
