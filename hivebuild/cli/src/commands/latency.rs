//! `hivebuild test boot-latency MANIFEST --target T --runs N`: boot times of a floor kernel,
//! the kernel and every skill, cold and warm, against the skills' `boot-budget`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use hive_qemu::latency::{Mode, Stats, measure};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use regex::Regex;
use serde::Serialize;
use serde_json::json;

use crate::cli::LatencyArgs;
use crate::dispatch::CliError;
use crate::exit_codes;
use crate::output::print_result;
use crate::settings::Settings;

#[derive(Serialize)]
struct Measured {
    name: String,
    machine: String,
    accel: hive_qemu::AccelChoice,
    marker: String,
    budget_ms: Option<f64>,
    cold: Option<Stats>,
    warm: Option<Stats>,
    /// Medians over the floor's, same mode.
    cold_over_floor: Option<f64>,
    warm_over_floor: Option<f64>,
    missed: usize,
    within_budget: bool,
    #[serde(skip)]
    samples: (Vec<f64>, Vec<f64>),
}

/// An image to time: its ready marker, budget and QEMU arguments besides the machine's.
struct Timed {
    name: String,
    image: PathBuf,
    marker: String,
    budget: Option<Duration>,
    extra: Vec<String>,
}

fn failed(message: String) -> CliError {
    CliError::Refused {
        message,
        hint: None,
        code: exit_codes::BOOT_FAILED,
    }
}

pub(crate) fn run(settings: &Settings, args: &LatencyArgs) -> Result<(), CliError> {
    let test = &args.test;
    let (manifest, target) = super::load(&test.target.manifest, test.target.target.as_deref())?;
    let smoke = super::smoke_tests(&manifest)?;
    if args.runs == 0 {
        return Err(CliError::usage("`--runs 0`: nothing to measure"));
    }
    let to_test = super::images_to_test(settings, &manifest, &target, test.image.as_deref())?;

    let scratch = tempfile::tempdir().map_err(|e| failed(format!("no scratch folder: {e}")))?;
    let floor = scratch.path().join("floor.elf");
    std::fs::write(
        &floor,
        hive_qemu::floor::floor_kernel(target.arch, &target.board),
    )
    .map_err(|e| failed(format!("failed to write the floor kernel: {e}")))?;
    let mut images = vec![Timed {
        name: "floor".into(),
        image: floor,
        marker: regex::escape(hive_qemu::floor::FLOOR_MARKER),
        budget: None,
        extra: Vec::new(),
    }];
    for super::TestImage {
        name,
        path: image,
        skill,
        in_system,
        extra,
    } in to_test.images
    {
        let (marker, budget) = match &skill {
            None => (smoke.kernel.last().map(|m| m.pattern.clone()), None),
            // Inside the system's boot (seL4) the time includes the whole system's boot: a
            // figure to watch, not one to hold to the skill's own boot budget.
            Some(skill) => (
                smoke.skills.last().map(|m| m.for_skill(skill).pattern),
                manifest.skills[skill].boot_budget.filter(|_| !in_system),
            ),
        };
        let marker = marker.ok_or_else(|| {
            CliError::usage(format!("`[tests.smoke]` has no marker for `{name}`"))
        })?;
        images.push(Timed {
            name,
            image,
            marker,
            budget,
            extra,
        });
    }

    let mut measured: Vec<Measured> = Vec::new();
    for Timed {
        name,
        image,
        marker,
        budget,
        extra,
    } in images
    {
        let pattern = Regex::new(&marker).expect("patterns were checked with the manifest");
        let (mut machine, accel) =
            super::machine_for_image(&target, &image, Some(&marker), &to_test.store)?;
        machine.args.extend(extra);
        let timeout = Duration::from_secs(30);
        let (cold, cold_missed) =
            measure(Mode::Cold, &machine, &image, &pattern, args.runs, timeout)
                .map_err(|error| super::qemu_failed(&error))?;
        let (warm, warm_missed) =
            measure(Mode::Warm, &machine, &image, &pattern, args.runs, timeout)
                .map_err(|error| super::qemu_failed(&error))?;
        let (cold_stats, warm_stats) = (Stats::of(&cold), Stats::of(&warm));
        let budget_ms = budget.map(|b| b.as_secs_f64() * 1000.0);
        let missed = cold_missed + warm_missed;
        let within_budget = missed == 0
            && budget_ms.is_none_or(|b| warm_stats.as_ref().is_some_and(|w| w.p90_ms <= b));
        measured.push(Measured {
            name,
            machine: machine.description.clone(),
            accel,
            marker,
            budget_ms,
            cold: cold_stats,
            warm: warm_stats,
            cold_over_floor: None,
            warm_over_floor: None,
            missed,
            within_budget,
            samples: (cold, warm),
        });
    }
    let floor_medians = (
        measured[0].cold.as_ref().map(|s| s.median_ms),
        measured[0].warm.as_ref().map(|s| s.median_ms),
    );
    for entry in &mut measured {
        entry.cold_over_floor = entry
            .cold
            .as_ref()
            .zip(floor_medians.0)
            .map(|(s, f)| s.median_ms / f);
        entry.warm_over_floor = entry
            .warm
            .as_ref()
            .zip(floor_medians.1)
            .map(|(s, f)| s.median_ms / f);
    }

    let dir = test.report_dir.clone().unwrap_or_else(|| {
        PathBuf::from("test-reports").join(format!("{}-{}", manifest.hive.name, target.name))
    });
    std::fs::create_dir_all(&dir)
        .map_err(|e| failed(format!("failed to create `{}`: {e}", dir.display())))?;
    let document = json!({"suite": "boot-latency", "hive": manifest.hive.name, "target": target.name, "runs": args.runs, "images": measured});
    let json_path = dir.join("boot-latency.json");
    let junit_path = test
        .junit
        .clone()
        .unwrap_or_else(|| dir.join("boot-latency.junit.xml"));
    let svg_path = dir.join("boot-latency.svg");
    let write = |path: &PathBuf, text: String| {
        std::fs::write(path, text)
            .map_err(|e| failed(format!("failed to write `{}`: {e}", path.display())))
    };
    write(
        &json_path,
        serde_json::to_string_pretty(&document).expect("json") + "\n",
    )?;
    write(
        &junit_path,
        junit(&manifest.hive.name, &target.name, &measured),
    )?;
    let series: Vec<hive_qemu::plot::Series<'_>> = measured
        .iter()
        .map(|m| hive_qemu::plot::Series {
            name: &m.name,
            cold: &m.samples.0,
            warm: &m.samples.1,
            budget_ms: m.budget_ms,
        })
        .collect();
    let title = format!(
        "{} on {}: boot latency, {} runs each ({})",
        manifest.hive.name, target.name, args.runs, measured[0].machine
    );
    hive_qemu::plot::write_svg(&svg_path, &title, &series)
        .map_err(|e| failed(format!("failed to draw `{}`: {e}", svg_path.display())))?;

    let listing = table(&measured, args.runs, &json_path, &junit_path, &svg_path);
    print_result(settings, &listing, &document);
    let over: Vec<&str> = measured
        .iter()
        .filter(|m| !m.within_budget)
        .map(|m| m.name.as_str())
        .collect();
    if !over.is_empty() {
        return Err(CliError::Refused {
            message: format!("over budget or not ready: `{}`", over.join("`, `")),
            hint: Some(
                "a budget holds when the warm p90 is within it and every boot reached its marker"
                    .into(),
            ),
            code: exit_codes::TEST_FAILED,
        });
    }
    Ok(())
}

fn table(
    measured: &[Measured],
    runs: usize,
    json: &std::path::Path,
    junit: &std::path::Path,
    svg: &std::path::Path,
) -> String {
    let cell = |stats: &Option<Stats>| {
        stats.as_ref().map_or_else(
            || format!("{:>17}", "-"),
            |s| format!("{:>8.1} {:>8.1}", s.median_ms, s.p99_ms),
        )
    };
    let mut text =
        format!("boot latency, {runs} runs per mode; ms, median and p99 (warm: from resume)\n");
    let _ = writeln!(
        text,
        "  {:<12} {:>17} {:>17} {:>7} {:>7}  budget",
        "image", "cold", "warm", "cold/fl", "warm/fl"
    );
    for m in measured {
        let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"));
        let budget = match m.budget_ms {
            Some(b) if m.within_budget => format!("{b:.0} ms ok"),
            Some(b) => format!("{b:.0} ms MISSED"),
            None if m.missed > 0 => "not ready".to_owned(),
            None => String::new(),
        };
        let _ = writeln!(
            text,
            "  {:<12} {} {} {:>7} {:>7}  {budget}",
            m.name,
            cell(&m.cold),
            cell(&m.warm),
            ratio(m.cold_over_floor),
            ratio(m.warm_over_floor)
        );
    }
    let _ = writeln!(
        text,
        "machine: {} ({})",
        measured[0].machine, measured[0].accel.reason
    );
    let _ = writeln!(
        text,
        "report `{}`, JUnit `{}`, plot `{}`",
        json.display(),
        junit.display(),
        svg.display()
    );
    text
}

fn junit(hive: &str, target: &str, measured: &[Measured]) -> String {
    let mut suite = TestSuite::new(format!("{hive}-{target}-boot-latency"));
    for m in measured {
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
        case.set_classname(format!("{target}.boot-latency"));
        suite.add_test_case(case);
    }
    let mut report = Report::new("hivebuild boot-latency");
    report.add_test_suite(suite);
    report.to_string().expect("JUnit serialises")
}
