//! One file per subcommand: each turns its arguments into the options of one `hive_ops`
//! operation, calls it and shows the outcome. Commands share only this module, `output` and
//! `settings`; none imports another.

pub(crate) mod apply;
pub(crate) mod ask;
pub(crate) mod bench;
pub(crate) mod build;
pub(crate) mod builder_conf;
pub(crate) mod bundle;
pub(crate) mod cache;
pub(crate) mod caps;
pub(crate) mod check;
pub(crate) mod doctor;
pub(crate) mod fetch_update;
pub(crate) mod image;
pub(crate) mod inspect;
pub(crate) mod key;
pub(crate) mod lock;
pub(crate) mod new;
pub(crate) mod plan;
pub(crate) mod publish;
pub(crate) mod root;
pub(crate) mod run;
pub(crate) mod shell;
pub(crate) mod sign;
pub(crate) mod skill;
pub(crate) mod step_exec;
pub(crate) mod store;
pub(crate) mod test;
pub(crate) mod verify;

use std::path::PathBuf;

use hive_ops::signing::SignerSpec;

use hive_ops::hive::Options;

use crate::cli::{BrainArgs, SignerArgs};
use crate::settings::{Output, Settings};

/// How the hosted Brain runs, as `ask` and `bench` take it: each `--brain-store NAME=PATH`,
/// and `--threads`.
pub(crate) fn brain_options(args: &BrainArgs) -> Result<Options, hive_ops::Error> {
    let stores = args
        .stores
        .iter()
        .map(|store| {
            store
                .split_once('=')
                .filter(|(name, path)| !name.is_empty() && !path.is_empty())
                .map(|(name, path)| (name.to_owned(), PathBuf::from(path)))
                .ok_or_else(|| {
                    hive_ops::Error::usage(format!("`--brain-store {store}`: write NAME=PATH"))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Options {
        stores,
        threads: args.threads,
    })
}

/// Where a running hive's progress lines go: stderr, unless `--json` or `-q`.
pub(crate) fn notes(settings: &Settings) -> impl Fn(&str) + use<> {
    let quiet = matches!(settings.output, Output::Json | Output::Quiet);
    move |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    }
}

/// Who signs, as the command line names them.
pub(crate) fn signers(args: &SignerArgs) -> SignerSpec {
    SignerSpec {
        keys: args.sign_keys.clone(),
        command: args.signer.clone().zip(args.signer_pub.clone()),
    }
}
