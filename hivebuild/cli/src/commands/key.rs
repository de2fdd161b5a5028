//! `hivebuild key generate --out PREFIX`.

use hive_ops::{Error, Shown};
use serde_json::json;

use crate::cli::KeyCommand;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: KeyCommand) -> Result<(), Error> {
    let KeyCommand::Generate { out } = command;
    let key = hive_sign::PrivateKey::generate()?;
    let (private, public) = key.save(&out)?;
    let keyid = key.public().keyid();
    let text = format!(
        "wrote `{}` (private, mode 0600) and `{}`\nkey id {keyid}\n",
        private.display(),
        public.display()
    );
    let json = json!({"private": private, "public": public, "keyid": keyid});
    show(settings, &Shown { text, json })
}
