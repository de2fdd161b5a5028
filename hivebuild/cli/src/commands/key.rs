//! `hivebuild key generate --out PREFIX`.

use serde_json::json;

use crate::cli::KeyCommand;
use crate::dispatch::CliError;
use crate::output::print_result;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: KeyCommand) -> Result<(), CliError> {
    let KeyCommand::Generate { out } = command;
    let key = hive_sign::PrivateKey::generate()?;
    let (private, public) = key.save(&out)?;
    let keyid = key.public().keyid();
    let text = format!(
        "wrote `{}` (private, mode 0600) and `{}`\nkey id {keyid}\n",
        private.display(),
        public.display()
    );
    print_result(
        settings,
        &text,
        &json!({"private": private, "public": public, "keyid": keyid}),
    );
    Ok(())
}
