//! Boot latency: the time from spawning a guest to its ready marker, measured two ways.
//!
//! - **cold**: from starting the QEMU process (what starting a skill from nothing costs);
//! - **warm**: QEMU is started paused (`-S`) with the image loaded, then resumed over QMP;
//!   the clock runs from `cont` (how a runtime that keeps a guest ready loads a skill).
//!
//! Each QMP socket lives in its own temporary folder, so runs can go in parallel.

use std::path::Path;
use std::time::{Duration, Instant};

use regex::Regex;
use serde::Serialize;

use crate::qmp;
use crate::{Flow, Guest, Machine, QemuError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Cold,
    Warm,
}

/// min, median, p90, p99 and max of a set of samples, in milliseconds (nearest rank).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub runs: usize,
    pub min_ms: f64,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |percent: usize| {
            sorted[((sorted.len() * percent).div_ceil(100)).clamp(1, sorted.len()) - 1]
        };
        Some(Self {
            runs: sorted.len(),
            min_ms: sorted[0],
            median_ms: rank(50),
            p90_ms: rank(90),
            p99_ms: rank(99),
            max_ms: sorted[sorted.len() - 1],
        })
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Watch a started guest until `marker` appears; the time from `since` to then.
fn until_marker(
    guest: Guest,
    marker: &Regex,
    since: Instant,
    timeout: Duration,
) -> Result<Option<Duration>, QemuError> {
    let mut text = String::new();
    let mut seen = None;
    guest.watch(timeout, &mut |bytes| {
        text.push_str(&String::from_utf8_lossy(bytes));
        if marker.is_match(&text) {
            seen = Some(since.elapsed());
            Flow::Stop
        } else {
            Flow::Continue
        }
    })?;
    Ok(seen)
}

/// One cold boot: process start to marker. `None` when the marker never came.
pub fn cold(
    machine: &Machine,
    image: &Path,
    marker: &Regex,
    timeout: Duration,
) -> Result<Option<Duration>, QemuError> {
    let started = Instant::now();
    let guest = Guest::spawn(machine, image, &[])?;
    until_marker(guest, marker, started, timeout)
}

/// One warm boot: a paused guest resumed over QMP; `cont` to marker.
pub fn warm(
    machine: &Machine,
    image: &Path,
    marker: &Regex,
    timeout: Duration,
) -> Result<Option<Duration>, QemuError> {
    let socket = qmp::Socket::new()?;
    let guest = Guest::spawn(machine, image, &socket.paused_args())?;
    let mut qmp = socket.connect(Duration::from_secs(10))?;
    let started = Instant::now();
    qmp.send("cont")?;
    until_marker(guest, marker, started, timeout)
}

/// `runs` boots in one mode; returns the times of those that reached the marker and how many
/// did not.
pub fn measure(
    mode: Mode,
    machine: &Machine,
    image: &Path,
    marker: &Regex,
    runs: usize,
    timeout: Duration,
) -> Result<(Vec<f64>, usize), QemuError> {
    let mut samples = Vec::with_capacity(runs);
    let mut missed = 0;
    for _ in 0..runs {
        let time = match mode {
            Mode::Cold => cold(machine, image, marker, timeout)?,
            Mode::Warm => warm(machine, image, marker, timeout)?,
        };
        match time {
            Some(time) => samples.push(ms(time)),
            None => missed += 1,
        }
    }
    Ok((samples, missed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_statistics() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let stats = Stats::of(&samples).unwrap();
        assert_eq!(
            (
                stats.min_ms,
                stats.median_ms,
                stats.p90_ms,
                stats.p99_ms,
                stats.max_ms
            ),
            (1.0, 50.0, 90.0, 99.0, 100.0)
        );
        let one = Stats::of(&[7.0]).unwrap();
        assert_eq!((one.median_ms, one.p99_ms), (7.0, 7.0));
        assert_eq!(Stats::of(&[]), None);
        let few = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((few.min_ms, few.median_ms, few.max_ms), (1.0, 2.0, 3.0));
    }
}
