//! `hivebuild test smoke MANIFEST --target T`: boot every image of the hive and hold its
//! console to the manifest's `[tests.smoke]` markers.

use std::fmt::Write as _;
use std::path::PathBuf;

use hive_qemu::expect::{Checked, Expectation};
use hive_qemu::report::{Case, Suite};
use serde_json::json;

use crate::cli::{TestArgs, TestCommand};
use crate::dispatch::CliError;
use crate::exit_codes;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: TestCommand) -> Result<(), CliError> {
    match command {
        TestCommand::Smoke(args) => smoke(settings, &args),
        TestCommand::BootLatency(args) => super::latency::run(settings, &args),
        TestCommand::Faults(args) => super::faults::run(settings, &args),
    }
}

fn smoke(settings: &Settings, args: &TestArgs) -> Result<(), CliError> {
    let (manifest, target) = super::load(&args.target.manifest, args.target.target.as_deref())?;
    let smoke = super::smoke_tests(&manifest)?;
    let to_test = super::images_to_test(settings, &manifest, &target, args.image.as_deref())?;

    let mut suite = Suite {
        suite: "smoke".into(),
        hive: manifest.hive.name.clone(),
        target: target.name.clone(),
        cases: Vec::new(),
    };
    for super::TestImage {
        name,
        path: image,
        skill,
        in_system,
        extra,
    } in to_test.images
    {
        let system = smoke.kernel.iter().map(|m| (m.pattern.clone(), m.within));
        let markers: Vec<(String, std::time::Duration)> = match &skill {
            None => system.collect(),
            Some(skill) => {
                let own = smoke
                    .skills
                    .iter()
                    .map(|m| m.for_skill(skill))
                    .map(|m| (m.pattern, m.within));
                if in_system {
                    system.chain(own).collect()
                } else {
                    own.collect()
                }
            }
        };
        let expectation = Expectation::new(&markers, &smoke.fail)
            .expect("patterns were checked with the manifest");
        let first = markers.first().map(|(pattern, _)| pattern.as_str());
        let (mut machine, accel) =
            super::machine_for_image(&target, &image, first, &to_test.store)?;
        machine.args.extend(extra);
        let checked: Checked = hive_qemu::expect::check(&machine, &image, &expectation)
            .map_err(|error| super::qemu_failed(&error))?;
        suite.cases.push(Case {
            name,
            image,
            machine: machine.description.clone(),
            accel,
            passed: checked.passed(),
            checked,
            transcript: None,
        });
    }
    let dir = args.report_dir.clone().unwrap_or_else(|| {
        PathBuf::from("test-reports").join(format!("{}-{}", manifest.hive.name, target.name))
    });
    let written = suite
        .write(&dir, args.junit.as_deref())
        .map_err(|error| CliError::Refused {
            message: format!(
                "failed to write the reports to `{}`: {error}",
                dir.display()
            ),
            hint: None,
            code: exit_codes::TEST_FAILED,
        })?;

    let mut text = String::new();
    for case in &suite.cases {
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
    let failed = suite.cases.iter().filter(|c| !c.passed).count();
    let _ = writeln!(
        text,
        "smoke: {} passed, {failed} failed; report `{}`, JUnit `{}`",
        suite.cases.len() - failed,
        written.json.display(),
        written.junit.display()
    );
    print_result(
        settings,
        &text,
        &json!({"suite": "smoke", "passed": suite.passed(), "report": written.json, "junit": written.junit, "cases": suite.cases}),
    );
    if failed > 0 {
        return Err(CliError::Refused {
            message: format!(
                "{failed} of {} boots did not do what `[tests.smoke]` expects",
                suite.cases.len()
            ),
            hint: Some(format!(
                "the whole console of each boot is in `{}`",
                dir.display()
            )),
            code: exit_codes::TEST_FAILED,
        });
    }
    Ok(())
}
