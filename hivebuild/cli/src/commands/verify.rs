//! `hivebuild verify DIR [--trust-root ROOT]`.

use hive_ops::signing::DEV_KEYS;
use hive_ops::{Area, Error, Shown};
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::VerifyArgs;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &VerifyArgs) -> Result<(), Error> {
    let info = hive_release::peek(&args.dir)?;
    let trust_root = match (&args.trust_root, hive_ops::project::current()) {
        (Some(path), _) => path.clone(),
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
    let bytes = std::fs::read(&trust_root).map_err(Error::io(
        Area::Verify,
        "read the trust root",
        &trust_root,
    ))?;
    let root = hive_sign::Envelope::parse(&bytes)?;
    let verified = hive_release::verify(&args.dir, &root, OffsetDateTime::now_utc())?;
    let text = format!(
        "verified `{}` against `{}`{}: {} signature{} (threshold {}), expires {}; {} artefacts; {} files match the image manifest\n",
        args.dir.display(),
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
    show(settings, &Shown { text, json })
}
