//! `hivebuild test faults MANIFEST --target T`: for each skill of `[tests.faults]`, crash it
//! once (it must come back) and past its restart limit (it must be stopped), each on a fresh
//! boot, with the Brain's heartbeat watched throughout.

use std::fmt::Write as _;
use std::path::PathBuf;

use hive_qemu::faults::{Outcome, Scenario};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use regex::Regex;
use serde_json::json;

use crate::cli::TestArgs;
use crate::dispatch::CliError;
use crate::exit_codes;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &TestArgs) -> Result<(), CliError> {
    let (manifest, target) = super::load(&args.target.manifest, args.target.target.as_deref())?;
    let faults = manifest
        .tests
        .faults
        .clone()
        .ok_or_else(|| CliError::Refused {
            message: format!(
                "`{}` has no `[tests.faults]` section",
                manifest.file.display()
            ),
            hint: Some(
                "declare the crash command and the markers to expect; see docs/manifest.md#tests"
                    .into(),
            ),
            code: exit_codes::TEST_FAILED,
        })?;
    let smoke = super::smoke_tests(&manifest)?;
    let super::Built {
        store,
        report,
        plan,
    } = super::build(settings, &manifest, &target)?;
    let kernel = super::system_image(&plan, &report);
    let first = smoke.kernel.first().map(|m| m.pattern.as_str());
    let (machine, accel) = super::machine_for_image(&target, &kernel, first, &store)?;
    let boot_within = smoke
        .kernel
        .iter()
        .map(|m| m.within)
        .sum::<std::time::Duration>()
        + std::time::Duration::from_secs(5);

    let mut results: Vec<(String, Outcome)> = Vec::new();
    for skill in &faults.skills {
        let limit = match manifest.skills[skill].restart {
            hive_manifest::model::Restart::Never => 0,
            _ => manifest.skills[skill].restart_limit,
        };
        let pattern = |text: &str| {
            Regex::new(&text.replace("{skill}", &regex::escape(skill)))
                .expect("patterns were checked with the manifest")
        };
        let scenario = |crashes: u32, expect_stopped: bool| Scenario {
            ready: pattern(&faults.ready),
            fault: pattern(&faults.fault),
            stopped: pattern(&faults.stopped),
            heartbeat: pattern(&faults.heartbeat),
            command: faults.command.replace("{skill}", skill),
            crashes,
            expect_stopped,
            boot_within,
            restart_within: faults.restart_within,
            max_gap: faults.max_gap,
        };
        let mut scenarios = vec![(format!("{skill}-past-limit"), scenario(limit + 1, true))];
        if limit > 0 {
            scenarios.insert(0, (format!("{skill}-restart"), scenario(1, false)));
        }
        for (name, scenario) in scenarios {
            let outcome = hive_qemu::faults::run(&machine, &kernel, &scenario)
                .map_err(|error| super::qemu_failed(&error))?;
            results.push((name, outcome));
        }
    }

    let dir = args.report_dir.clone().unwrap_or_else(|| {
        PathBuf::from("test-reports").join(format!("{}-{}", manifest.hive.name, target.name))
    });
    let refused = |message: String| CliError::Refused {
        message,
        hint: None,
        code: exit_codes::TEST_FAILED,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| refused(format!("failed to create `{}`: {e}", dir.display())))?;
    let mut suite = TestSuite::new(format!("{}-{}-faults", manifest.hive.name, target.name));
    let mut text = String::new();
    for (name, outcome) in &results {
        let transcript = dir.join(format!("faults-{name}.console.log"));
        std::fs::write(&transcript, &outcome.console)
            .map_err(|e| refused(format!("failed to write `{}`: {e}", transcript.display())))?;
        let status = match &outcome.failure {
            None => {
                let _ = writeln!(
                    text,
                    "{:>6}  {name}: restarts {:?} ms, longest heartbeat gap {:.0} ms",
                    "pass",
                    outcome
                        .restarts_ms
                        .iter()
                        .map(|m| m.round())
                        .collect::<Vec<_>>(),
                    outcome.max_gap_ms
                );
                TestCaseStatus::success()
            }
            Some(failure) => {
                let _ = writeln!(text, "{:>6}  {name}: {failure}", "FAIL");
                let lines: Vec<&str> = outcome.console.lines().collect();
                for line in &lines[lines.len().saturating_sub(8)..] {
                    let _ = writeln!(text, "        | {line}");
                }
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(failure.clone());
                status
            }
        };
        let mut case = TestCase::new(name.clone(), status);
        case.set_classname(format!("{}.faults", target.name));
        case.set_system_out_lossy(outcome.console.as_bytes());
        suite.add_test_case(case);
    }
    let mut junit = Report::new("hivebuild faults");
    junit.add_test_suite(suite);
    let junit_path = args
        .junit
        .clone()
        .unwrap_or_else(|| dir.join("faults.junit.xml"));
    let json_path = dir.join("faults.json");
    let document = json!({
        "suite": "faults", "hive": manifest.hive.name, "target": target.name, "machine": machine.description, "accel": accel,
        "scenarios": results.iter().map(|(name, outcome)| json!({"name": name, "passed": outcome.failure.is_none(), "outcome": outcome})).collect::<Vec<_>>(),
    });
    std::fs::write(&junit_path, junit.to_string().expect("JUnit serialises"))
        .map_err(|e| refused(format!("failed to write `{}`: {e}", junit_path.display())))?;
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&document).expect("json") + "\n",
    )
    .map_err(|e| refused(format!("failed to write `{}`: {e}", json_path.display())))?;
    let failed = results.iter().filter(|(_, o)| o.failure.is_some()).count();
    let _ = writeln!(
        text,
        "faults: {} passed, {failed} failed ({}); report `{}`, JUnit `{}`",
        results.len() - failed,
        machine.description,
        json_path.display(),
        junit_path.display()
    );
    print_result(settings, &text, &document);
    if failed > 0 {
        return Err(CliError::Refused {
            message: format!("{failed} of {} fault scenarios failed", results.len()),
            hint: Some(format!(
                "each boot's whole console is in `{}`",
                dir.display()
            )),
            code: exit_codes::TEST_FAILED,
        });
    }
    Ok(())
}
