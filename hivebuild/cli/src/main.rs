//! `hivebuild`: a thin binary over `hive_ops`; see `dispatch::main_impl`.

mod cli;
mod commands;
mod dispatch;
mod output;
mod settings;

fn main() -> std::process::ExitCode {
    dispatch::main_impl()
}
