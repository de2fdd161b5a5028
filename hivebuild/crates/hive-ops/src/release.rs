//! `sign`, `verify` and `inspect`: signatures over a release folder, checking one as a device
//! would, and reading its image back.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;
use time::OffsetDateTime;

use crate::error::Area;
use crate::signing::{DEV_KEYS, SignerSpec, Signers};
use crate::{Error, Result, Shown};

/// Add signatures to a release folder's signed metadata.
pub fn sign(dir: &Path, signers: &SignerSpec) -> Result<Shown> {
    let signers = Signers::named(signers)?;
    if signers.list.is_empty() {
        return Err(Error::usage(
            "nothing to sign with: give `--sign-key KEY` or `--signer CMD --signer-pub PUB`",
        ));
    }
    let count = hive_release::add_signatures(dir, &signers.as_dyn())?;
    Ok(Shown {
        text: format!(
            "signed `{}`: {count} signature{} now\n",
            dir.join(hive_release::TARGETS_FILE).display(),
            if count == 1 { "" } else { "s" }
        ),
        json: json!({"signatures": count}),
    })
}

/// Check a release folder: signatures, threshold, expiry, every artefact and file. The
/// trust root is the one given, else the project's (its development root for
/// development-signed output, or its `[update] trust-root`).
pub fn verify(dir: &Path, trust_root: Option<&Path>) -> Result<Shown> {
    let info = hive_release::peek(dir)?;
    let trust_root = match (trust_root, crate::project::current()) {
        (Some(path), _) => path.to_owned(),
        (None, Some(root)) if info.development => root.join(DEV_KEYS).join("root.json"),
        (None, Some(root)) if info.trust_root.is_some() => {
            root.join(info.trust_root.as_deref().unwrap_or_default())
        }
        _ => {
            return Err(Error::usage(
                "no trust root: give `--trust-root ROOT` (or run inside the project that built it)",
            ));
        }
    };
    let bytes = std::fs::read(&trust_root).map_err(Error::trust_root(Area::Verify, &trust_root))?;
    let root = hive_sign::Envelope::parse(&bytes)?;
    let verified = hive_release::verify(dir, &root, OffsetDateTime::now_utc())?;
    let text = format!(
        "verified `{}` against `{}`{}: {} signature{} (threshold {}), expires {}; {} artefacts; {} files match the image's file list\n",
        dir.display(),
        trust_root.display(),
        if info.development {
            " (development-signed)"
        } else {
            ""
        },
        verified.signatures,
        if verified.signatures == 1 { "" } else { "s" },
        verified.threshold,
        verified.expires,
        verified.artefacts.len(),
        verified.files
    );
    let json = json!({"verified": true, "development": info.development, "artefacts": verified.artefacts, "files": verified.files, "expires": verified.expires});
    Ok(Shown { text, json })
}

/// A disk image read back, and with the image's file list, checked against it.
pub struct Inspected {
    pub shown: Shown,
    /// Files or partitions that differ from the file list.
    pub differences: Vec<String>,
}

/// Read a disk image back (partitions and files); with `files` (a release's
/// `NAME.manifest.json`), check every file and partition against it.
pub fn inspect(image: &Path, files: Option<&Path>) -> Result<Inspected> {
    let found = hive_image::inspect(image)?;
    let mut shown = Shown {
        text: found.to_text(),
        json: serde_json::to_value(&found).expect("inspections serialise"),
    };
    let Some(path) = files else {
        return Ok(Inspected {
            shown,
            differences: Vec::new(),
        });
    };
    let bytes = std::fs::read(path).map_err(Error::io(Area::Verify, "read", path))?;
    let list = hive_image::FileList::from_json(&bytes).map_err(|message| {
        hive_release::ReleaseError::Malformed {
            path: path.to_owned(),
            message,
        }
    })?;
    let differences = hive_image::verify(image, &list)?;
    shown.json["differences"] = json!(differences);
    if differences.is_empty() {
        let count: usize = list.partitions.iter().map(|p| p.files.len()).sum();
        let _ = writeln!(
            shown.text,
            "every file ({count}) and partition matches `{}`",
            path.display()
        );
    }
    Ok(Inspected { shown, differences })
}

impl crate::Outcome for Inspected {
    fn text(&self) -> String {
        self.shown.text.clone()
    }

    fn json(&self) -> serde_json::Value {
        self.shown.json.clone()
    }

    fn verdict(&self) -> Result<()> {
        if self.differences.is_empty() {
            Ok(())
        } else {
            Err(hive_release::ReleaseError::Differences(self.differences.clone()).into())
        }
    }
}
