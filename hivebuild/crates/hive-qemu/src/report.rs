//! Test reports: one JSON document per suite, JUnit XML for CI (`quick-junit`, the writer
//! nextest uses), and each boot's whole console transcript next to them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::AccelChoice;
use crate::expect::Checked;

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
pub struct Suite {
    pub suite: String,
    pub hive: String,
    pub target: String,
    pub cases: Vec<Case>,
}

/// Where a suite's reports went.
#[derive(Clone, Debug)]
pub struct Written {
    pub json: PathBuf,
    pub junit: PathBuf,
}

impl Suite {
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }

    /// Write each case's transcript as `DIR/<case>.console.log`, the suite as
    /// `DIR/<suite>.json`, and JUnit XML to `junit` (default `DIR/<suite>.junit.xml`).
    pub fn write(&mut self, dir: &Path, junit: Option<&Path>) -> std::io::Result<Written> {
        std::fs::create_dir_all(dir)?;
        for case in &mut self.cases {
            let transcript = dir.join(format!("{}.console.log", case.name));
            std::fs::write(&transcript, &case.checked.console)?;
            case.transcript = Some(transcript);
        }
        let json = dir.join(format!("{}.json", self.suite));
        std::fs::write(
            &json,
            serde_json::to_string_pretty(self).expect("reports serialise") + "\n",
        )?;
        let junit = junit.map_or_else(
            || dir.join(format!("{}.junit.xml", self.suite)),
            Path::to_owned,
        );
        std::fs::write(&junit, self.junit())?;
        Ok(Written { json, junit })
    }

    pub fn junit(&self) -> String {
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
        report.to_string().expect("JUnit serialises")
    }
}
