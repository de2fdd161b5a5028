//! One file per subcommand: each turns resolved settings into library calls.

pub(crate) mod build;
pub(crate) mod bundle;
pub(crate) mod caps;
pub(crate) mod check;
pub(crate) mod doctor;
mod faults;
pub(crate) mod image;
pub(crate) mod inspect;
pub(crate) mod key;
mod latency;
pub(crate) mod lock;
pub(crate) mod new;
pub(crate) mod plan;
pub(crate) mod root;
pub(crate) mod run;
pub(crate) mod shell;
pub(crate) mod sign;
mod signing;
pub(crate) mod skill;
pub(crate) mod store;
pub(crate) mod test;
pub(crate) mod verify;

use std::path::Path;

use hive_manifest::{Manifest, SystemKind, Target};
use hive_plan::{Lock, Plan, PlanOptions, Probe};
use hive_store::Store;

use crate::dispatch::CliError;
use crate::settings::Settings;

/// The manifest and every target file it names, validated (what `check` checks).
pub(crate) fn load_checked(manifest: &Path) -> Result<Manifest, CliError> {
    let manifest = hive_manifest::load_manifest(manifest)?;
    for target in &manifest.hive.targets {
        hive_manifest::load_target(&manifest, target)?;
    }
    Ok(manifest)
}

/// What a hive is made of, for a one-line summary: "the Brain and 2 skills (net, pdf),
/// targets `a`, `b`".
pub(crate) fn contents(manifest: &Manifest) -> String {
    let skills: Vec<&str> = manifest.skills.keys().map(String::as_str).collect();
    format!(
        "the Brain and {} skill{} ({}), targets `{}`",
        skills.len(),
        if skills.len() == 1 { "" } else { "s" },
        skills.join(", "),
        manifest.hive.targets.join("`, `"),
    )
}

/// The manifest, and the target to work on: the one named, or the hive's only one.
pub(crate) fn load(manifest: &Path, target: Option<&str>) -> Result<(Manifest, Target), CliError> {
    let manifest = hive_manifest::load_manifest(manifest)?;
    let name = match (target, manifest.hive.targets.as_slice()) {
        (Some(name), _) => name.to_owned(),
        (None, [only]) => only.clone(),
        (None, targets) => {
            return Err(CliError::usage(format!(
                "`{}` has several targets: pick one with `--target` (`{}`)",
                manifest.hive.name,
                targets.join("`, `")
            )));
        }
    };
    let target = hive_manifest::load_target(&manifest, &name)?;
    Ok((manifest, target))
}

/// A tool probe whose answers (paths, versions) are cached in the store, when there is one.
pub(crate) fn probe(store: Option<&Store>) -> Probe {
    Probe::new(store.map(|s| s.cache_dir().join("toolchains-v1.json")))
}

/// The plan for a manifest and target, with tool versions cached in the store.
pub(crate) fn make_plan(
    settings: &Settings,
    store: Option<&Store>,
    manifest: &Manifest,
    target: &Target,
) -> Result<Plan, CliError> {
    let probe = probe(store);
    let plan = with_plan_options(settings, &probe, manifest, target, |options| {
        hive_plan::plan(manifest, options)
    });
    probe.save();
    plan
}

/// The plan and every tool it runs, found or missing (for `doctor`, which asks many plans
/// with one probe and saves its answers once).
pub(crate) fn make_survey(
    settings: &Settings,
    probe: &Probe,
    manifest: &Manifest,
    target: &Target,
) -> Result<hive_plan::Survey, CliError> {
    with_plan_options(settings, probe, manifest, target, |options| {
        hive_plan::survey(manifest, options)
    })
}

/// Call `plan` with what planning reads besides the manifest and target: the lock, the
/// local source folders, and the probe that finds tools.
fn with_plan_options<T>(
    settings: &Settings,
    probe: &Probe,
    manifest: &Manifest,
    target: &Target,
    plan: impl FnOnce(&PlanOptions<'_>) -> Result<T, hive_plan::PlanError>,
) -> Result<T, CliError> {
    let lock = Lock::load(manifest.root())?;
    let overrides = source_overrides(settings, manifest)?;
    let options = PlanOptions {
        target,
        lock: &lock,
        overrides: &overrides,
        probe,
        source_date_epoch: settings.engine.source_date_epoch,
        rustc: settings.rustc.clone(),
    };
    Ok(plan(&options)?)
}

/// `--source NAME=PATH`, and for the sources not named there `HIVEBUILD_<NAME>_SRC=PATH`
/// (`rust-sel4` → `HIVEBUILD_RUST_SEL4_SRC`): local folders used instead of the declared
/// sources.
pub(crate) fn source_overrides(
    settings: &Settings,
    manifest: &Manifest,
) -> Result<std::collections::BTreeMap<String, std::path::PathBuf>, CliError> {
    let mut overrides = settings.overrides.clone();
    for name in manifest.sources.keys() {
        if overrides.contains_key(name) {
            continue;
        }
        let var = hive_plan::source_env_var(name);
        let Some(path) = std::env::var_os(&var) else {
            continue;
        };
        let what = format!("{var}={}", path.to_string_lossy());
        let path = crate::settings::local_folder(&what, &path)?;
        overrides.insert(name.clone(), path);
    }
    Ok(overrides)
}

pub(crate) fn open_store(settings: &Settings) -> Result<Store, CliError> {
    Ok(Store::open(&settings.store_dir)?)
}

/// Remember what this manifest and target use, so that `store gc` keeps it. Written only
/// when it changed, to keep no-op builds cheap.
pub(crate) fn record_root(
    store: &Store,
    manifest: &Manifest,
    plan: &Plan,
    report: &hive_engine::BuildReport,
) -> Result<(), CliError> {
    let manifest_path =
        std::path::absolute(&manifest.file).unwrap_or_else(|_| manifest.file.clone());
    let root = hive_store::GcRoot {
        manifest: manifest_path.display().to_string(),
        target: plan.target.clone(),
        entries: report.steps.iter().map(|s| s.store_name.clone()).collect(),
    };
    let id = hive_plan::Digest::of(format!("{}\0{}", root.manifest, root.target).as_bytes()).hex();
    let id = &id[..16];
    let path = store.root().join(".roots").join(format!("{id}.json"));
    let current = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<hive_store::GcRoot>(&bytes).ok());
    if current.is_none_or(|c| c.entries != root.entries) {
        store.set_root(id, &root)?;
    }
    Ok(())
}

/// What building a hive for a target leaves: the store, the plan, and each step's output.
pub(crate) struct Built {
    pub(crate) store: Store,
    pub(crate) plan: Plan,
    pub(crate) report: hive_engine::BuildReport,
}

/// Build a hive for a target (showing progress) and remember it as a gc root.
pub(crate) fn build(
    settings: &Settings,
    manifest: &Manifest,
    target: &Target,
) -> Result<Built, CliError> {
    let store = open_store(settings)?;
    let plan = make_plan(settings, Some(&store), manifest, target)?;
    let report = hive_engine::build(
        &plan,
        &store,
        &settings.engine,
        &crate::output::CliReporter::new(settings),
    )?;
    record_root(&store, manifest, &plan, &report)?;
    Ok(Built {
        store,
        plan,
        report,
    })
}

/// The image that boots the hive's system: the stand-in kernel, or Microkit's loader
/// image (seL4, the monitor and every protection domain).
pub(crate) fn system_image(plan: &Plan, report: &hive_engine::BuildReport) -> std::path::PathBuf {
    report
        .artefact(&plan.boot_image())
        .expect("the plan boots its system")
}

/// The boots that test a hive, in order: the system, then each skill — in an image of its
/// own (stand-ins), or within the system's boot (seL4: its protection domains).
pub(crate) fn bootable_images(
    manifest: &Manifest,
    plan: &Plan,
    report: &hive_engine::BuildReport,
) -> Vec<TestImage> {
    let system = system_image(plan, report);
    let mut images = vec![TestImage {
        name: "kernel".to_owned(),
        path: system.clone(),
        skill: None,
        in_system: false,
        extra: Vec::new(),
    }];
    for name in manifest.skills.keys() {
        let (path, in_system) = match plan.system {
            SystemKind::Standins => (
                report
                    .artefact(&plan.skill_image(name))
                    .expect("the plan has this step"),
                false,
            ),
            SystemKind::Microkit => (system.clone(), true),
        };
        images.push(TestImage {
            name: hive_plan::Role::Skill(name.clone()).name(),
            path,
            skill: Some(name.clone()),
            in_system,
            extra: Vec::new(),
        });
    }
    images
}

/// The QEMU machine that boots `image` of `target`, with the accelerator chosen for it
/// (a KVM probe looks for `marker`; answers are cached in the store).
pub(crate) fn machine_for_image(
    target: &Target,
    image: &Path,
    marker: Option<&str>,
    store: &Store,
) -> Result<(hive_qemu::Machine, hive_qemu::AccelChoice), CliError> {
    let choice = hive_qemu::choose_accel(
        target,
        image,
        marker,
        Some(&store.cache_dir().join("kvm-probe-v1.json")),
    );
    let machine =
        hive_qemu::machine_for(target, choice.accel).map_err(|error| CliError::Refused {
            message: error.to_string(),
            hint: Some(format!(
                "add a `[qemu]` section to `targets/{}.toml`",
                target.name
            )),
            code: crate::exit_codes::BOOT_FAILED,
        })?;
    Ok((machine, choice))
}

/// A QEMU that could not be run.
pub(crate) fn qemu_failed(error: &hive_qemu::QemuError) -> CliError {
    let cause = std::error::Error::source(error)
        .map(|cause| format!(": {cause}"))
        .unwrap_or_default();
    CliError::Refused {
        message: format!("{error}{cause}"),
        hint: Some(
            "install QEMU: `ci/install-deps` (Debian), or your system's qemu-system packages"
                .into(),
        ),
        code: crate::exit_codes::BOOT_FAILED,
    }
}

/// The manifest's `[tests.smoke]`, which says what each image prints when it is ready.
pub(crate) fn smoke_tests(manifest: &Manifest) -> Result<hive_manifest::model::Smoke, CliError> {
    manifest
        .tests
        .smoke
        .clone()
        .ok_or_else(|| CliError::Refused {
            message: format!(
                "`{}` has no `[tests.smoke]` section",
                manifest.file.display()
            ),
            hint: Some(
                "declare the console markers each image prints; see docs/manifest.md#tests".into(),
            ),
            code: crate::exit_codes::TEST_FAILED,
        })
}

/// One boot a test makes, with the QEMU arguments it needs besides the machine's.
pub(crate) struct TestImage {
    pub(crate) name: String,
    pub(crate) path: std::path::PathBuf,
    /// The skill this boot is about (None: the system itself).
    pub(crate) skill: Option<String>,
    /// The skill runs inside the system's image (seL4): expect the system's markers first.
    pub(crate) in_system: bool,
    pub(crate) extra: Vec<String>,
}

/// What a test boots: the images of a build, or with `--image` the kernel (and device tree)
/// taken from a release folder's boot partition. Keeps the store (for the KVM probe cache)
/// and any scratch folder alive.
pub(crate) struct ToTest {
    pub(crate) store: Store,
    pub(crate) images: Vec<TestImage>,
    _scratch: Option<tempfile::TempDir>,
}

pub(crate) fn images_to_test(
    settings: &Settings,
    manifest: &Manifest,
    target: &Target,
    release: Option<&Path>,
) -> Result<ToTest, CliError> {
    let Some(release) = release else {
        let Built {
            store,
            report,
            plan,
        } = build(settings, manifest, target)?;
        let images = bootable_images(manifest, &plan, &report);
        return Ok(ToTest {
            store,
            images,
            _scratch: None,
        });
    };
    let refused = |message: String| CliError::Refused {
        message,
        hint: None,
        code: crate::exit_codes::TEST_FAILED,
    };
    let opened = hive_release::Release::open(release).map_err(|e| refused(e.to_string()))?;
    if (
        opened.manifest.hive.name.as_str(),
        opened.manifest.target.as_str(),
    ) != (manifest.hive.name.as_str(), target.name.as_str())
    {
        return Err(refused(format!(
            "`{}` is a release of hive `{}` for `{}`, not of `{}` for `{}`",
            release.display(),
            opened.manifest.hive.name,
            opened.manifest.target,
            manifest.hive.name,
            target.name
        )));
    }
    let image = opened.dir.image();
    let image_manifest = opened.manifest;
    let qemu = target
        .qemu
        .as_ref()
        .ok_or_else(|| refused(format!("target `{}` has no `[qemu]` section", target.name)))?;
    let kernel_file = qemu
        .image_kernel
        .as_deref()
        .ok_or_else(|| CliError::Refused {
            message: format!(
                "target `{}` does not say which file of its image is the kernel",
                target.name
            ),
            hint: Some("set `image-kernel` in its `[qemu]` section".into()),
            code: crate::exit_codes::TEST_FAILED,
        })?;
    let scratch = tempfile::tempdir().map_err(|e| refused(format!("no scratch folder: {e}")))?;
    let take = |file: &str| -> Result<std::path::PathBuf, CliError> {
        let bytes = hive_image::extract(&image, &image_manifest, "boot", file)?;
        let path = scratch.path().join(file);
        std::fs::write(&path, bytes)
            .map_err(|e| refused(format!("failed to write `{}`: {e}", path.display())))?;
        Ok(path)
    };
    let kernel = take(kernel_file)?;
    let mut extra = Vec::new();
    if let Some(dtb) = &qemu.image_dtb {
        extra = vec!["-dtb".to_owned(), take(dtb)?.display().to_string()];
    }
    let mut images = vec![TestImage {
        name: "kernel".into(),
        path: kernel.clone(),
        skill: None,
        in_system: false,
        extra: extra.clone(),
    }];
    // seL4: the skills are protection domains of the same image.
    if target.system == SystemKind::Microkit {
        for name in manifest.skills.keys() {
            images.push(TestImage {
                name: hive_plan::Role::Skill(name.clone()).name(),
                path: kernel.clone(),
                skill: Some(name.clone()),
                in_system: true,
                extra: extra.clone(),
            });
        }
    }
    Ok(ToTest {
        store: open_store(settings)?,
        images,
        _scratch: Some(scratch),
    })
}
