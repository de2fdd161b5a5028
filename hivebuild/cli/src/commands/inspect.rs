//! `hivebuild inspect IMAGE [--manifest FILES]`: read a disk image back; with the image's
//! file list (`NAME.manifest.json`), check every file.

use std::fmt::Write as _;

use hive_ops::{Area, Error, Shown};
use hive_release::ReleaseError;

use crate::cli::InspectArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &InspectArgs) -> Result<(), Error> {
    let found = hive_image::inspect(&args.image)?;
    let mut shown = Shown {
        text: found.to_text(),
        json: serde_json::to_value(&found).expect("inspections serialise"),
    };
    let Some(path) = &args.manifest else {
        return show(settings, &shown);
    };
    let bytes = std::fs::read(path).map_err(Error::io(Area::Verify, "read", path))?;
    let files =
        hive_image::FileList::from_json(&bytes).map_err(|message| ReleaseError::Malformed {
            path: path.clone(),
            message,
        })?;
    let differences = hive_image::verify(&args.image, &files)?;
    shown.json["differences"] = serde_json::json!(differences);
    if differences.is_empty() {
        let count: usize = files.partitions.iter().map(|p| p.files.len()).sum();
        let _ = writeln!(
            shown.text,
            "every file ({count}) and partition matches `{}`",
            path.display()
        );
        return show(settings, &shown);
    }
    show(settings, &shown)?;
    Err(ReleaseError::Differences(differences).into())
}
