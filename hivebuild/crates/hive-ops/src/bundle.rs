//! `bundle`, `bundle inspect`, `apply`, `publish`, `fetch-update` (docs/bundle-format.md).
//!
//! A bundle's components are the files of the release image's FAT partitions (the boot
//! files: the loader image or kernel, firmware, configuration), each checked against the
//! image's file list as it is read out of the image, and each skill's own image.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use hive_plan::Role;
use hive_release::{Release, ReleaseDir};
use hive_sign::Envelope;
use hive_update::{BundleRequest, ComponentFile};
use serde_json::json;
use time::OffsetDateTime;

use crate::error::Area;
use crate::signing::{SignerSpec, Signers, expires_in};
use crate::{Error, Outcome, Result};

pub struct BundleOptions<'a> {
    /// The release to bring devices to.
    pub to: &'a Path,
    /// The release devices run now, and its bundle version: makes a delta.
    pub from: Option<(&'a Path, Option<u64>)>,
    /// Only this component.
    pub component: Option<&'a str>,
    pub output: &'a Path,
    pub version: u64,
    pub signers: &'a SignerSpec,
    pub expires: &'a str,
}

pub struct Bundled {
    pub path: PathBuf,
    pub version: u64,
    pub bytes: u64,
    pub signed: hive_update::BundleSigned,
    pub development: bool,
}

pub fn bundle(options: &BundleOptions<'_>) -> Result<Bundled> {
    let signers = Signers::or_development(options.signers, None)?;
    let expires = expires_in(options.expires)?;
    let (release, components, _new) = release_components(options.to, options.version)?;
    let files = &release.files;
    let (base, from_version, _old) = match options.from {
        Some((from, from_version)) => {
            let (old, base, scratch) = release_components(from, 0)?;
            let identity = |m: &hive_image::FileList| {
                let target = format!("{} ({})", m.target, m.hardware_id);
                crate::error::release_of(&m.hive.name, &target)
            };
            if identity(&old.files) != identity(files) {
                return Err(Error::WrongRelease {
                    dir: from.to_owned(),
                    found: identity(&old.files),
                    wanted: identity(files),
                    area: Area::Update,
                });
            }
            (base, from_version, Some(scratch))
        }
        None => (Vec::new(), None, None),
    };
    let request = BundleRequest {
        hive: files.hive.name.clone(),
        hive_version: files.hive.version.clone(),
        target: files.target.clone(),
        hardware_id: files.hardware_id.clone(),
        version: options.version,
        expires,
        components,
        roots: release.newer_roots()?,
        base,
        from_version,
        only: options.component.map(str::to_owned),
    };
    let signed = hive_update::write_bundle(&request, &signers.as_dyn(), options.output)?;
    Ok(Bundled {
        path: options.output.to_owned(),
        version: options.version,
        bytes: std::fs::metadata(options.output).map_or(0, |m| m.len()),
        signed,
        development: signers.development.is_some(),
    })
}

impl Outcome for Bundled {
    fn text(&self) -> String {
        let count = |carried: hive_update::Carried| {
            self.signed
                .custom
                .components
                .iter()
                .filter(|c| c.carried == carried)
                .count()
        };
        let mut text = format!(
            "wrote `{}`: {} bundle, version {}, {} bytes; components: {} whole, {} as deltas, {} unchanged\n",
            self.path.display(),
            self.signed.custom.kind.describe(),
            self.version,
            self.bytes,
            count(hive_update::Carried::Full),
            count(hive_update::Carried::Delta),
            count(hive_update::Carried::Unchanged),
        );
        if self.development {
            let _ = writeln!(
                text,
                "note: development-signed; give `--sign-key KEY` for a release"
            );
        }
        text
    }

    fn json(&self) -> serde_json::Value {
        json!({"bundle": self.path, "version": self.version, "kind": self.signed.custom.kind.describe(), "bytes": self.bytes, "components": self.signed.custom.components})
    }
}

/// A release folder and its components: the files of its image's FAT partitions, each
/// checked against the image's file list, written to a scratch folder (returned to keep it),
/// and each skill's own image, checked against the signed metadata.
fn release_components(
    dir: &Path,
    version: u64,
) -> Result<(Release, Vec<ComponentFile>, tempfile::TempDir)> {
    let release = Release::open(dir).map_err(|source| Error::ReleaseInput {
        dir: dir.to_owned(),
        area: Area::Update,
        source: Box::new(source),
    })?;
    let image = release.dir.image();
    let scratch =
        tempfile::tempdir().map_err(Error::io(Area::Update, "create", "a scratch folder"))?;
    let tampered = |partition: Option<&str>, file: &str| Error::ReleaseTampered {
        dir: dir.to_owned(),
        partition: partition.map(str::to_owned),
        file: file.to_owned(),
    };
    let mut components = Vec::new();
    for partition in release
        .files
        .partitions
        .iter()
        .filter(|p| p.kind == "fat32")
    {
        for file in &partition.files {
            let bytes = hive_image::extract(&image, &release.files, &partition.name, &file.path)?;
            if hive_plan::Digest::of(&bytes).hex() != file.sha256 {
                return Err(tampered(Some(&partition.name), &file.path));
            }
            let path = scratch.path().join(&file.path);
            std::fs::write(&path, &bytes).map_err(Error::io(Area::Update, "write", &path))?;
            components.push(ComponentFile {
                name: file.path.clone(),
                origin: file.source.clone(),
                path,
                release: version,
            });
        }
    }
    for (skill, file, entry) in release.skills() {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(Error::io(Area::Update, "read", &path))?;
        if Some(&hive_plan::Digest::of(&bytes).hex()) != entry.hashes.get("sha256") {
            return Err(tampered(None, file));
        }
        components.push(ComponentFile {
            name: ReleaseDir::skill_component(skill),
            origin: format!("step:{}", Role::Skill(skill.to_owned())),
            path,
            release: version,
        });
    }
    Ok((release, components, scratch))
}

/// What a bundle holds and says of itself (its signatures are not checked here).
pub struct Inspected {
    pub file: PathBuf,
    pub envelope: Envelope,
    pub signed: hive_update::BundleSigned,
}

pub fn inspect(file: &Path) -> Result<Inspected> {
    let input = std::fs::File::open(file).map_err(Error::io(Area::Update, "read", file))?;
    let mut reader = hive_update::format::Reader::new(std::io::BufReader::new(input));
    let (envelope, signed) = hive_update::metadata::read(&mut reader)?;
    Ok(Inspected {
        file: file.to_owned(),
        envelope,
        signed,
    })
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

impl Outcome for Inspected {
    fn text(&self) -> String {
        let (signed, info) = (&self.signed, &self.signed.custom);
        let mut text = format!(
            "bundle `{}`: {} bundle version {} of hive `{}` {} for target `{}` (hardware id `{}`)\n  expires {}; {}; {}\n",
            self.file.display(),
            info.kind.describe(),
            signed.version,
            info.hive,
            info.hive_version,
            info.target,
            info.hardware_id,
            signed.expires,
            plural(self.envelope.signatures.len(), "signature"),
            plural(info.roots.len(), "newer root"),
        );
        for component in &info.components {
            let stored = component
                .payload
                .as_ref()
                .and_then(|p| signed.targets.get(p))
                .map(|t| format!("{} bytes stored", t.length))
                .unwrap_or_default();
            let _ = writeln!(
                text,
                "  {:<24} {:<9} release {:<6} {:>10} bytes  sha256 {}  {stored}",
                component.name,
                component.carried.as_str(),
                component.release,
                component.length,
                &component.sha256[..16],
            );
        }
        text
    }

    fn json(&self) -> serde_json::Value {
        json!({"signed": self.signed, "signatures": self.envelope.signatures.len()})
    }
}

/// A bundle applied to a device folder.
pub struct Applied {
    pub file: PathBuf,
    pub device: PathBuf,
    pub applied: hive_update::Applied,
}

/// Apply the bundle `file` to the folder `device`, with progress going to `reporter`.
pub fn apply(
    file: &Path,
    device: &Path,
    trust_root: Option<&Path>,
    reporter: &dyn hive_update::Reporter,
) -> Result<Applied> {
    let input = std::fs::File::open(file).map_err(Error::io(Area::Update, "read", file))?;
    let trust_root = trust_root.map(read_root).transpose()?;
    let applied = hive_update::apply(
        input,
        device,
        trust_root.as_ref(),
        OffsetDateTime::now_utc(),
        reporter,
    )?;
    Ok(Applied {
        file: file.to_owned(),
        device: device.to_owned(),
        applied,
    })
}

/// "version N in slot S (provisioned); K components written, M kept"
fn describe(applied: &hive_update::Applied) -> String {
    format!(
        "version {} in slot {}{}; {} written, {} kept",
        applied.version,
        applied.slot,
        if applied.provisioned {
            " (provisioned)"
        } else {
            ""
        },
        plural(applied.written.len(), "component"),
        applied.kept.len(),
    )
}

impl Outcome for Applied {
    fn text(&self) -> String {
        format!(
            "applied `{}` to `{}`: {}; trust root version {}\n",
            self.file.display(),
            self.device.display(),
            describe(&self.applied),
            self.applied.root_version,
        )
    }

    fn json(&self) -> serde_json::Value {
        let a = &self.applied;
        json!({"version": a.version, "slot": a.slot.to_string(), "written": a.written, "kept": a.kept, "provisioned": a.provisioned})
    }
}

fn read_root(path: &Path) -> Result<Envelope> {
    let bytes = std::fs::read(path).map_err(Error::trust_root(Area::Update, path))?;
    Ok(Envelope::parse(&bytes)?)
}

pub struct Published {
    pub repo: PathBuf,
    pub published: hive_update::repo::Published,
}

pub fn publish(
    repo: &Path,
    bundle: &Path,
    trust_root: Option<&Path>,
    signers: &SignerSpec,
    expires: &str,
) -> Result<Published> {
    let signers = Signers::or_development(signers, None)?;
    let root = trust_root.map(read_root).transpose()?;
    let published = hive_update::repo::publish(
        repo,
        bundle,
        root.as_ref(),
        &signers.as_dyn(),
        &expires_in(expires)?,
        OffsetDateTime::now_utc(),
    )?;
    Ok(Published {
        repo: repo.to_owned(),
        published,
    })
}

impl Outcome for Published {
    fn text(&self) -> String {
        let mut text = format!(
            "published `{}` in `{}`\n",
            self.published.name,
            self.repo.display()
        );
        if self.published.rotated {
            let _ = writeln!(
                text,
                "the repository's trust root is now version {} (carried by the bundle)",
                self.published.root_version
            );
        }
        text
    }

    fn json(&self) -> serde_json::Value {
        json!({"published": self.published.name, "repo": self.repo, "root-version": self.published.root_version})
    }
}

/// Files of a repository over plain HTTP (no TLS: loopback and trusted networks; TUF
/// metadata carries the trust) or from a folder.
enum Remote {
    Http(String),
    Folder(hive_update::repo::Folder),
}

impl hive_update::repo::Fetch for Remote {
    fn fetch_to(
        &self,
        path: &str,
        limit: u64,
        out: &mut dyn std::io::Write,
    ) -> Result<Option<u64>, hive_update::UpdateError> {
        let failed = |message: String| hive_update::UpdateError::Repository(message);
        match self {
            Remote::Folder(folder) => folder.fetch_to(path, limit, out),
            Remote::Http(base) => {
                let url = format!("{}/{path}", base.trim_end_matches('/'));
                let response = match ureq::get(&url).call() {
                    Ok(response) => response,
                    Err(ureq::Error::Status(404, _)) => return Ok(None),
                    Err(error) => return Err(failed(format!("{url}: {error}"))),
                };
                let copied = std::io::copy(&mut response.into_reader().take(limit + 1), out)
                    .map_err(|e| failed(format!("{url}: {e}")))?;
                if copied > limit {
                    return Err(failed(format!("{url} is over {limit} bytes")));
                }
                Ok(Some(copied))
            }
        }
    }

    fn fetch(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, hive_update::UpdateError> {
        let mut bytes = Vec::new();
        Ok(self.fetch_to(path, limit, &mut bytes)?.map(|_| bytes))
    }
}

pub struct Fetched(pub hive_update::repo::Updated);

/// Play a device's updater against a repository (`http://…` or a folder).
pub fn fetch_update(
    repo: &str,
    device: &Path,
    trust_root: Option<&Path>,
    hardware_id: Option<&str>,
    reporter: &dyn hive_update::Reporter,
) -> Result<Fetched> {
    let remote = if repo.starts_with("http://") {
        Remote::Http(repo.to_owned())
    } else if repo.contains("://") {
        return Err(Error::usage(format!(
            "`{repo}`: repositories are `http://` URLs or folders"
        )));
    } else {
        Remote::Folder(hive_update::repo::Folder(PathBuf::from(repo)))
    };
    let root = trust_root.map(read_root).transpose()?;
    Ok(Fetched(hive_update::repo::fetch_update(
        &remote,
        device,
        root.as_ref(),
        hardware_id,
        OffsetDateTime::now_utc(),
        reporter,
    )?))
}

impl Outcome for Fetched {
    fn text(&self) -> String {
        match &self.0.applied {
            Some((name, applied)) => {
                format!("fetched and applied `{name}`: {}\n", describe(applied))
            }
            None => "up to date: the repository has nothing newer for this device\n".to_owned(),
        }
    }

    fn json(&self) -> serde_json::Value {
        let updated = &self.0;
        json!({"applied": updated.applied.as_ref().map(|(name, a)| json!({"bundle": name, "version": a.version, "slot": a.slot.to_string()})), "seen": {"timestamp": updated.seen.timestamp, "snapshot": updated.seen.snapshot, "targets": updated.seen.targets}})
    }
}
