//! `hivebuild`: a thin binary over the library crates; see `dispatch::main_impl`.

mod cli;
mod commands;
mod dispatch;
mod env_vars;
mod exit_codes;
mod output;
mod settings;

fn main() -> std::process::ExitCode {
    dispatch::main_impl()
}
