//! `hivebuild image MANIFEST --target T -o DIR [--sign-key KEY...]`: build, compose the
//! target's image, and write its manifest, SBOM and signed metadata next to it.

use std::fmt::Write as _;
use std::path::PathBuf;

use hive_image::manifest::HiveInfo;
use hive_image::{ComposeOptions, Inputs};
use hive_plan::{Role, SourceInput};
use hive_release::{Component, ReleaseDir, ReleaseInfo};
use serde_json::json;

use super::signing::{as_dyn, development, expires_in, signers};
use crate::cli::ImageArgs;
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ImageArgs) -> Result<(), CliError> {
    let (manifest, target) = super::load(&args.target.manifest, args.target.target.as_deref())?;
    let Some(layout) = &target.image else {
        return Err(CliError::Refused {
            message: format!("target `{}` has no `[image]` section", target.name),
            hint: Some(format!(
                "describe its disk layout in `targets/{}.toml` (see docs/image.md)",
                target.name
            )),
            code: crate::exit_codes::IMAGE_FAILED,
        });
    };
    let mut signers = signers(&args.signers)?;
    let expires = expires_in(&args.expires)?;
    let development_root = if signers.is_empty() {
        let (key, root) = development(manifest.root())?;
        signers.push(Box::new(key));
        Some(root)
    } else {
        None
    };

    let super::Built { plan, report, .. } = super::build(settings, &manifest, &target)?;

    let inputs = Inputs {
        assets: report
            .steps
            .iter()
            .filter_map(|s| match &s.role {
                Role::Asset(name) => Some((name.clone(), s.path.clone())),
                _ => None,
            })
            .collect(),
        steps: report
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.path.clone()))
            .collect(),
        root: target.root.clone(),
        context: json!({
            "hive": {"name": manifest.hive.name, "version": manifest.hive.version.to_string()},
            "target": {"name": target.name, "arch": target.arch.as_str(), "board": target.board, "triple": target.rust.triple},
            "kernel": {"config": manifest.kernel.config_for(&target.name).as_str()},
            "image": {"hardware_id": layout.hardware_id},
        }),
    };
    std::fs::create_dir_all(&args.output).map_err(|error| CliError::Refused {
        message: format!("failed to create `{}`: {error}", args.output.display()),
        hint: None,
        code: crate::exit_codes::IMAGE_FAILED,
    })?;
    let release = ReleaseDir::new(&args.output, &manifest.hive.name, &target.name);
    let image = release.image();
    let options = ComposeOptions {
        hive: HiveInfo {
            name: manifest.hive.name.clone(),
            version: manifest.hive.version.to_string(),
        },
        target: target.name.clone(),
        file_name: release.image_name(),
        mtime: settings.engine.source_date_epoch,
        sparse: !args.dense,
    };
    let composed = hive_image::compose(layout, &inputs, &image, &options)?;
    let write = |path: PathBuf, text: String| -> Result<PathBuf, CliError> {
        std::fs::write(&path, text).map_err(|error| CliError::Refused {
            message: format!("failed to write `{}`: {error}", path.display()),
            hint: None,
            code: crate::exit_codes::IMAGE_FAILED,
        })?;
        Ok(path)
    };
    let manifest_path = write(release.manifest(), composed.manifest.to_json())?;
    let bill = hive_release::sbom(
        &manifest.hive.name,
        &manifest.hive.version.to_string(),
        &target.name,
        &components(&manifest, &plan, &composed.manifest),
    );
    let sbom_path = write(
        release.sbom(),
        serde_json::to_string_pretty(&bill).expect("json") + "\n",
    )?;
    let info = ReleaseInfo {
        trust_root: manifest.update.as_ref().map(|u| u.trust_root.clone()),
        development: development_root.is_some(),
        expires,
    };
    // Each skill's own image, for bundles that replace one skill.
    let mut skills = Vec::new();
    for name in manifest.skills.keys() {
        let built = report
            .artefact(&plan.skill_image(name))
            .expect("the plan has this step");
        std::fs::copy(&built, release.skill(name)).map_err(|error| CliError::Refused {
            message: format!("failed to copy `{}`: {error}", built.display()),
            hint: None,
            code: crate::exit_codes::IMAGE_FAILED,
        })?;
        skills.push(name.clone());
    }
    let targets = hive_release::write_targets(
        &release,
        &composed.manifest,
        &info,
        &skills,
        &as_dyn(&signers),
    )?;

    let mib = |bytes: u64| format!("{}.{}", bytes >> 20, ((bytes & ((1 << 20) - 1)) * 10) >> 20);
    let mut text = format!(
        "wrote `{}`: {} MiB, {} MiB used on disk\n  manifest `{}`\n  SBOM `{}`\n  signed metadata `{}` ({} signature{})\n",
        image.display(),
        mib(composed.manifest.image.size),
        mib(composed.used),
        manifest_path.display(),
        sbom_path.display(),
        targets.display(),
        signers.len(),
        if signers.len() == 1 { "" } else { "s" }
    );
    if let Some(root) = &development_root {
        let _ = writeln!(
            text,
            "note: development-signed with the key in `{}`; give `--sign-key KEY` for a release",
            root.parent().unwrap_or(root).display()
        );
    }
    print_result(
        settings,
        &text,
        &json!({
            "image": image, "size": composed.manifest.image.size, "used": composed.used, "manifest": manifest_path,
            "sbom": sbom_path, "targets": targets, "development": development_root.is_some(),
        }),
    );
    Ok(())
}

/// The bill of materials: the built steps, the sources they read, the files in the image,
/// and the Brain's crates.
fn components(
    manifest: &hive_manifest::Manifest,
    plan: &hive_plan::Plan,
    image: &hive_image::ImageManifest,
) -> Vec<Component> {
    let mut components = Vec::new();
    for step in &plan.steps {
        components.push(Component {
            kind: step.role.sbom_kind().into(),
            name: step.name.clone(),
            version: None,
            purl: match &step.kind {
                hive_plan::StepKind::Asset {
                    package,
                    version,
                    arch,
                    ..
                } => Some(format!("pkg:deb/debian/{package}@{version}?arch={arch}")),
                _ => None,
            },
            sha256: None,
            origin: format!("step:{} key {}", step.name, step.key),
        });
        for (name, input) in &step.sources {
            let origin = match input {
                SourceInput::Path { hash, .. } => format!("source:{name} tree {hash}"),
                SourceInput::Fetched { step } => format!("source:{name} from {step}"),
            };
            components.push(Component {
                kind: "data".into(),
                name: format!("{}:{name}", step.name),
                version: None,
                purl: None,
                sha256: None,
                origin,
            });
        }
    }
    for partition in &image.partitions {
        for file in &partition.files {
            components.push(Component {
                kind: "file".into(),
                name: format!("{}/{}", partition.name, file.path),
                version: None,
                purl: None,
                sha256: Some(file.sha256.clone()),
                origin: file.source.clone(),
            });
        }
    }
    let lock = manifest
        .root()
        .join(&manifest.brain.path)
        .join("Cargo.lock");
    for (name, version, registry) in hive_plan::lock::cargo_lock_packages(&lock) {
        components.push(Component {
            kind: "library".into(),
            purl: Some(format!("pkg:cargo/{name}@{version}")),
            name,
            version: Some(version),
            sha256: None,
            origin: if registry {
                "crates.io".into()
            } else {
                format!("path:{}", manifest.brain.path)
            },
        });
    }
    components
}
