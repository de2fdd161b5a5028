//! `hivebuild run MANIFEST --target T`: build, then boot the kernel and every skill in QEMU
//! one after the other with the console on stdout; on a hosted target, run the Brain too.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use hive_manifest::target::CrateType;
use hive_process::ProcessBuilder;

use crate::cli::RunArgs;
use crate::dispatch::CliError;
use crate::exit_codes;
use crate::output::CliReporter;
use crate::settings::{Output, Settings};

pub(crate) fn run(settings: &Settings, args: &RunArgs) -> Result<(), CliError> {
    let (manifest, target) = super::load(&args.target.manifest, args.target.target.as_deref())?;
    let store = super::open_store(settings)?;
    let plan = super::make_plan(settings, Some(&store), &manifest, &target)?;
    let report = hive_engine::build(&plan, &store, &settings.engine, &CliReporter::new(settings))?;
    super::record_root(&store, &manifest, &plan, &report)?;
    let output_of = |step: &str| -> PathBuf {
        report
            .steps
            .iter()
            .find(|s| s.name == step)
            .map(|s| s.path.clone())
            .expect("the plan has this step")
    };
    let note = |text: String| {
        if settings.output != Output::Quiet {
            eprintln!("{text}");
        }
    };

    let images = super::bootable_images(&manifest, &report);
    let timeout = Duration::from_secs(args.timeout);
    let probe_cache = store.cache_dir().join("kvm-probe-v1.json");
    for (name, image, _) in &images {
        let choice = hive_qemu::choose_accel(&target, image, None, Some(&probe_cache));
        let machine =
            hive_qemu::machine_for(&target, choice.accel).map_err(|error| CliError::Refused {
                message: error.to_string(),
                hint: Some(format!(
                    "add a `[qemu]` section to `targets/{}.toml`",
                    target.name
                )),
                code: exit_codes::BOOT_FAILED,
            })?;
        note(format!(
            "==> booting `{name}` on {} ({}: {})",
            machine.program, machine.description, choice.reason
        ));
        let mut stdout = std::io::stdout();
        let boot = hive_qemu::boot(&machine, image, timeout, &mut |bytes| {
            let _ = stdout.write_all(bytes);
            let _ = stdout.flush();
            hive_qemu::Flow::Continue
        })
        .map_err(|error| CliError::Refused {
            message: format!(
                "{error}: {}",
                std::error::Error::source(&error)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            hint: Some(
                "install QEMU: `ci/install-deps` (Debian), or your system's qemu-system packages"
                    .into(),
            ),
            code: exit_codes::BOOT_FAILED,
        })?;
        if boot.timed_out && machine.powers_off {
            return Err(CliError::Refused {
                message: format!("`{name}` did not power off within {} s", args.timeout),
                hint: Some("raise `--timeout`, or look at the console output above".into()),
                code: exit_codes::BOOT_FAILED,
            });
        }
        let how = if boot.timed_out {
            "stopped at the deadline"
        } else {
            "powered off"
        };
        note(format!(
            "==> `{name}` {how} after {} ms",
            boot.duration.as_millis()
        ));
    }
    if target.rust.crate_type == CrateType::Bin {
        let brain = plan
            .step("brain")
            .and_then(|_| brain_binary(&output_of("brain")));
        if let Some(brain) = brain {
            note("==> running the hosted Brain".to_owned());
            let output = ProcessBuilder::new(&brain)
                .args(["--beats", "3"])
                .output()
                .map_err(|error| CliError::Refused {
                    message: error.to_string(),
                    hint: None,
                    code: exit_codes::BOOT_FAILED,
                })?;
            crate::output::emit(&String::from_utf8_lossy(&output.stdout));
        }
    }
    Ok(())
}

/// The Brain's binary in its output folder (`bin/<name>`), if there is exactly one.
fn brain_binary(output: &std::path::Path) -> Option<PathBuf> {
    let mut binaries = std::fs::read_dir(output.join("bin"))
        .ok()?
        .flatten()
        .map(|e| e.path());
    let first = binaries.next()?;
    binaries.next().is_none().then_some(first)
}
