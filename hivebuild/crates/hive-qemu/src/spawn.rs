//! Skills that a system's police starts (seL4): the police stops every skill before it runs,
//! starts it (a lazy one when asked), and times each start with the board's generic timer,
//! from its start call to the skill's ready notification. A boot here reads that figure off
//! the console: the skill's own start, not the system's boot around it.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use regex::Regex;

use crate::{Flow, Guest, Machine, QemuError};

/// How the police starts one skill, and where it says how long that took.
#[derive(Clone, Debug)]
pub struct PoliceStart {
    /// Typed on the console to have the skill started (a lazy skill); `None`: the police
    /// starts it at boot.
    pub ask: Option<String>,
    /// The police's line with the start's time in microseconds (capture group 1).
    pub timed: Regex,
    /// Typed on the console to crash the skill, to time its restart too (`None`: no restart).
    pub crash: Option<String>,
}

/// What one boot measured, in milliseconds by the guest's timer.
#[derive(Clone, Debug, Default)]
pub struct Spawned {
    pub first_ms: Option<f64>,
    pub restart_ms: Option<f64>,
    /// Why a figure is missing.
    pub failure: Option<String>,
    pub console: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// For `up`, the system's last boot marker: then the console takes commands.
    Up,
    First,
    Restart,
}

/// Boot `image`, wait for `up`, have the skill started (and restarted) as `start` says, and
/// read the police's times; give up after `within`.
pub fn spawn_times(
    machine: &Machine,
    image: &Path,
    up: &Regex,
    start: &PoliceStart,
    within: Duration,
) -> Result<Spawned, QemuError> {
    let mut guest = Guest::spawn(machine, image, &[])?;
    let mut input = guest.take_input();
    let mut type_line = |line: &str| {
        input.as_mut().is_some_and(|stdin| {
            stdin
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|()| stdin.flush())
                .is_ok()
        })
    };
    let mut out = Spawned::default();
    let mut waiting = Waiting::Up;
    let mut text = String::new();
    let mut done = 0;
    let booted = guest.watch(within, &mut |bytes| {
        text.push_str(&String::from_utf8_lossy(bytes).replace('\r', ""));
        let end = text.rfind('\n').map_or(done, |i| i + 1);
        let lines: Vec<String> = text[done..end].lines().map(str::to_owned).collect();
        done = end;
        for line in lines {
            let micros = start
                .timed
                .captures(&line)
                .and_then(|c| c.get(1)?.as_str().parse::<f64>().ok());
            if waiting == Waiting::Up && up.is_match(&line) {
                waiting = Waiting::First;
                if let Some(ask) = &start.ask
                    && !type_line(ask)
                {
                    out.failure = Some("could not type on the guest's console".into());
                    return Flow::Stop;
                }
            }
            let Some(micros) = micros else { continue };
            if out.first_ms.is_none() {
                out.first_ms = Some(micros / 1000.0);
                match &start.crash {
                    Some(crash) if type_line(crash) => waiting = Waiting::Restart,
                    Some(_) => {
                        out.failure = Some("could not type on the guest's console".into());
                        return Flow::Stop;
                    }
                    None => return Flow::Stop,
                }
            } else if waiting == Waiting::Restart {
                out.restart_ms = Some(micros / 1000.0);
                return Flow::Stop;
            }
        }
        Flow::Continue
    })?;
    let missing = match waiting {
        _ if out.failure.is_some() => None,
        Waiting::Up => Some(format!("`{}` did not appear", up.as_str())),
        Waiting::First if out.first_ms.is_none() => Some(format!(
            "`{}` did not appear{}",
            start.timed.as_str(),
            start
                .ask
                .as_deref()
                .map_or_else(String::new, |a| format!(" after typing `{a}`"))
        )),
        Waiting::Restart if out.restart_ms.is_none() => Some(format!(
            "`{}` did not appear again after typing `{}`",
            start.timed.as_str(),
            start.crash.as_deref().unwrap_or_default()
        )),
        _ => None,
    };
    out.failure = out.failure.or(missing);
    out.console = booted.console;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // `sh -c SCRIPT` plays a police on the system's console.
    use crate::expect::tests::guest as police;

    fn start(ask: Option<&str>, crash: Option<&str>) -> PoliceStart {
        PoliceStart {
            ask: ask.map(str::to_owned),
            timed: Regex::new(r"police: pdf ready in (\d+) us").unwrap(),
            crash: crash.map(str::to_owned),
        }
    }

    #[test]
    fn the_first_start_and_the_restart_are_read_off_the_police_lines() {
        // Each start happens only once its command was typed.
        let script = "echo 'police: ready'; read ask; [ \"$ask\" = 'ask pdf' ] || exit 1; \
            echo 'police: pdf ready in 1500 us'; read crash; [ \"$crash\" = 'crash pdf' ] || exit 1; \
            echo 'police: pdf ready in 500 us'; exec sleep 30";
        let up = Regex::new("police: ready").unwrap();
        let spawned = spawn_times(
            &police(script),
            Path::new("/dev/null"),
            &up,
            &start(Some("ask pdf"), Some("crash pdf")),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(spawned.failure, None, "{}", spawned.console);
        assert_eq!(spawned.first_ms, Some(1.5));
        assert_eq!(spawned.restart_ms, Some(0.5));
    }

    #[test]
    fn a_start_that_never_comes_says_what_was_awaited() {
        let spawned = spawn_times(
            &police("echo 'police: ready'; exec sleep 30"),
            Path::new("/dev/null"),
            &Regex::new("police: ready").unwrap(),
            &start(Some("ask pdf"), None),
            Duration::from_millis(500),
        )
        .unwrap();
        assert_eq!(spawned.first_ms, None);
        let why = spawned.failure.unwrap();
        assert!(why.contains("after typing `ask pdf`"), "{why}");
    }
}
