//! `test smoke|faults|boot-latency`: what to boot (the images of a build, or the kernel of a
//! release folder's image), then the suite `hive_qemu::suite` runs, then its reports.

use std::path::{Path, PathBuf};

use hive_manifest::{Manifest, SystemKind, Target};
use hive_plan::{Plan, Role};
use hive_qemu::report::{SuiteReport, Written};
use hive_qemu::suite::{Bench, Boot};
use hive_store::Store;

use crate::error::{Area, release_of};
use crate::{Context, Error, Result};

/// The suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    Smoke,
    Faults,
    /// With the number of boots per image and mode.
    BootLatency {
        runs: usize,
    },
}

/// Where a suite's reports go.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// Default `test-reports/<hive>-<target>`.
    pub dir: Option<PathBuf>,
    /// Default `<dir>/<suite>.junit.xml`.
    pub junit: Option<PathBuf>,
}

/// A suite that ran and whose reports are written.
pub struct Tested {
    pub report: Box<dyn SuiteReport>,
    pub written: Written,
}

impl crate::Outcome for Tested {
    fn text(&self) -> String {
        self.report.to_text(&self.written)
    }

    fn json(&self) -> serde_json::Value {
        self.report.summary(&self.written)
    }

    fn verdict(&self) -> Result<()> {
        Ok(self.report.verdict(&self.written)?)
    }
}

/// Run `suite` on the hive's images (built now), or with `release` on the kernel of that
/// release folder's image.
pub fn run(
    cx: &Context<'_>,
    manifest: &Path,
    target: Option<&str>,
    suite: Suite,
    release: Option<&Path>,
    reports: &ReportOptions,
) -> Result<Tested> {
    let (manifest, target) = crate::project::load(manifest, target)?;
    if suite == (Suite::BootLatency { runs: 0 }) {
        return Err(Error::usage("`--runs 0`: nothing to measure"));
    }
    // Refused before anything is built: the sections the suite reads.
    let missing = |section| hive_qemu::suite::SuiteError::NoSection {
        manifest: manifest.file.clone(),
        section,
    };
    if suite == Suite::Faults && manifest.tests.faults.is_none() {
        return Err(missing("faults").into());
    }
    let smoke = manifest
        .tests
        .smoke
        .as_ref()
        .ok_or_else(|| missing("smoke"))?;
    let to_test = boots(cx, &manifest, &target, release)?;
    let cache = crate::build::kvm_cache(&to_test.store);
    let bench = Bench {
        hive: &manifest.hive.name,
        target: &target,
        kvm_cache: Some(&cache),
        reporter: cx.reporter,
    };
    let mut report: Box<dyn SuiteReport> = match suite {
        Suite::Smoke => Box::new(hive_qemu::suite::smoke(&bench, smoke, to_test.boots)?),
        Suite::Faults if to_test.skill_vms => Box::new(hive_qemu::suite::skill_faults(
            &bench,
            &manifest,
            &to_test.boots,
        )?),
        Suite::Faults => {
            let system = &to_test.boots[0].image;
            Box::new(hive_qemu::suite::faults(&bench, &manifest, system)?)
        }
        Suite::BootLatency { runs } => Box::new(hive_qemu::suite::boot_latency(
            &bench,
            &manifest,
            to_test.boots,
            runs,
        )?),
    };
    let dir = reports.dir.clone().unwrap_or_else(|| {
        PathBuf::from("test-reports").join(format!("{}-{}", manifest.hive.name, target.name))
    });
    let written = hive_qemu::report::write(report.as_mut(), &dir, reports.junit.as_deref())?;
    Ok(Tested { report, written })
}

/// The boots that test a built hive, in order: the system, then each skill — in an image of
/// its own (stand-ins, Unikraft), or within the system's boot (seL4: its protection domains).
pub fn built_boots(
    manifest: &Manifest,
    target: &Target,
    plan: &Plan,
    report: &hive_engine::BuildReport,
) -> Result<Vec<Boot>> {
    let system = report
        .artefact(&plan.boot_image())
        .expect("the plan boots its system");
    let mut boots = vec![system_boot(system.clone(), Vec::new())];
    for name in manifest.skills.keys() {
        let boot = match plan.system {
            SystemKind::Standins => {
                let image = report
                    .artefact(&plan.skill_image(name))
                    .expect("the plan has this step");
                let mut boot = skill_boot(name, image, false, Vec::new());
                if plan.is_unikraft_skill(name) {
                    let machine = hive_qemu::skill::skill_machine(
                        target,
                        &manifest.skills[name],
                        &hive_qemu::channel::ChannelEnd::Null,
                        None,
                    )
                    .map_err(hive_qemu::suite::SuiteError::from)?;
                    boot.extra = machine.args;
                    boot.tcg_extra = machine.tcg_args;
                }
                boot
            }
            SystemKind::Microkit => sel4_skill_boot(manifest, name, system.clone(), Vec::new()),
        };
        boots.push(boot);
    }
    Ok(boots)
}

fn system_boot(image: PathBuf, extra: Vec<String>) -> Boot {
    Boot {
        name: Role::Kernel.name(),
        image,
        skill: None,
        in_system: false,
        extra,
        tcg_extra: Vec::new(),
        police: None,
    }
}

fn skill_boot(skill: &str, image: PathBuf, in_system: bool, extra: Vec<String>) -> Boot {
    Boot {
        name: Role::Skill(skill.to_owned()).name(),
        image,
        skill: Some(skill.to_owned()),
        in_system,
        extra,
        tcg_extra: Vec::new(),
        police: None,
    }
}

/// A skill inside a seL4 system: the police starts it (a lazy one when asked on the console)
/// and times the start; a restart is timed too when `[tests.faults]` crashes it.
fn sel4_skill_boot(manifest: &Manifest, skill: &str, image: PathBuf, extra: Vec<String>) -> Boot {
    let declared = &manifest.skills[skill];
    let crash = manifest.tests.faults.as_ref().and_then(|faults| {
        faults
            .skills
            .iter()
            .find(|f| f.name == skill)
            .filter(|_| declared.restarts_allowed() > 0)
            .map(|f| f.command.clone())
    });
    let timed = regex::Regex::new(&hive_sel4::police::ready_in(skill))
        .expect("a skill name makes a valid pattern");
    Boot {
        police: Some(hive_qemu::spawn::PoliceStart {
            ask: declared.lazy.then(|| hive_sel4::police::ask(skill)),
            timed,
            crash,
        }),
        ..skill_boot(skill, image, true, extra)
    }
}

/// What a test boots, keeping the store (for the KVM probe cache) and any scratch folder
/// alive.
struct ToTest {
    store: Store,
    boots: Vec<Boot>,
    /// The skills `[tests.faults]` names boot as virtual machines of their own (Unikraft):
    /// they are faulted from outside, not through the system's police.
    skill_vms: bool,
    _scratch: Option<tempfile::TempDir>,
}

fn boots(
    cx: &Context<'_>,
    manifest: &Manifest,
    target: &Target,
    release: Option<&Path>,
) -> Result<ToTest> {
    let Some(release) = release else {
        let built = crate::build::build(cx, manifest, target)?;
        let boots = built_boots(manifest, target, &built.plan, &built.report)?;
        let skill_vms = manifest.tests.faults.as_ref().is_some_and(|faults| {
            faults
                .skills
                .iter()
                .any(|skill| built.plan.is_unikraft_skill(&skill.name))
        });
        return Ok(ToTest {
            store: built.store,
            boots,
            skill_vms,
            _scratch: None,
        });
    };
    let opened = hive_release::Release::open(release).map_err(|source| Error::ReleaseInput {
        dir: release.to_owned(),
        area: Area::Test,
        source: Box::new(source),
    })?;
    let found = release_of(&opened.files.hive.name, &opened.files.target);
    let wanted = release_of(&manifest.hive.name, &target.name);
    if found != wanted {
        return Err(Error::WrongRelease {
            dir: release.to_owned(),
            found,
            wanted,
            area: Area::Test,
        });
    }
    // No machine for the target: what `run` says of it too.
    let qemu = target.qemu.as_ref().ok_or_else(|| {
        hive_qemu::suite::SuiteError::from(hive_qemu::QemuError::NoConfig {
            target: target.name.clone(),
        })
    })?;
    let kernel_file = qemu
        .image_kernel
        .as_deref()
        .ok_or_else(|| Error::NoImageKernel {
            target: target.name.clone(),
        })?;
    let scratch =
        tempfile::tempdir().map_err(Error::io(Area::Test, "create", "a scratch folder"))?;
    let image = opened.dir.image();
    let take = |file: &str| -> Result<PathBuf> {
        let bytes = hive_image::extract(&image, &opened.files, "boot", file)?;
        let path = scratch.path().join(file);
        std::fs::write(&path, bytes).map_err(Error::io(Area::Test, "write", &path))?;
        Ok(path)
    };
    let kernel = take(kernel_file)?;
    let mut extra = Vec::new();
    if let Some(dtb) = &qemu.image_dtb {
        extra = vec!["-dtb".to_owned(), take(dtb)?.display().to_string()];
    }
    let mut boots = vec![system_boot(kernel.clone(), extra.clone())];
    // seL4: the skills are protection domains of the same image.
    if target.system == SystemKind::Microkit {
        for name in manifest.skills.keys() {
            boots.push(sel4_skill_boot(
                manifest,
                name,
                kernel.clone(),
                extra.clone(),
            ));
        }
    }
    Ok(ToTest {
        store: cx.open_store()?,
        boots,
        skill_vms: false,
        _scratch: Some(scratch),
    })
}
