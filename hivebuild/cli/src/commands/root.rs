//! `hivebuild root init|rotate`: the trust root, TUF root metadata.

use hive_sign::{Envelope, PublicKey, Root};
use serde_json::json;
use time::OffsetDateTime;

use hive_ops::signing::{Signers, expires_in};
use hive_ops::{Area, Error, Shown};

use crate::cli::{RootArgs, RootCommand};
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: RootCommand) -> Result<(), Error> {
    let now = OffsetDateTime::now_utc();
    let (args, previous) = match command {
        RootCommand::Init(args) => (args, None),
        RootCommand::Rotate { root, args } => {
            let bytes = std::fs::read(&root).map_err(Error::io(Area::Keys, "read", &root))?;
            let envelope = Envelope::parse(&bytes)?;
            (args, Some(Root::trusted(&envelope, now)?))
        }
    };
    let root = new_root(&args, previous.as_ref().map_or(1, |p| p.version + 1))?;
    let signers = Signers::named(&super::signers(&args.signers))?;
    if signers.list.is_empty() {
        return Err(Error::usage(
            "a root must be signed: give `--sign-key KEY` (or `--signer`)",
        ));
    }
    let envelope = Envelope::new_signed(&root, &signers.as_dyn())?;
    // Check it as a device will before writing it: by itself, and after the old root.
    match &previous {
        Some(old) => old.update(&envelope).map(drop)?,
        None => Root::trusted(&envelope, now).map(drop)?,
    }
    if let Some(parent) = args.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(Error::io(Area::Keys, "create", parent))?;
    }
    std::fs::write(&args.output, envelope.to_json()).map_err(Error::io(
        Area::Keys,
        "write",
        &args.output,
    ))?;
    let text = format!(
        "wrote `{}`: root version {}, {} key{}, threshold {}, expires {}\n",
        args.output.display(),
        root.version,
        root.keys.len(),
        if root.keys.len() == 1 { "" } else { "s" },
        args.threshold,
        root.expires
    );
    let json = json!({"root": args.output, "version": root.version, "expires": root.expires});
    show(settings, &Shown { text, json })
}

fn new_root(args: &RootArgs, version: u64) -> Result<Root, Error> {
    let keys: Vec<PublicKey> = args
        .keys
        .iter()
        .map(|path| PublicKey::load(path))
        .collect::<Result<_, _>>()?;
    let distinct: std::collections::BTreeSet<[u8; 32]> =
        keys.iter().map(PublicKey::bytes).collect();
    if args.threshold == 0 || args.threshold as usize > distinct.len() {
        return Err(Error::usage(format!(
            "threshold {} cannot be met by {} distinct key{}",
            args.threshold,
            distinct.len(),
            if distinct.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(Root::new(
        &keys,
        args.threshold,
        expires_in(&args.expires)?,
        version,
    ))
}
