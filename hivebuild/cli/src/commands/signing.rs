//! Who signs, and for how long: shared by `image`, `sign` and `root`.

use std::path::{Path, PathBuf};

use hive_sign::{CommandSigner, Envelope, PrivateKey, PublicKey, Root, Signer};
use time::OffsetDateTime;

use crate::cli::SignerArgs;
use crate::dispatch::CliError;

/// Where development keys live, under the project root (ignored by git).
pub(crate) const DEV_KEYS: &str = ".hive/dev-keys";

/// The signers named on the command line: key files, then the external signer.
pub(crate) fn signers(args: &SignerArgs) -> Result<Vec<Box<dyn Signer>>, CliError> {
    let mut signers: Vec<Box<dyn Signer>> = Vec::new();
    for path in &args.sign_keys {
        signers.push(Box::new(PrivateKey::load(path)?));
    }
    if let (Some(command), Some(public)) = (&args.signer, &args.signer_pub) {
        signers.push(Box::new(CommandSigner {
            command: command.clone(),
            public: PublicKey::load(public)?,
        }));
    }
    Ok(signers)
}

pub(crate) fn as_dyn(signers: &[Box<dyn Signer>]) -> Vec<&dyn Signer> {
    signers.iter().map(AsRef::as_ref).collect()
}

/// `365d`, `12h`, `90m`, `30s` from now, as TUF writes times.
pub(crate) fn expires_in(text: &str) -> Result<String, CliError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number: u64 = text[..digits]
        .parse()
        .map_err(|_| CliError::usage(format!("`{text}` is not a duration like `365d`")))?;
    let seconds = match &text[digits..] {
        "d" => number * 86_400,
        "h" => number * 3_600,
        "m" => number * 60,
        "s" => number,
        _ => {
            return Err(CliError::usage(format!(
                "`{text}` is not a duration like `365d` (units: d, h, m, s)"
            )));
        }
    };
    Ok(hive_sign::expiry_after(OffsetDateTime::now_utc(), seconds))
}

/// The project the current folder is in (`hive_manifest::project_root_above`).
pub(crate) fn project_root() -> Option<PathBuf> {
    hive_manifest::project_root_above(&std::env::current_dir().ok()?)
}

/// The project's development key and root, made on first use under `.hive/dev-keys/`.
pub(crate) fn development(root: &Path) -> Result<(PrivateKey, PathBuf), CliError> {
    let dir = root.join(DEV_KEYS);
    let key_path = dir.join("dev.key");
    let root_path = dir.join("root.json");
    let key = if key_path.is_file() {
        PrivateKey::load(&key_path)?
    } else {
        let key = PrivateKey::generate()?;
        key.save(&dir.join("dev"))?;
        key
    };
    let current = std::fs::read(&root_path)
        .ok()
        .and_then(|bytes| Envelope::parse(&bytes).ok());
    let valid =
        current.is_some_and(|envelope| Root::trusted(&envelope, OffsetDateTime::now_utc()).is_ok());
    if !valid {
        let trust = Root::new(
            &[key.public()],
            1,
            hive_sign::expiry_after(OffsetDateTime::now_utc(), 10 * 365 * 86_400),
            1,
        );
        let envelope = Envelope::new_signed(&trust, &[&key])?;
        std::fs::write(&root_path, envelope.to_json()).map_err(|error| CliError::Refused {
            message: format!("failed to write `{}`: {error}", root_path.display()),
            hint: None,
            code: crate::exit_codes::KEY_FAILED,
        })?;
    }
    Ok((key, root_path))
}
