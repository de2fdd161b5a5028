//! What hivebuild's commands do, as library calls (cargo's `ops`): each operation takes a
//! [`Context`] (store, local sources, engine settings, a [`Reporter`]) and its own options,
//! calls the crates that own the formats (hive-plan, hive-engine, hive-image, hive-release,
//! hive-update, hive-qemu), and returns a value that knows how to show itself
//! ([`Outcome`]: text, JSON, verdict) or an [`Error`] that knows its hint and exit code.
//! The CLI parses arguments, calls one operation and prints.

pub mod ask;
pub mod bench;
pub mod build;
pub mod bundle;
pub mod cache;
pub mod context;
pub mod doctor;
pub mod env;
pub mod error;
pub mod hive;
pub mod image;
pub mod project;
pub mod release;
pub mod run;
pub mod signing;
pub mod skill;
pub mod store;
pub mod test;

pub use context::{Context, Reporter};
pub use error::{Area, Error, Result, exit_codes};

/// The result of an operation, as the user sees it.
pub trait Outcome {
    /// For people (printed unless `--json` or `-q`).
    fn text(&self) -> String;
    /// The same, for programs (`--json`).
    fn json(&self) -> serde_json::Value;
    /// After it is shown: whether the command succeeded (a failed test run still shows its
    /// report).
    fn verdict(&self) -> Result<()> {
        Ok(())
    }
}

/// A plain result: a text and its JSON.
pub struct Shown {
    pub text: String,
    pub json: serde_json::Value,
}

impl Outcome for Shown {
    fn text(&self) -> String {
        self.text.clone()
    }

    fn json(&self) -> serde_json::Value {
        self.json.clone()
    }
}
