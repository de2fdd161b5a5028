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
use crate::settings::{Output, Settings};

pub(crate) fn run(settings: &Settings, args: &RunArgs) -> Result<(), CliError> {
    let (manifest, target) = super::load(&args.target.manifest, args.target.target.as_deref())?;
    let super::Built {
        store,
        plan,
        report,
    } = super::build(settings, &manifest, &target)?;
    let note = |text: String| {
        if settings.output != Output::Quiet {
            eprintln!("{text}");
        }
    };

    // Each image once: on seL4 the skills boot within the system's image.
    let images: Vec<(String, PathBuf)> = super::bootable_images(&manifest, &plan, &report)
        .into_iter()
        .filter(|image| !image.in_system)
        .map(|image| (image.name, image.path))
        .collect();
    let timeout = Duration::from_secs(args.timeout);
    let keyboard = keyboard();
    for (name, image) in &images {
        let (machine, choice) = super::machine_for_image(&target, image, None, &store)?;
        note(format!(
            "==> booting `{name}` on {} ({}: {})",
            machine.program, machine.description, choice.reason
        ));
        let mut guest = hive_qemu::Guest::spawn(&machine, image, &[])
            .map_err(|error| super::qemu_failed(&error))?;
        *keyboard.lock().expect("keyboard") = guest.take_input();
        let mut stdout = std::io::stdout();
        let boot = guest
            .watch(timeout, &mut |bytes| {
                let _ = stdout.write_all(bytes);
                let _ = stdout.flush();
                hive_qemu::Flow::Continue
            })
            .map_err(|error| super::qemu_failed(&error))?;
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
        let brain = plan.step_of(&hive_plan::Role::Brain).and_then(|_| {
            report
                .output(&hive_plan::Role::Brain)
                .and_then(brain_binary)
        });
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

/// What is typed while a guest runs goes to its console (`crash net` to the stand-in
/// police, say), a line at a time, through whichever guest input is in the slot.
fn keyboard() -> std::sync::Arc<std::sync::Mutex<Option<std::process::ChildStdin>>> {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None::<std::process::ChildStdin>));
    let target = slot.clone();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(input) = target.lock().expect("keyboard").as_mut() {
                let _ = input
                    .write_all(format!("{line}\n").as_bytes())
                    .and_then(|()| input.flush());
            }
        }
    });
    slot
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
