//! `hivebuild bundle --to RELEASE_DIR -o FILE --bundle-version N`, `hivebuild bundle inspect
//! FILE`, and `hivebuild apply FILE --device DIR [--trust-root ROOT]` (docs/bundle-format.md).
//!
//! A bundle's components are the files of the release image's FAT partitions (the boot
//! files: the loader image or kernel, firmware, configuration), each checked against the
//! image manifest as it is read out of the image.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use hive_sign::Envelope;
use hive_update::metadata;
use hive_update::{BundleRequest, ComponentFile};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::signing::{as_dyn, development, expires_in, project_root, signers};
use crate::cli::{ApplyArgs, BundleArgs, BundleCommand, FetchUpdateArgs, PublishArgs};
use crate::dispatch::CliError;
use crate::exit_codes;
use crate::output::print_result;
use crate::settings::Settings;

fn refused(message: String, hint: Option<String>) -> CliError {
    CliError::Refused {
        message,
        hint,
        code: exit_codes::UPDATE_REFUSED,
    }
}

pub(crate) fn run(settings: &Settings, args: &BundleArgs) -> Result<(), CliError> {
    if let Some(BundleCommand::Inspect { file }) = &args.command {
        return inspect(settings, file);
    }
    let (Some(release), Some(output), Some(version)) = (&args.to, &args.output, args.version)
    else {
        return Err(CliError::usage(
            "`bundle` needs `--to RELEASE_DIR`, `-o FILE` and `--bundle-version N`",
        ));
    };
    let mut signers = signers(&args.signers)?;
    let expires = expires_in(&args.expires)?;
    let development_signed = signers.is_empty();
    if development_signed {
        let root = project_root().ok_or_else(|| {
            CliError::usage("no signing key: give `--sign-key KEY` (or run inside the project)")
        })?;
        signers.push(Box::new(development(&root)?.0));
    }
    let (new_release, components, _new) = release_components(release, version)?;
    let image_manifest = &new_release.manifest;
    let (base, _old) = match &args.from {
        Some(from) => {
            let (old_release, base, scratch) = release_components(from, 0)?;
            let old_manifest = &old_release.manifest;
            if (
                &old_manifest.hive.name,
                &old_manifest.target,
                &old_manifest.hardware_id,
            ) != (
                &image_manifest.hive.name,
                &image_manifest.target,
                &image_manifest.hardware_id,
            ) {
                return Err(refused(
                    format!(
                        "`{}` is a release of `{}` for `{}` ({}), `{}` of `{}` for `{}` ({})",
                        from.display(),
                        old_manifest.hive.name,
                        old_manifest.target,
                        old_manifest.hardware_id,
                        release.display(),
                        image_manifest.hive.name,
                        image_manifest.target,
                        image_manifest.hardware_id
                    ),
                    Some("a delta goes between two releases of one hive and target".into()),
                ));
            }
            (base, Some(scratch))
        }
        None => (Vec::new(), None),
    };
    let request = BundleRequest {
        hive: image_manifest.hive.name.clone(),
        hive_version: image_manifest.hive.version.clone(),
        target: image_manifest.target.clone(),
        hardware_id: image_manifest.hardware_id.clone(),
        version,
        expires,
        components,
        roots: new_release.newer_roots()?,
        base,
        from_version: args.from_version,
        only: args.component.clone(),
    };
    let signed = hive_update::write_bundle(&request, &as_dyn(&signers), output)?;
    let size = std::fs::metadata(output).map_or(0, |m| m.len());
    let kind = signed.custom.kind.describe();
    let count = |carried: hive_update::Carried| {
        signed
            .custom
            .components
            .iter()
            .filter(|c| c.carried == carried)
            .count()
    };
    let mut text = format!(
        "wrote `{}`: {kind} bundle, version {version}, {} bytes; components: {} whole, {} as deltas, {} unchanged\n",
        output.display(),
        size,
        count(hive_update::Carried::Full),
        count(hive_update::Carried::Delta),
        count(hive_update::Carried::Unchanged),
    );
    if development_signed {
        let _ = writeln!(
            text,
            "note: development-signed; give `--sign-key KEY` for a release"
        );
    }
    print_result(
        settings,
        &text,
        &json!({"bundle": output, "version": version, "kind": kind, "bytes": size, "components": signed.custom.components}),
    );
    Ok(())
}

/// A release folder and its components: the files of its image's FAT partitions, each
/// checked against the image manifest, written to a scratch folder (returned to keep it).
fn release_components(
    release: &Path,
    version: u64,
) -> Result<(hive_release::Release, Vec<ComponentFile>, tempfile::TempDir), CliError> {
    let opened = open_release(release)?;
    let image = opened.dir.image();
    let image_manifest = &opened.manifest;
    let scratch =
        tempfile::tempdir().map_err(|e| refused(format!("no scratch folder: {e}"), None))?;
    let mut components = Vec::new();
    for partition in image_manifest
        .partitions
        .iter()
        .filter(|p| p.kind == "fat32")
    {
        for file in &partition.files {
            let bytes = hive_image::extract(&image, image_manifest, &partition.name, &file.path)?;
            let sha256 = hex(&Sha256::digest(&bytes));
            if sha256 != file.sha256 {
                return Err(refused(
                    format!(
                        "`{}` in partition `{}` of `{}` does not match the release's image manifest",
                        file.path,
                        partition.name,
                        release.display()
                    ),
                    Some("check the release folder with `hivebuild verify`".into()),
                ));
            }
            let path = scratch.path().join(&file.path);
            std::fs::write(&path, &bytes)
                .map_err(|e| refused(format!("failed to write `{}`: {e}", path.display()), None))?;
            components.push(ComponentFile {
                name: file.path.clone(),
                origin: file.source.clone(),
                path,
                release: version,
            });
        }
    }
    // Each skill's own image, as `hivebuild image` left it next to the disk image.
    for (skill, file, entry) in opened.skills() {
        let path = release.join(file);
        let bytes = std::fs::read(&path)
            .map_err(|e| refused(format!("failed to read `{}`: {e}", path.display()), None))?;
        if Some(&hex(&Sha256::digest(&bytes))) != entry.hashes.get("sha256") {
            return Err(refused(
                format!(
                    "`{}` does not match the release's signed metadata",
                    path.display()
                ),
                Some("check the release folder with `hivebuild verify`".into()),
            ));
        }
        components.push(ComponentFile {
            name: format!("skill-{skill}.elf"),
            origin: format!("step:skill-{skill}"),
            path,
            release: version,
        });
    }
    Ok((opened, components, scratch))
}

/// A release folder, read back (its image manifest's format checked).
fn open_release(dir: &Path) -> Result<hive_release::Release, CliError> {
    hive_release::Release::open(dir).map_err(|error| {
        refused(
            error.to_string(),
            Some("give an output folder of `hivebuild image -o DIR`".into()),
        )
    })
}

/// A bundle's signed metadata, read without checking its signatures.
fn read_metadata(file: &Path) -> Result<(Envelope, hive_update::BundleSigned), CliError> {
    let input = std::fs::File::open(file)
        .map_err(|e| refused(format!("failed to read `{}`: {e}", file.display()), None))?;
    let mut reader = hive_update::format::Reader::new(std::io::BufReader::new(input));
    Ok(metadata::read(&mut reader)?)
}

fn inspect(settings: &Settings, file: &Path) -> Result<(), CliError> {
    let (envelope, signed) = read_metadata(file)?;
    let info = &signed.custom;
    let mut text = format!(
        "bundle `{}`: {} bundle version {} of hive `{}` {} for target `{}` (hardware id `{}`)\n  expires {}; {} signature{}; {} newer root{}\n",
        file.display(),
        info.kind.describe(),
        signed.version,
        info.hive,
        info.hive_version,
        info.target,
        info.hardware_id,
        signed.expires,
        envelope.signatures.len(),
        if envelope.signatures.len() == 1 {
            ""
        } else {
            "s"
        },
        info.roots.len(),
        if info.roots.len() == 1 { "" } else { "s" },
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
    print_result(
        settings,
        &text,
        &json!({"signed": signed, "signatures": envelope.signatures.len()}),
    );
    Ok(())
}

pub(crate) fn apply(settings: &Settings, args: &ApplyArgs) -> Result<(), CliError> {
    let file = std::fs::File::open(&args.file).map_err(|e| {
        refused(
            format!("failed to read `{}`: {e}", args.file.display()),
            None,
        )
    })?;
    let trust_root = args.trust_root.as_deref().map(read_root).transpose()?;
    let applied = hive_update::apply(
        file,
        &args.device,
        trust_root.as_ref(),
        OffsetDateTime::now_utc(),
    )?;
    let text = format!(
        "applied `{}` to `{}`: {}; trust root version {}\n",
        args.file.display(),
        args.device.display(),
        describe(&applied),
        applied.root_version,
    );
    print_result(
        settings,
        &text,
        &json!({"version": applied.version, "slot": applied.slot.to_string(), "written": applied.written, "kept": applied.kept, "provisioned": applied.provisioned}),
    );
    Ok(())
}

/// "version N in slot S (provisioned); K components written, M kept"
fn describe(applied: &hive_update::Applied) -> String {
    format!(
        "version {} in slot {}{}; {} component{} written, {} kept",
        applied.version,
        applied.slot,
        if applied.provisioned {
            " (provisioned)"
        } else {
            ""
        },
        applied.written.len(),
        if applied.written.len() == 1 { "" } else { "s" },
        applied.kept.len(),
    )
}

fn read_root(path: &Path) -> Result<Envelope, CliError> {
    let bytes = std::fs::read(path).map_err(|e| {
        refused(
            format!("failed to read the trust root `{}`: {e}", path.display()),
            None,
        )
    })?;
    Ok(Envelope::parse(&bytes)?)
}

pub(crate) fn publish(settings: &Settings, args: &PublishArgs) -> Result<(), CliError> {
    let mut signers = signers(&args.signers)?;
    if signers.is_empty() {
        let root = project_root().ok_or_else(|| {
            CliError::usage("no signing key: give `--sign-key KEY` (or run inside the project)")
        })?;
        signers.push(Box::new(development(&root)?.0));
    }
    let root = args.trust_root.as_deref().map(read_root).transpose()?;
    let published = hive_update::repo::publish(
        &args.repo,
        &args.bundle,
        root.as_ref(),
        &as_dyn(&signers),
        &expires_in(&args.expires)?,
        OffsetDateTime::now_utc(),
    )?;
    let name = &published.name;
    let mut text = format!("published `{name}` in `{}`\n", args.repo.display());
    if published.rotated {
        let _ = writeln!(
            text,
            "the repository's trust root is now version {} (carried by the bundle)",
            published.root_version
        );
    }
    print_result(
        settings,
        &text,
        &json!({
            "published": name,
            "repo": args.repo,
            "root-version": published.root_version,
        }),
    );
    Ok(())
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

pub(crate) fn fetch_update(settings: &Settings, args: &FetchUpdateArgs) -> Result<(), CliError> {
    let remote = if args.repo.starts_with("http://") {
        Remote::Http(args.repo.clone())
    } else if args.repo.contains("://") {
        return Err(CliError::usage(format!(
            "`{}`: repositories are `http://` URLs or folders",
            args.repo
        )));
    } else {
        Remote::Folder(hive_update::repo::Folder(PathBuf::from(&args.repo)))
    };
    let root = args.trust_root.as_deref().map(read_root).transpose()?;
    let updated = hive_update::repo::fetch_update(
        &remote,
        &args.device,
        root.as_ref(),
        args.hardware_id.as_deref(),
        OffsetDateTime::now_utc(),
    )?;
    let text = match &updated.applied {
        Some((name, applied)) => format!("fetched and applied `{name}`: {}\n", describe(applied)),
        None => "up to date: the repository has nothing newer for this device\n".to_owned(),
    };
    print_result(
        settings,
        &text,
        &json!({"applied": updated.applied.as_ref().map(|(name, a)| json!({"bundle": name, "version": a.version, "slot": a.slot.to_string()})), "seen": {"timestamp": updated.seen.timestamp, "snapshot": updated.seen.snapshot, "targets": updated.seen.targets}}),
    );
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
