//! Parse, resolve the settings, dispatch to the subcommand's file, render the error, exit
//! with its code (`hive_ops::exit_codes`).

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};
use hive_ops::{Error, exit_codes};

use crate::cli::{Cli, Command};
use crate::commands as c;
use crate::settings::Settings;

pub(crate) fn main_impl() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::resolve(&cli.global) {
        Ok(settings) => settings,
        Err(error) => {
            crate::output::print_error(None, &error);
            return ExitCode::from(error.exit_code());
        }
    };
    match run(&settings, cli.command) {
        Ok(()) => ExitCode::from(exit_codes::OK),
        Err(error) => {
            crate::output::print_error(Some(&settings), &error);
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(settings: &Settings, command: Command) -> Result<(), Error> {
    match command {
        Command::New(args) => c::new::run(settings, &args),
        Command::Check(args) => c::check::run(settings, &args),
        Command::Doctor(args) => c::doctor::run(settings, &args),
        Command::Plan(args) => c::plan::run(settings, &args),
        Command::Caps(args) => c::caps::run(settings, &args),
        Command::Build(args) => c::build::run(settings, &args),
        Command::BuilderConf(args) => c::builder_conf::run(settings, &args),
        Command::Run(args) => c::run::run(settings, &args),
        Command::Ask(args) => c::ask::run(settings, &args),
        Command::Bench(args) => c::bench::run(settings, &args),
        Command::Test(command) => c::test::run(settings, command),
        Command::Lock(args) => c::lock::run(settings, &args),
        Command::Image(args) => c::image::run(settings, &args),
        Command::Sign(args) => c::sign::run(settings, &args),
        Command::Verify(args) => c::verify::run(settings, &args),
        Command::Inspect(args) => c::inspect::run(settings, &args),
        Command::Bundle(args) => c::bundle::run(settings, &args),
        Command::Apply(args) => c::apply::run(settings, &args),
        Command::Publish(args) => c::publish::run(settings, &args),
        Command::FetchUpdate(args) => c::fetch_update::run(settings, &args),
        Command::Key(command) => c::key::run(settings, command),
        Command::Root(command) => c::root::run(settings, command),
        Command::Store(command) => c::store::run(settings, command),
        Command::Skill(command) => c::skill::run(settings, command),
        Command::Cache(command) => c::cache::run(settings, command),
        Command::StepExec(args) => c::step_exec::run(&args),
        Command::Completions { shell } => {
            c::shell::completions(&mut Cli::command(), shell);
            Ok(())
        }
        Command::Man { out } => c::shell::man(&Cli::command(), out.as_deref()),
    }
}
