//! `image`: build, compose the target's image, and write the release folder
//! (`hive_release::ReleaseDir`): the image, its file list, the SBOM, each skill's own image and
//! the signed metadata over all of them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hive_image::files::HiveInfo;
use hive_image::{ComposeOptions, Inputs};
use hive_manifest::Manifest;
use hive_plan::{Plan, Role, SourceInput};
use hive_release::{Component, ReleaseDir, ReleaseInfo};
use serde_json::json;

use crate::error::Area;
use crate::signing::{SignerSpec, Signers, expires_in};
use crate::{Context, Error, Result};

pub struct ImageOptions<'a> {
    pub manifest: &'a Path,
    pub target: Option<&'a str>,
    pub output: &'a Path,
    pub signers: &'a SignerSpec,
    /// `365d`, `12h`.
    pub expires: &'a str,
    /// Write every byte instead of leaving holes.
    pub dense: bool,
}

/// A release folder, written.
pub struct Imaged {
    pub image: PathBuf,
    pub size: u64,
    pub used: u64,
    pub files: PathBuf,
    pub sbom: PathBuf,
    pub targets: PathBuf,
    pub signatures: usize,
    /// The development root, when the project's development key signed.
    pub development: Option<PathBuf>,
}

pub fn image(cx: &Context<'_>, options: &ImageOptions<'_>) -> Result<Imaged> {
    let (manifest, target) = crate::project::load(options.manifest, options.target)?;
    let layout = target.image.as_ref().ok_or_else(|| Error::NoImageLayout {
        target: target.name.clone(),
    })?;
    let signers = Signers::or_development(options.signers, Some(manifest.root()))?;
    let expires = expires_in(options.expires)?;
    let built = crate::build::build(cx, &manifest, &target)?;
    let (plan, report) = (&built.plan, &built.report);

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
    std::fs::create_dir_all(options.output).map_err(Error::io(
        Area::Image,
        "create",
        options.output,
    ))?;
    let release = ReleaseDir::new(options.output, &manifest.hive.name, &target.name);
    let image = release.image();
    let compose = ComposeOptions {
        hive: HiveInfo {
            name: manifest.hive.name.clone(),
            version: manifest.hive.version.to_string(),
        },
        target: target.name.clone(),
        file_name: release.image_name(),
        mtime: cx.engine.source_date_epoch,
        sparse: !options.dense,
    };
    let composed = hive_image::compose(layout, &inputs, &image, &compose, cx.reporter)?;
    let write = |path: PathBuf, text: String| -> Result<PathBuf> {
        std::fs::write(&path, text).map_err(Error::io(Area::Image, "write", &path))?;
        Ok(path)
    };
    let files = write(release.file_list(), composed.files.to_json())?;
    let bill = hive_release::sbom(
        &manifest.hive.name,
        &manifest.hive.version.to_string(),
        &target.name,
        &components(&manifest, plan, &composed.files),
    );
    let sbom = write(
        release.sbom(),
        serde_json::to_string_pretty(&bill).expect("json") + "\n",
    )?;
    let info = ReleaseInfo {
        trust_root: manifest.update.as_ref().map(|u| u.trust_root.clone()),
        development: signers.development.is_some(),
        expires,
    };
    // Each skill's own image, for bundles that replace one skill.
    let mut skills = Vec::new();
    for name in manifest.skills.keys() {
        let built = report
            .artefact(&plan.skill_image(name))
            .expect("the plan has this step");
        std::fs::copy(&built, release.skill(name)).map_err(Error::io(
            Area::Image,
            "copy",
            &built,
        ))?;
        skills.push(name.clone());
    }
    let targets =
        hive_release::write_targets(&release, &composed.files, &info, &skills, &signers.as_dyn())?;
    Ok(Imaged {
        image,
        size: composed.files.image.size,
        used: composed.used,
        files,
        sbom,
        targets,
        signatures: signers.list.len(),
        development: signers.development,
    })
}

impl crate::Outcome for Imaged {
    fn text(&self) -> String {
        let mib =
            |bytes: u64| format!("{}.{}", bytes >> 20, ((bytes & ((1 << 20) - 1)) * 10) >> 20);
        let mut text = format!(
            "wrote `{}`: {} MiB, {} MiB used on disk\n  file list `{}`\n  SBOM `{}`\n  signed metadata `{}` ({} signature{})\n",
            self.image.display(),
            mib(self.size),
            mib(self.used),
            self.files.display(),
            self.sbom.display(),
            self.targets.display(),
            self.signatures,
            if self.signatures == 1 { "" } else { "s" }
        );
        if let Some(root) = &self.development {
            let _ = writeln!(
                text,
                "note: development-signed with the key in `{}`; give `--sign-key KEY` for a release",
                root.parent().unwrap_or(root).display()
            );
        }
        text
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "image": self.image, "size": self.size, "used": self.used, "manifest": self.files,
            "sbom": self.sbom, "targets": self.targets, "development": self.development.is_some(),
        })
    }
}

/// The bill of materials: the built steps, the sources they read, the files in the image,
/// and the Brain's crates.
fn components(manifest: &Manifest, plan: &Plan, image: &hive_image::FileList) -> Vec<Component> {
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
