//! `run`: build, then boot the system and every skill with its own image in QEMU one after
//! the other, the console on `out` and the keyboard (stdin) on the guest's console; on a
//! hosted target, run the Brain too. A hosted hive whose Brain has its mind runs whole after
//! the system's boot: the police starts the skills, and a prompt (`hive> `) asks the Brain.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hive_manifest::target::CrateType;
use hive_plan::Role;
use hive_process::ProcessBuilder;
use hive_qemu::suite::{Bench, SuiteError};

use crate::{Context, Error, Result};

/// Boot the hive. `note` gets a line per boot ("booting …", "… powered off after N ms").
/// A thinking hive's Brain runs with `options`.
pub fn run(
    cx: &Context<'_>,
    manifest: &Path,
    target: Option<&str>,
    timeout: Duration,
    options: &crate::hive::Options,
    out: &mut dyn Write,
    note: &dyn Fn(&str),
) -> Result<()> {
    let (manifest, target) = crate::project::load(manifest, target)?;
    if target.rust.crate_type == CrateType::Bin {
        // The hosted Brain runs here: fail before building what could not run.
        crate::hive::check_cpu(&target)?;
    }
    let built = crate::build::build(cx, &manifest, &target)?;
    let cache = crate::build::kvm_cache(&built.store);
    let bench = Bench {
        hive: &manifest.hive.name,
        target: &target,
        kvm_cache: Some(&cache),
        reporter: cx.reporter,
    };
    let thinks = crate::hive::has_mind(&manifest) && target.rust.crate_type == CrateType::Bin;
    let keyboard = keyboard(!thinks);
    // Each image once: on seL4 the skills boot within the system's image. A thinking hive's
    // skills are the police's to start.
    let boots = crate::test::built_boots(&manifest, &target, &built.plan, &built.report)?;
    for boot in boots
        .iter()
        .filter(|b| !(b.in_system || thinks && b.skill.is_some()))
    {
        let (machine, choice) = bench.boot_machine(boot, None)?;
        note(&format!(
            "==> booting `{}` on {} ({}: {})",
            boot.name, machine.program, machine.description, choice.reason
        ));
        let mut guest =
            hive_qemu::Guest::spawn(&machine, &boot.image, &[]).map_err(SuiteError::from)?;
        *keyboard.lock().expect("keyboard") = guest.take_input();
        // A Unikraft skill may serve until something stops it: here, its ready marker does.
        let serves = boot
            .skill
            .as_deref()
            .filter(|skill| built.plan.is_unikraft_skill(skill))
            .and_then(|skill| manifest.tests.smoke.as_ref()?.skill_ready(skill))
            .map(|marker| marker.pattern.regex().clone());
        let mut console = String::new();
        let mut ready = false;
        let booted = guest
            .watch(timeout, &mut |bytes| {
                let _ = out.write_all(bytes).and_then(|()| out.flush());
                let Some(serves) = &serves else {
                    return hive_qemu::Flow::Continue;
                };
                console.push_str(&String::from_utf8_lossy(bytes));
                ready = serves.is_match(&console);
                if ready {
                    hive_qemu::Flow::Stop
                } else {
                    hive_qemu::Flow::Continue
                }
            })
            .map_err(SuiteError::from)?;
        if ready {
            if !console.ends_with('\n') {
                let _ = out.write_all(b"\n");
            }
            note(&format!(
                "==> `{}` ready after {} ms; stopped there (a skill runs until the police stops it)",
                boot.name,
                booted.duration.as_millis()
            ));
            continue;
        }
        if booted.timed_out && machine.powers_off {
            return Err(Error::NoPowerOff {
                name: boot.name.clone(),
                seconds: timeout.as_secs(),
            });
        }
        let how = if booted.timed_out {
            "stopped at the deadline"
        } else {
            "powered off"
        };
        note(&format!(
            "==> `{}` {how} after {} ms",
            boot.name,
            booted.duration.as_millis()
        ));
    }
    if thinks {
        return prompt(cx, &manifest, &target, options, out, note);
    }
    if target.rust.crate_type == CrateType::Bin
        && let Some(brain) = built.report.output(&Role::Brain).and_then(brain_binary)
    {
        note("==> running the hosted Brain");
        let output = ProcessBuilder::new(&brain)
            .args(["--beats", "3"])
            .output()
            .map_err(|e| Error::Brain(Box::new(e)))?;
        let _ = out.write_all(&output.stdout);
    }
    Ok(())
}

/// The whole hive, and a prompt: each line typed is a request to the Brain, until the input
/// ends (or `exit`).
fn prompt(
    cx: &Context<'_>,
    manifest: &hive_manifest::Manifest,
    target: &hive_manifest::Target,
    options: &crate::hive::Options,
    out: &mut dyn Write,
    note: &dyn Fn(&str),
) -> Result<()> {
    use std::io::BufRead as _;
    let hive = crate::hive::start(cx, manifest, target, options, note)?;
    note("==> the hive is up; ask its Brain (an empty line or `exit` ends)");
    let mut lines = std::io::stdin().lock().lines();
    loop {
        let _ = out.write_all(b"hive> ").and_then(|()| out.flush());
        let Some(Ok(line)) = lines.next() else {
            let _ = out.write_all(b"\n");
            break;
        };
        let line = line.trim();
        if line.is_empty() || line == "exit" {
            break;
        }
        let (answer, spawned) = hive.ask(line)?;
        let _ = out.write_all(crate::hive::answer_text(&answer, &spawned).as_bytes());
    }
    Ok(())
}

/// What is typed while a guest runs goes to its console (`crash net` to the stand-in
/// police, say), a line at a time, through whichever guest input is in the slot. Not when
/// the prompt will read the keyboard (`listen` false).
fn keyboard(listen: bool) -> Arc<Mutex<Option<std::process::ChildStdin>>> {
    let slot = Arc::new(Mutex::new(None::<std::process::ChildStdin>));
    if !listen {
        return slot;
    }
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
pub(crate) fn brain_binary(output: &Path) -> Option<PathBuf> {
    let mut binaries = std::fs::read_dir(output.join("bin"))
        .ok()?
        .flatten()
        .map(|e| e.path());
    let first = binaries.next()?;
    binaries.next().is_none().then_some(first)
}
