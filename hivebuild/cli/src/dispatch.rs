//! Parse, dispatch, render the error, exit with its code.

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::cli::{Cli, Command};
use crate::exit_codes;
use crate::settings::Settings;

/// Everything a command can fail with; each maps to a documented exit code.
#[derive(Debug)]
pub(crate) enum CliError {
    Usage(String),
    /// Anything else a command refuses, with its exit code and what to do about it.
    Refused {
        message: String,
        hint: Option<String>,
        code: u8,
    },
    Manifest(hive_manifest::ManifestError),
    Plan(hive_plan::PlanError),
    Lock(hive_plan::lock::LockError),
    Engine(hive_engine::EngineError),
    Store(hive_store::StoreError),
    /// `--check` found this many steps whose outputs differ.
    NotReproducible(usize),
    Key(hive_sign::KeyError),
    Sign(hive_sign::SignError),
    Verify(hive_sign::VerifyError),
    Image(hive_image::ImageError),
    Release(hive_release::ReleaseError),
    Update(hive_update::UpdateError),
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    pub(crate) fn exit_code(&self) -> u8 {
        use hive_engine::EngineError as E;
        match self {
            Self::Usage(_) => exit_codes::USAGE,
            Self::Refused { code, .. } => *code,
            Self::Manifest(_) => exit_codes::INVALID_MANIFEST,
            Self::Plan(_) | Self::Lock(_) => exit_codes::PLAN_FAILED,
            Self::Engine(E::Store(_)) | Self::Store(_) => exit_codes::STORE_FAILED,
            Self::Engine(
                E::Fetch { .. }
                | E::Offline { .. }
                | E::OfflineAsset { .. }
                | E::Asset { .. }
                | E::HashMismatch { .. }
                | E::UnknownRevision { .. },
            ) => exit_codes::FETCH_FAILED,
            Self::Engine(_) => exit_codes::BUILD_FAILED,
            Self::NotReproducible(_) => exit_codes::NOT_REPRODUCIBLE,
            Self::Key(_) | Self::Sign(_) | Self::Release(hive_release::ReleaseError::Sign(_)) => {
                exit_codes::KEY_FAILED
            }
            Self::Verify(_) | Self::Release(_) => exit_codes::VERIFY_FAILED,
            Self::Image(_) => exit_codes::IMAGE_FAILED,
            Self::Update(_) => exit_codes::UPDATE_REFUSED,
        }
    }
}

macro_rules! from_error {
    ($($variant:ident($type:ty)),*) => {$(
        impl From<$type> for CliError {
            fn from(error: $type) -> Self {
                Self::$variant(error)
            }
        }
    )*};
}
from_error!(
    Manifest(hive_manifest::ManifestError),
    Plan(hive_plan::PlanError),
    Lock(hive_plan::lock::LockError),
    Engine(hive_engine::EngineError),
    Store(hive_store::StoreError),
    Key(hive_sign::KeyError),
    Sign(hive_sign::SignError),
    Verify(hive_sign::VerifyError),
    Image(hive_image::ImageError),
    Release(hive_release::ReleaseError),
    Update(hive_update::UpdateError)
);

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

fn run(settings: &Settings, command: Command) -> Result<(), CliError> {
    match command {
        Command::New(args) => crate::commands::new::run(settings, &args),
        Command::Check(args) => crate::commands::check::run(settings, &args),
        Command::Doctor(args) => crate::commands::doctor::run(settings, &args),
        Command::Plan(args) => crate::commands::plan::run(settings, &args),
        Command::Caps(args) => crate::commands::caps::run(settings, &args),
        Command::Build(args) => crate::commands::build::run(settings, &args),
        Command::Run(args) => crate::commands::run::run(settings, &args),
        Command::Test(command) => crate::commands::test::run(settings, command),
        Command::Lock(args) => crate::commands::lock::run(settings, &args),
        Command::Image(args) => crate::commands::image::run(settings, &args),
        Command::Sign(args) => crate::commands::sign::run(settings, &args),
        Command::Verify(args) => crate::commands::verify::run(settings, &args),
        Command::Inspect(args) => crate::commands::inspect::run(settings, &args),
        Command::Bundle(args) => crate::commands::bundle::run(settings, &args),
        Command::Apply(args) => crate::commands::bundle::apply(settings, &args),
        Command::Publish(args) => crate::commands::bundle::publish(settings, &args),
        Command::FetchUpdate(args) => crate::commands::bundle::fetch_update(settings, &args),
        Command::Key(command) => crate::commands::key::run(settings, command),
        Command::Root(command) => crate::commands::root::run(settings, command),
        Command::Store(command) => crate::commands::store::run(settings, command),
        Command::Skill(command) => crate::commands::skill::run(settings, command),
        Command::Completions { shell } => {
            crate::commands::shell::completions(&mut Cli::command(), shell);
            Ok(())
        }
        Command::Man { out } => crate::commands::shell::man(&Cli::command(), out.as_deref()),
    }
}
