//! Every environment variable hivebuild reads, declared once.

/// The store folder (same as `--store`).
pub(crate) const HIVEBUILD_STORE: &str = "HIVEBUILD_STORE";
/// A rustc to prefer for the Brain (cargo is taken from the same folder).
pub(crate) const HIVEBUILD_RUSTC: &str = "HIVEBUILD_RUSTC";
/// The timestamp every output carries, and a part of every step key.
pub(crate) const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
/// Disables colour in messages.
pub(crate) const NO_COLOR: &str = "NO_COLOR";
/// Passed on to steps.
pub(crate) const PATH: &str = "PATH";
pub(crate) const CARGO_HOME: &str = "CARGO_HOME";
pub(crate) const RUSTUP_HOME: &str = "RUSTUP_HOME";
pub(crate) const RUSTUP_TOOLCHAIN: &str = "RUSTUP_TOOLCHAIN";
// `hive_plan::toolchain::rustup_stamp` also reads RUSTUP_TOOLCHAIN, RUSTUP_HOME and HOME to
// know when a cached rustc answer is stale.
