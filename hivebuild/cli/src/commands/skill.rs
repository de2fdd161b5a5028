//! `hivebuild skill add NAME (--template T | --path DIR) [--caps ...] [--memory SIZE]` and
//! `hivebuild skill remove NAME` (`hive_ops::skill`).

use hive_manifest::edit::NewSkill;
use hive_ops::Error;

use crate::cli::SkillCommand;
use crate::output::show;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: SkillCommand) -> Result<(), Error> {
    let shown = match command {
        SkillCommand::Add(args) => {
            let skill = NewSkill {
                name: args.name,
                template: args.template,
                path: args.path,
                memory: args.memory,
                caps: args.caps,
            };
            hive_ops::skill::add(&args.manifest, &skill)?
        }
        SkillCommand::Remove { name, manifest } => hive_ops::skill::remove(&manifest, &name)?,
    };
    show(settings, &shown)
}
