//! `boot-latency`: boot times of a floor kernel (the least a guest can do on this machine),
//! the system and every skill, cold (a fresh QEMU) and warm (resumed from a paused VM), each
//! held to its skill's `boot-budget`: **a budget holds when the warm p90 is within it and
//! every boot reached its marker.**
//!
//! A skill that the system's police starts (seL4) is timed by the police instead, with the
//! board's generic timer, from its start call to the skill's ready notification: cold is its
//! first start in a fresh system (a lazy one when asked on the console), warm its restart
//! after a crash (when `[tests.faults]` crashes it). Its budget holds on the warm p90, or the
//! cold one when no restart is timed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hive_manifest::{Manifest, Target};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use serde_json::json;

use super::{Bench, Boot, Event, SuiteError, write_error};
use crate::AccelChoice;
use crate::latency::{Mode, Stats, measure};
use crate::report::{SuiteReport, Written};

/// How long one boot may take to reach its marker before it counts as not ready.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// One image's boot times.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    pub name: String,
    pub machine: String,
    pub accel: AccelChoice,
    pub marker: String,
    pub budget_ms: Option<f64>,
    pub cold: Option<Stats>,
    pub warm: Option<Stats>,
    /// Medians over the floor's, same mode.
    pub cold_over_floor: Option<f64>,
    pub warm_over_floor: Option<f64>,
    pub missed: usize,
    pub within_budget: bool,
    /// Whose clock: `host` (from QEMU's start or resume to the marker) or `police` (the
    /// guest's generic timer, from the police's start of the skill to its ready).
    pub clock: &'static str,
    #[serde(skip)]
    pub samples: (Vec<f64>, Vec<f64>),
}

impl Measured {
    /// The budget rule.
    fn holds(budget_ms: Option<f64>, warm: Option<&Stats>, missed: usize) -> bool {
        missed == 0 && budget_ms.is_none_or(|b| warm.is_some_and(|w| w.p90_ms <= b))
    }
}

#[derive(Clone, Debug)]
pub struct LatencyReport {
    pub hive: String,
    pub target: String,
    pub runs: usize,
    /// The floor first, then the boots in the order given.
    pub images: Vec<Measured>,
}

/// Time `runs` cold and `runs` warm boots of the floor kernel and of each boot.
pub fn boot_latency(
    bench: &Bench<'_>,
    manifest: &Manifest,
    boots: Vec<Boot>,
    runs: usize,
) -> Result<LatencyReport, SuiteError> {
    let smoke = manifest
        .tests
        .smoke
        .as_ref()
        .ok_or_else(|| SuiteError::NoSection {
            manifest: manifest.file.clone(),
            section: "smoke",
        })?;
    let scratch = tempfile::tempdir().map_err(write_error(Path::new("a scratch folder")))?;
    let floor = scratch.path().join("floor.elf");
    let target = bench.target;
    std::fs::write(
        &floor,
        crate::floor::floor_kernel(target.arch, &target.board),
    )
    .map_err(write_error(&floor))?;

    let mut timed = Vec::new();
    let mut police = Vec::new();
    for boot in boots {
        if boot.police.is_some() {
            police.push(boot);
            continue;
        }
        let (marker, budget) = match &boot.skill {
            None => (smoke.kernel.last(), None),
            // Inside the system's boot (seL4) the time includes the whole system's boot: a
            // figure to watch, not one to hold to the skill's own boot budget.
            Some(skill) => (
                smoke.skill_ready(skill),
                manifest.skills[skill]
                    .boot_budget
                    .filter(|_| !boot.in_system),
            ),
        };
        let marker = marker.ok_or_else(|| SuiteError::NoMarker {
            boot: boot.name.clone(),
        })?;
        let (machine, accel) = bench.boot_machine(&boot, Some(marker.pattern.as_str()))?;
        timed.push(Timed {
            boot,
            machine,
            accel,
            marker: marker.pattern.clone(),
            budget,
        });
    }

    let floors = floors(target, &floor, &timed)?;
    let floor_count = floors.len();
    let mut images: Vec<Measured> = Vec::new();
    for t in floors.into_iter().chain(timed) {
        images.push(time_boot(bench, t, runs)?);
    }
    over_floor(&mut images, floor_count);
    let up = smoke.kernel.last().ok_or_else(|| SuiteError::NoMarker {
        boot: "kernel".into(),
    })?;
    for boot in police {
        let budget = boot
            .skill
            .as_ref()
            .and_then(|skill| manifest.skills[skill].boot_budget);
        images.push(time_police_start(
            bench,
            boot,
            up.pattern.regex(),
            budget,
            runs,
        )?);
    }
    Ok(LatencyReport {
        hive: manifest.hive.name.clone(),
        target: target.name.clone(),
        runs,
        images,
    })
}

/// The floor, under each accelerator an image boots with: a ratio compares like with like.
fn floors(target: &Target, image: &Path, timed: &[Timed]) -> Result<Vec<Timed>, SuiteError> {
    let mut accels: Vec<&AccelChoice> = Vec::new();
    for t in timed {
        if !accels.iter().any(|a| a.accel == t.accel.accel) {
            accels.push(&t.accel);
        }
    }
    accels
        .iter()
        .map(|&accel| {
            let name = if accels.len() == 1 {
                "floor".to_owned()
            } else {
                format!("floor-{}", accel_name(accel.accel))
            };
            Ok(Timed {
                boot: Boot {
                    name,
                    image: image.to_owned(),
                    skill: None,
                    in_system: false,
                    extra: Vec::new(),
                    tcg_extra: Vec::new(),
                    police: None,
                },
                machine: crate::machine_for(target, accel.accel)?,
                accel: accel.clone(),
                marker: hive_manifest::model::Pattern::literal(crate::floor::FLOOR_MARKER),
                budget: None,
            })
        })
        .collect()
}

/// Each image's medians over those of the floor (the first `floors` images) of its
/// accelerator.
fn over_floor(images: &mut [Measured], floors: usize) {
    let medians: Vec<(crate::Accel, Option<f64>, Option<f64>)> = images[..floors]
        .iter()
        .map(|m| {
            (
                m.accel.accel,
                m.cold.as_ref().map(|s| s.median_ms),
                m.warm.as_ref().map(|s| s.median_ms),
            )
        })
        .collect();
    for entry in images.iter_mut() {
        let Some(&(_, cold, warm)) = medians.iter().find(|f| f.0 == entry.accel.accel) else {
            continue;
        };
        entry.cold_over_floor = entry.cold.as_ref().zip(cold).map(|(s, f)| s.median_ms / f);
        entry.warm_over_floor = entry.warm.as_ref().zip(warm).map(|(s, f)| s.median_ms / f);
    }
}

/// One image to time, on the machine chosen for it.
struct Timed {
    boot: Boot,
    machine: crate::Machine,
    accel: AccelChoice,
    marker: hive_manifest::model::Pattern,
    budget: Option<Duration>,
}

fn accel_name(accel: crate::Accel) -> &'static str {
    match accel {
        crate::Accel::Kvm => "kvm",
        crate::Accel::Tcg => "tcg",
    }
}

/// `runs` cold and `runs` warm boots of one image, held to its budget.
fn time_boot(bench: &Bench<'_>, timed: Timed, runs: usize) -> Result<Measured, SuiteError> {
    let Timed {
        boot,
        machine,
        accel,
        marker,
        budget,
    } = timed;
    let marker = &marker;
    bench.report(&Event::Booting {
        suite: "boot-latency",
        case: &boot.name,
        machine: &machine.description,
    });
    let pattern = marker.regex();
    let (cold, cold_missed) = measure(
        Mode::Cold,
        &machine,
        &boot.image,
        pattern,
        runs,
        BOOT_TIMEOUT,
    )?;
    let (warm, warm_missed) = measure(
        Mode::Warm,
        &machine,
        &boot.image,
        pattern,
        runs,
        BOOT_TIMEOUT,
    )?;
    let budget_ms = budget.map(|b| b.as_secs_f64() * 1000.0);
    Ok(finish(
        bench,
        Timing {
            name: boot.name,
            machine: &machine,
            accel,
            marker: marker.as_str().to_owned(),
            budget_ms,
            samples: (cold, warm),
            missed: cold_missed + warm_missed,
            clock: "host",
        },
        true,
        |_, warm| {
            warm.map_or_else(
                || "no warm boot reached its marker".to_owned(),
                |w| format!("warm median {:.1} ms", w.median_ms),
            )
        },
    ))
}

/// One image's samples, before their statistics.
struct Timing<'a> {
    name: String,
    machine: &'a crate::Machine,
    accel: AccelChoice,
    marker: String,
    budget_ms: Option<f64>,
    samples: (Vec<f64>, Vec<f64>),
    missed: usize,
    clock: &'static str,
}

/// The statistics of `timing`, held to its budget on the warm p90 (`on_warm`) or the cold
/// one, and reported with `detail` (of the cold and warm statistics).
fn finish(
    bench: &Bench<'_>,
    timing: Timing<'_>,
    on_warm: bool,
    detail: impl FnOnce(Option<&Stats>, Option<&Stats>) -> String,
) -> Measured {
    let (cold, warm) = timing.samples;
    let (cold_stats, warm_stats) = (Stats::of(&cold), Stats::of(&warm));
    let held = if on_warm { &warm_stats } else { &cold_stats };
    let within_budget = Measured::holds(timing.budget_ms, held.as_ref(), timing.missed);
    let detail = detail(cold_stats.as_ref(), warm_stats.as_ref());
    bench.report(&Event::Finished {
        suite: "boot-latency",
        case: &timing.name,
        passed: within_budget,
        detail: &detail,
    });
    Measured {
        name: timing.name,
        machine: timing.machine.description.clone(),
        accel: timing.accel,
        marker: timing.marker,
        budget_ms: timing.budget_ms,
        cold: cold_stats,
        warm: warm_stats,
        cold_over_floor: None,
        warm_over_floor: None,
        missed: timing.missed,
        within_budget,
        clock: timing.clock,
        samples: (cold, warm),
    }
}

/// `runs` boots of a system whose police starts `boot`'s skill: its first start (cold) and,
/// when a crash command is given, its restart (warm), as the police timed them.
fn time_police_start(
    bench: &Bench<'_>,
    boot: Boot,
    up: &regex::Regex,
    budget: Option<Duration>,
    runs: usize,
) -> Result<Measured, SuiteError> {
    let start = boot.police.clone().expect("a boot the police starts");
    let (machine, accel) = bench.boot_machine(&boot, Some(up.as_str()))?;
    bench.report(&Event::Booting {
        suite: "boot-latency",
        case: &boot.name,
        machine: &machine.description,
    });
    let (mut cold, mut warm, mut missed) = (Vec::new(), Vec::new(), 0);
    let mut failure = None;
    for _ in 0..runs {
        let spawned = crate::spawn::spawn_times(&machine, &boot.image, up, &start, BOOT_TIMEOUT)?;
        cold.extend(spawned.first_ms);
        warm.extend(spawned.restart_ms);
        if let Some(why) = spawned.failure {
            missed += 1;
            failure.get_or_insert(why);
        }
    }
    Ok(finish(
        bench,
        Timing {
            name: boot.name,
            machine: &machine,
            accel,
            marker: start.timed.as_str().to_owned(),
            budget_ms: budget.map(|b| b.as_secs_f64() * 1000.0),
            samples: (cold, warm),
            missed,
            clock: "police",
        },
        start.crash.is_some(),
        |cold, _| match (failure, cold) {
            (Some(why), _) => why,
            (None, Some(c)) => format!("first start median {:.2} ms (police's timer)", c.median_ms),
            (None, None) => "no start timed".into(),
        },
    ))
}

impl SuiteReport for LatencyReport {
    fn suite(&self) -> &'static str {
        "boot-latency"
    }

    fn document(&self) -> serde_json::Value {
        json!({"suite": "boot-latency", "hive": self.hive, "target": self.target, "runs": self.runs, "images": self.images})
    }

    fn transcripts(&mut self, _dir: &Path) -> Vec<(PathBuf, String)> {
        Vec::new()
    }

    fn plot(&self, path: &Path) -> Option<Result<(), String>> {
        let series: Vec<crate::plot::Series<'_>> = self
            .images
            .iter()
            .map(|m| crate::plot::Series {
                name: &m.name,
                cold: &m.samples.0,
                warm: &m.samples.1,
                budget_ms: m.budget_ms,
            })
            .collect();
        let title = format!(
            "{} on {}: boot latency, {} runs each ({})",
            self.hive, self.target, self.runs, self.images[0].machine
        );
        Some(crate::plot::write_svg(path, &title, &series))
    }

    fn junit(&self) -> Report {
        let mut suite = TestSuite::new(format!("{}-{}-boot-latency", self.hive, self.target));
        for m in &self.images {
            let status = if m.within_budget {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let warm = m.warm.as_ref().map_or(0.0, |w| w.p90_ms);
                status.set_message(format!(
                    "warm p90 {warm:.1} ms, budget {:.0} ms, {} boots not ready",
                    m.budget_ms.unwrap_or(0.0),
                    m.missed
                ));
                status
            };
            let mut case = TestCase::new(m.name.clone(), status);
            case.set_classname(format!("{}.boot-latency", self.target));
            suite.add_test_case(case);
        }
        let mut report = Report::new("hivebuild boot-latency");
        report.add_test_suite(suite);
        report
    }

    fn to_text(&self, written: &Written) -> String {
        let cell = |stats: &Option<Stats>| {
            stats.as_ref().map_or_else(
                || format!("{:>17}", "-"),
                |s| format!("{:>8.1} {:>8.1}", s.median_ms, s.p99_ms),
            )
        };
        let mut text = format!(
            "boot latency, {} runs per mode; ms, median and p99 (warm: from resume)\n",
            self.runs
        );
        if self.images.iter().any(|m| m.clock == "police") {
            text.push_str(
                "  (police: the skill's start by the police to its ready, by the guest's generic timer;\n   cold: its first start, warm: its restart after a crash)\n",
            );
        }
        let _ = writeln!(
            text,
            "  {:<12} {:>17} {:>17} {:>7} {:>7}  budget",
            "image", "cold", "warm", "cold/fl", "warm/fl"
        );
        for m in &self.images {
            let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"));
            let budget = match m.budget_ms {
                Some(b) if m.within_budget => format!("{b:.0} ms ok"),
                Some(b) => format!("{b:.0} ms MISSED"),
                None if m.missed > 0 => "not ready".to_owned(),
                None => String::new(),
            };
            let _ = writeln!(
                text,
                "  {:<12} {} {} {:>7} {:>7}  {budget}{}",
                m.name,
                cell(&m.cold),
                cell(&m.warm),
                ratio(m.cold_over_floor),
                ratio(m.warm_over_floor),
                if m.clock == "police" { " (police)" } else { "" }
            );
        }
        // One line per machine, naming its images (a floor is timed on each).
        let mut machines: Vec<(&Measured, Vec<&str>)> = Vec::new();
        for m in &self.images {
            match machines
                .iter_mut()
                .find(|(first, _)| first.machine == m.machine)
            {
                Some((_, names)) => names.push(&m.name),
                None => machines.push((m, vec![&m.name])),
            }
        }
        for (first, names) in machines {
            let _ = writeln!(
                text,
                "machine: {} ({}): {}",
                first.machine,
                first.accel.reason,
                names.join(", ")
            );
        }
        let _ = writeln!(
            text,
            "report `{}`, JUnit `{}`, plot `{}`",
            written.json.display(),
            written.junit.display(),
            written.plot.as_deref().unwrap_or(Path::new("-")).display()
        );
        text
    }

    fn verdict(&self, _written: &Written) -> Result<(), SuiteError> {
        let over: Vec<&str> = self
            .images
            .iter()
            .filter(|m| !m.within_budget)
            .map(|m| m.name.as_str())
            .collect();
        if over.is_empty() {
            return Ok(());
        }
        Err(SuiteError::Failed {
            message: format!("over budget or not ready: `{}`", over.join("`, `")),
            hint: "a budget holds when the warm p90 is within it and every boot reached its marker"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Measured, Stats};

    #[test]
    fn a_budget_holds_on_the_warm_p90_when_every_boot_was_ready() {
        let warm = Stats::of(&(1..=10).map(f64::from).collect::<Vec<_>>()).unwrap();
        assert!(Measured::holds(Some(9.0), Some(&warm), 0));
        assert!(!Measured::holds(Some(8.9), Some(&warm), 0));
        assert!(!Measured::holds(Some(100.0), Some(&warm), 1));
        assert!(Measured::holds(None, None, 0));
        assert!(!Measured::holds(Some(100.0), None, 0));
    }
}
