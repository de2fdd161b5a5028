//! Who signs, and for how long: shared by `image`, `sign`, `root`, `bundle` and `publish`.
//! Without a key, a project's development key signs (made on first use, ignored by git).

use std::path::{Path, PathBuf};

use hive_sign::{CommandSigner, Envelope, PrivateKey, PublicKey, Root, Signer};
use time::OffsetDateTime;

use crate::error::Area;
use crate::{Error, Result};

/// Where development keys live, under the project root (ignored by git).
pub const DEV_KEYS: &str = ".hive/dev-keys";

/// Who signs, as the command line names them.
#[derive(Clone, Debug, Default)]
pub struct SignerSpec {
    /// Private key files.
    pub keys: Vec<PathBuf>,
    /// An external signer: `sh -c CMD` gets the bytes on stdin and prints the signature, with
    /// its public key.
    pub command: Option<(String, PathBuf)>,
}

/// The signers, loaded.
pub struct Signers {
    pub list: Vec<Box<dyn Signer>>,
    /// Signed with the project's development key (no signer was named); its root's path.
    pub development: Option<PathBuf>,
}

impl Signers {
    /// The signers named; none named is an empty list.
    pub fn named(spec: &SignerSpec) -> Result<Self> {
        let mut list: Vec<Box<dyn Signer>> = Vec::new();
        for path in &spec.keys {
            list.push(Box::new(PrivateKey::load(path)?));
        }
        if let Some((command, public)) = &spec.command {
            list.push(Box::new(CommandSigner {
                command: command.clone(),
                public: PublicKey::load(public)?,
            }));
        }
        Ok(Self {
            list,
            development: None,
        })
    }

    /// The signers named, or the development key of the project at `root` (of the current
    /// folder's project when `root` is `None`).
    pub fn or_development(spec: &SignerSpec, root: Option<&Path>) -> Result<Self> {
        let mut signers = Self::named(spec)?;
        if signers.list.is_empty() {
            let root = root
                .map(Path::to_owned)
                .or_else(crate::project::current)
                .ok_or_else(|| {
                    Error::usage(
                        "no signing key: give `--sign-key KEY` (or run inside the project)",
                    )
                })?;
            let (key, root) = development(&root)?;
            signers.list.push(Box::new(key));
            signers.development = Some(root);
        }
        Ok(signers)
    }

    pub fn as_dyn(&self) -> Vec<&dyn Signer> {
        self.list.iter().map(AsRef::as_ref).collect()
    }
}

/// `365d`, `12h`, `90m`, `30s` from now, as TUF writes times.
pub fn expires_in(text: &str) -> Result<String> {
    let seconds = hive_manifest::units::parse_duration_or_zero(text)
        .ok()
        .filter(|d| d.subsec_nanos() == 0)
        .ok_or_else(|| {
            Error::usage(format!(
                "`{text}` is not a duration like `365d` (units: d, h, m, s)"
            ))
        })?
        .as_secs();
    Ok(hive_sign::expiry_after(OffsetDateTime::now_utc(), seconds))
}

/// The project's development key and root, made on first use under `.hive/dev-keys/`.
pub fn development(root: &Path) -> Result<(PrivateKey, PathBuf)> {
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
        std::fs::write(&root_path, envelope.to_json()).map_err(Error::io(
            Area::Keys,
            "write",
            &root_path,
        ))?;
    }
    Ok((key, root_path))
}

/// What a new trust root is made of.
pub struct RootOptions<'a> {
    /// The current (trusted) root, to rotate from; `None` makes version 1.
    pub previous: Option<&'a Path>,
    /// Public key files of the root's roles.
    pub keys: &'a [PathBuf],
    pub threshold: u32,
    pub expires: &'a str,
    pub signers: &'a SignerSpec,
    pub output: &'a Path,
}

/// Write a trust root (TUF root metadata), checked as a device will before it is written:
/// by itself, and after the old root.
pub fn write_root(options: &RootOptions<'_>) -> Result<crate::Shown> {
    let now = OffsetDateTime::now_utc();
    let previous = match options.previous {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path).map_err(Error::io(Area::Keys, "read", path))?;
            Some(Root::trusted(&Envelope::parse(&bytes)?, now)?)
        }
    };
    let keys: Vec<PublicKey> = options
        .keys
        .iter()
        .map(|path| PublicKey::load(path))
        .collect::<Result<_, _>>()?;
    let distinct: std::collections::BTreeSet<[u8; 32]> =
        keys.iter().map(PublicKey::bytes).collect();
    let threshold = options.threshold;
    if threshold == 0 || threshold as usize > distinct.len() {
        return Err(Error::usage(format!(
            "threshold {threshold} cannot be met by {} distinct key{}",
            distinct.len(),
            if distinct.len() == 1 { "" } else { "s" }
        )));
    }
    let version = previous.as_ref().map_or(1, |p| p.version + 1);
    let root = Root::new(&keys, threshold, expires_in(options.expires)?, version);
    let signers = Signers::named(options.signers)?;
    if signers.list.is_empty() {
        return Err(Error::usage(
            "a root must be signed: give `--sign-key KEY` (or `--signer`)",
        ));
    }
    let envelope = Envelope::new_signed(&root, &signers.as_dyn())?;
    match &previous {
        Some(old) => old.update(&envelope).map(drop)?,
        None => Root::trusted(&envelope, now).map(drop)?,
    }
    let output = options.output;
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(Error::io(Area::Keys, "create", parent))?;
    }
    std::fs::write(output, envelope.to_json()).map_err(Error::io(Area::Keys, "write", output))?;
    Ok(crate::Shown {
        text: format!(
            "wrote `{}`: root version {version}, {} key{}, threshold {threshold}, expires {}\n",
            output.display(),
            root.keys.len(),
            if root.keys.len() == 1 { "" } else { "s" },
            root.expires
        ),
        json: serde_json::json!({"root": output, "version": version, "expires": root.expires}),
    })
}
