//! `faults`: for each skill of `[tests.faults]`, crash it once (it must come back) and past
//! its restart limit (it must be stopped), each on a fresh boot of the system, with the
//! Brain's heartbeat watched throughout. Skills that boot as virtual machines of their own
//! (Unikraft) are faulted from outside instead: [`skill_faults`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hive_manifest::Manifest;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use serde_json::json;

use super::{Bench, Boot, Event, SuiteError};
use crate::AccelChoice;
use crate::faults::Outcome;
use crate::report::{SuiteReport, Written};

/// One fault scenario and how it went.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    pub name: String,
    pub passed: bool,
    pub outcome: Outcome,
}

#[derive(Clone, Debug)]
pub struct FaultsReport {
    pub hive: String,
    pub target: String,
    pub machine: String,
    pub accel: AccelChoice,
    pub scenarios: Vec<Scenario>,
}

/// Run every scenario of the manifest's `[tests.faults]` on boots of `system`.
pub fn faults(
    bench: &Bench<'_>,
    manifest: &Manifest,
    system: &Path,
) -> Result<FaultsReport, SuiteError> {
    let (faults, smoke) = sections(manifest)?;
    let first = smoke.kernel.first().map(|m| m.pattern.as_str());
    let (machine, accel) = bench.machine(system, first)?;
    let boot_within =
        smoke.kernel.iter().map(|m| m.within).sum::<Duration>() + Duration::from_secs(5);

    let mut scenarios = Vec::new();
    for skill in &faults.skills {
        let declared = &manifest.skills[&skill.name];
        let limit = declared.restarts_allowed();
        let scenario = |crashes: u32, expect_stopped: bool| crate::faults::Scenario {
            ready: skill.ready.regex().clone(),
            fault: skill.fault.regex().clone(),
            stopped: skill.stopped.regex().clone(),
            heartbeat: skill.heartbeat.regex().clone(),
            command: skill.command.clone(),
            crashes,
            expect_stopped,
            boot_within,
            restart_within: faults.restart_within,
            max_gap: faults.max_gap,
        };
        let mut planned = vec![(
            format!("{}-past-limit", skill.name),
            scenario(limit + 1, true),
        )];
        if limit > 0 {
            planned.insert(0, (format!("{}-restart", skill.name), scenario(1, false)));
        }
        for (name, scenario) in planned {
            bench.report(&Event::Booting {
                suite: "faults",
                case: &name,
                machine: &machine.description,
            });
            let outcome = crate::faults::run(&machine, system, &scenario)?;
            scenarios.push(finished(bench, name, outcome));
        }
    }
    Ok(FaultsReport {
        hive: manifest.hive.name.clone(),
        target: bench.target.name.clone(),
        machine: machine.description,
        accel,
        scenarios,
    })
}

/// Report how scenario `name` went, and keep it.
fn finished(bench: &Bench<'_>, name: String, outcome: Outcome) -> Scenario {
    let passed = outcome.failure.is_none();
    bench.report(&Event::Finished {
        suite: "faults",
        case: &name,
        passed,
        detail: outcome.failure.as_deref().unwrap_or("ok"),
    });
    Scenario {
        name,
        passed,
        outcome,
    }
}

/// Fault each skill of `[tests.faults]` that boots on its own (`boots`: the skills' boots)
/// `restart-limit` times (at least once), each fault followed by a fresh boot of its image
/// (`crate::skillfaults`).
pub fn skill_faults(
    bench: &Bench<'_>,
    manifest: &Manifest,
    boots: &[Boot],
) -> Result<FaultsReport, SuiteError> {
    let (faults, smoke) = sections(manifest)?;
    let mut scenarios = Vec::new();
    let mut machine_description = String::new();
    let mut accel = None;
    for skill in &faults.skills {
        let declared = &manifest.skills[&skill.name];
        let name = format!("{}-restart", skill.name);
        let boot = boots
            .iter()
            .find(|b| b.skill.as_deref() == Some(skill.name.as_str()));
        let (Some(boot), Some(fault)) = (boot, crate::skillfaults::Fault::of(declared)) else {
            let why = format!(
                "skill `{}` boots on its own but can be faulted neither through a UDP port nor through `channel:brain`",
                skill.name
            );
            scenarios.push(failed_scenario(name, why));
            continue;
        };
        let markers = smoke.skills.get(&skill.name);
        let boot_within = markers.map_or(Duration::ZERO, |m| m.iter().map(|m| m.within).sum())
            + Duration::from_secs(5);
        let (machine, choice) = bench.machine(&boot.image, Some(skill.ready.as_str()))?;
        machine_description.clone_from(&machine.description);
        let scenario = crate::skillfaults::SkillScenario {
            ready: skill.ready.regex().clone(),
            faults: match declared.restart {
                hive_manifest::model::Restart::Never => 1,
                _ => declared.restart_limit.max(1),
            },
            boot_within,
            restart_within: faults.restart_within,
        };
        bench.report(&Event::Booting {
            suite: "faults",
            case: &name,
            machine: &machine.description,
        });
        let target = crate::skillfaults::SkillBoot {
            machine: &machine,
            accel: choice.accel,
            target: bench.target,
            skill: declared,
            image: &boot.image,
            listened: None,
        };
        let outcome = crate::skillfaults::run(&target, fault, &scenario)?;
        accel.get_or_insert(choice);
        scenarios.push(finished(bench, name, outcome));
    }
    Ok(FaultsReport {
        hive: manifest.hive.name.clone(),
        target: bench.target.name.clone(),
        machine: machine_description,
        accel: accel.unwrap_or(AccelChoice {
            accel: crate::Accel::Tcg,
            reason: "nothing was booted".to_owned(),
        }),
        scenarios,
    })
}

/// The sections fault injection reads: `[tests.faults]`, and `[tests.smoke]` for the boot's
/// markers.
fn sections(
    manifest: &Manifest,
) -> Result<(&hive_manifest::model::Faults, &hive_manifest::model::Smoke), SuiteError> {
    let missing = |section| SuiteError::NoSection {
        manifest: manifest.file.clone(),
        section,
    };
    let faults = manifest
        .tests
        .faults
        .as_ref()
        .ok_or_else(|| missing("faults"))?;
    let smoke = manifest
        .tests
        .smoke
        .as_ref()
        .ok_or_else(|| missing("smoke"))?;
    Ok((faults, smoke))
}

fn failed_scenario(name: String, why: String) -> Scenario {
    Scenario {
        name,
        passed: false,
        outcome: Outcome {
            failure: Some(why),
            ..Outcome::default()
        },
    }
}

impl FaultsReport {
    fn failed(&self) -> usize {
        self.scenarios.iter().filter(|s| !s.passed).count()
    }
}

impl SuiteReport for FaultsReport {
    fn suite(&self) -> &'static str {
        "faults"
    }

    fn document(&self) -> serde_json::Value {
        json!({
            "suite": "faults", "hive": self.hive, "target": self.target, "machine": self.machine, "accel": self.accel,
            "scenarios": self.scenarios,
        })
    }

    fn transcripts(&mut self, dir: &Path) -> Vec<(PathBuf, String)> {
        self.scenarios
            .iter()
            .map(|s| {
                let path = dir.join(format!("faults-{}.console.log", s.name));
                (path, s.outcome.console.clone())
            })
            .collect()
    }

    fn junit(&self) -> Report {
        let mut suite = TestSuite::new(format!("{}-{}-faults", self.hive, self.target));
        for scenario in &self.scenarios {
            let status = match &scenario.outcome.failure {
                None => TestCaseStatus::success(),
                Some(failure) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(failure.clone());
                    status
                }
            };
            let mut case = TestCase::new(scenario.name.clone(), status);
            case.set_classname(format!("{}.faults", self.target));
            case.set_system_out_lossy(scenario.outcome.console.as_bytes());
            suite.add_test_case(case);
        }
        let mut junit = Report::new("hivebuild faults");
        junit.add_test_suite(suite);
        junit
    }

    fn to_text(&self, written: &Written) -> String {
        let mut text = String::new();
        for Scenario { name, outcome, .. } in &self.scenarios {
            match &outcome.failure {
                None => {
                    let restarts: Vec<f64> =
                        outcome.restarts_ms.iter().map(|m| m.round()).collect();
                    // Skills faulted from outside have no Brain beating next to them.
                    let gap = if outcome.heartbeats > 0 {
                        format!(", longest heartbeat gap {:.0} ms", outcome.max_gap_ms)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(text, "{:>6}  {name}: restarts {restarts:?} ms{gap}", "pass");
                }
                Some(failure) => {
                    let _ = writeln!(text, "{:>6}  {name}: {failure}", "FAIL");
                    for line in crate::expect::tail(&outcome.console, 8).lines() {
                        let _ = writeln!(text, "        | {line}");
                    }
                }
            }
        }
        let _ = writeln!(
            text,
            "faults: {} passed, {} failed ({}); report `{}`, JUnit `{}`",
            self.scenarios.len() - self.failed(),
            self.failed(),
            self.machine,
            written.json.display(),
            written.junit.display()
        );
        text
    }

    fn verdict(&self, written: &Written) -> Result<(), SuiteError> {
        match self.failed() {
            0 => Ok(()),
            failed => Err(SuiteError::Failed {
                message: format!(
                    "{failed} of {} fault scenarios failed",
                    self.scenarios.len()
                ),
                hint: format!(
                    "each boot's whole console is in `{}`",
                    written.dir.display()
                ),
            }),
        }
    }
}
