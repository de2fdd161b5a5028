//! `hivebuild root init|rotate`: the trust root, TUF root metadata
//! (`hive_ops::signing::write_root`).

use hive_ops::Error;
use hive_ops::signing::RootOptions;

use crate::cli::RootCommand;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: RootCommand) -> Result<(), Error> {
    let (args, previous) = match command {
        RootCommand::Init(args) => (args, None),
        RootCommand::Rotate { root, args } => (args, Some(root)),
    };
    let options = RootOptions {
        previous: previous.as_deref(),
        keys: &args.keys,
        threshold: args.threshold,
        expires: &args.expires,
        signers: &super::signers(&args.signers),
        output: &args.output,
    };
    show(settings, &hive_ops::signing::write_root(&options)?)
}
