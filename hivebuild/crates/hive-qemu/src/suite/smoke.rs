//! `smoke`: boot every image and hold its console to `[tests.smoke]`: markers in order, each
//! in its time, and no fail pattern.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hive_manifest::model::Smoke;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use serde_json::json;

use super::{Bench, Boot, Event, SuiteError};
use crate::AccelChoice;
use crate::expect::{Checked, Expectation};
use crate::report::{SuiteReport, Written};

/// One booted image and what became of it.
#[derive(Clone, Debug, Serialize)]
pub struct Case {
    pub name: String,
    pub image: PathBuf,
    pub machine: String,
    pub accel: AccelChoice,
    pub passed: bool,
    #[serde(flatten)]
    pub checked: Checked,
    pub transcript: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SmokeReport {
    pub suite: String,
    pub hive: String,
    pub target: String,
    pub cases: Vec<Case>,
}

/// Boot each image in turn and check its console.
pub fn smoke(
    bench: &Bench<'_>,
    smoke: &Smoke,
    boots: Vec<Boot>,
) -> Result<SmokeReport, SuiteError> {
    let mut report = SmokeReport {
        suite: "smoke".into(),
        hive: bench.hive.to_owned(),
        target: bench.target.name.clone(),
        cases: Vec::new(),
    };
    for boot in boots {
        let mut markers: Vec<&hive_manifest::model::Marker> = Vec::new();
        if boot.skill.is_none() || boot.in_system {
            markers.extend(&smoke.kernel);
        }
        if let Some(skill) = &boot.skill {
            markers.extend(smoke.skills.get(skill).into_iter().flatten());
        }
        let expectation = Expectation {
            markers: markers
                .iter()
                .map(|m| (m.pattern.regex().clone(), m.within))
                .collect(),
            fail: smoke.fail.iter().map(|p| p.regex().clone()).collect(),
            // A lazy skill inside the system starts when asked, once the system is up.
            typed: boot
                .police
                .as_ref()
                .and_then(|p| p.ask.clone())
                .filter(|_| boot.in_system && !smoke.kernel.is_empty())
                .map(|ask| (smoke.kernel.len() - 1, ask))
                .into_iter()
                .collect(),
        };
        let first = markers.first().map(|m| m.pattern.as_str());
        let (machine, accel) = bench.boot_machine(&boot, first)?;
        bench.report(&Event::Booting {
            suite: "smoke",
            case: &boot.name,
            machine: &machine.description,
        });
        let checked = crate::expect::check(&machine, &boot.image, &expectation)?;
        let detail = match &checked.failure {
            None => format!("{} ms", checked.duration_ms),
            Some(failure) => failure.to_string(),
        };
        bench.report(&Event::Finished {
            suite: "smoke",
            case: &boot.name,
            passed: checked.passed(),
            detail: &detail,
        });
        report.cases.push(Case {
            name: boot.name,
            image: boot.image,
            machine: machine.description.clone(),
            accel,
            passed: checked.passed(),
            checked,
            transcript: None,
        });
    }
    Ok(report)
}

impl SmokeReport {
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }

    fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed).count()
    }
}

impl SuiteReport for SmokeReport {
    fn suite(&self) -> &'static str {
        "smoke"
    }

    fn document(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("reports serialise")
    }

    fn document_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialise")
    }

    fn summary(&self, written: &Written) -> serde_json::Value {
        json!({"suite": "smoke", "passed": self.passed(), "report": written.json, "junit": written.junit, "cases": self.cases})
    }

    fn transcripts(&mut self, dir: &Path) -> Vec<(PathBuf, String)> {
        let mut files = Vec::new();
        for case in &mut self.cases {
            let transcript = dir.join(format!("{}.console.log", case.name));
            files.push((transcript.clone(), case.checked.console.clone()));
            case.transcript = Some(transcript);
        }
        files
    }

    fn junit(&self) -> Report {
        let mut suite = TestSuite::new(format!("{}-{}-{}", self.hive, self.target, self.suite));
        for case in &self.cases {
            let status = match &case.checked.failure {
                None => TestCaseStatus::success(),
                Some(failure) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(failure.to_string());
                    status
                        .set_description(format!("last console lines:\n{}", case.checked.tail(20)));
                    status
                }
            };
            let mut test = TestCase::new(case.name.clone(), status);
            test.set_classname(format!("{}.{}", self.target, self.suite));
            test.set_time(Duration::from_millis(case.checked.duration_ms));
            test.set_system_out_lossy(case.checked.console.as_bytes());
            suite.add_test_case(test);
        }
        let mut report = Report::new(format!("hivebuild {}", self.suite));
        report.add_test_suite(suite);
        report
    }

    fn to_text(&self, written: &Written) -> String {
        let mut text = String::new();
        for case in &self.cases {
            match &case.checked.failure {
                None => {
                    let _ = writeln!(
                        text,
                        "{:>6}  {} ({} ms, {})",
                        "pass", case.name, case.checked.duration_ms, case.machine
                    );
                }
                Some(failure) => {
                    let _ = writeln!(text, "{:>6}  {}: {failure}", "FAIL", case.name);
                    let _ = writeln!(text, "        last console lines:");
                    for line in case.checked.tail(8).lines() {
                        let _ = writeln!(text, "        | {line}");
                    }
                }
            }
        }
        let _ = writeln!(
            text,
            "smoke: {} passed, {} failed; report `{}`, JUnit `{}`",
            self.cases.len() - self.failed(),
            self.failed(),
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
                    "{failed} of {} boots did not do what `[tests.smoke]` expects",
                    self.cases.len()
                ),
                hint: format!(
                    "the whole console of each boot is in `{}`",
                    written.dir.display()
                ),
            }),
        }
    }
}
