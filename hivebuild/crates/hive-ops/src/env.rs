//! Every environment variable hivebuild reads, declared once. The CLI resolves them into
//! [`crate::Context`] and settings; library crates that read one say so here.

/// The store folder (same as `--store`).
pub const HIVEBUILD_STORE: &str = "HIVEBUILD_STORE";
/// The engine (same as `--engine`): `native` or `nix`.
pub const HIVEBUILD_ENGINE: &str = "HIVEBUILD_ENGINE";
/// The Nix store the Nix engine builds in (same as `--nix-store`).
pub const HIVEBUILD_NIX_STORE: &str = "HIVEBUILD_NIX_STORE";
/// A rustc to prefer for the Brain (cargo is taken from the same folder).
pub const HIVEBUILD_RUSTC: &str = "HIVEBUILD_RUSTC";
/// A folder holding the stock (targets, templates, platform components) instead of the copy
/// embedded in the binary (read by `hive_stock`).
pub const HIVEBUILD_STOCK: &str = hive_stock::ENV;
/// `HIVEBUILD_<NAME>_SRC`: a local folder for the source NAME (`hive_plan::source_env_var`).
pub const HIVEBUILD_SOURCE_PATTERN: &str = "HIVEBUILD_<NAME>_SRC";
/// The timestamp every output carries, and a part of every step key.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
/// Disables colour in messages.
pub const NO_COLOR: &str = "NO_COLOR";
/// Passed on to steps.
pub const PATH: &str = hive_plan::toolchain::env::PATH;
/// Where `~/.rustup` and `~/.cargo` are found (steps get a `HOME` of their own).
pub const HOME: &str = hive_plan::toolchain::env::HOME;
pub const CARGO_HOME: &str = "CARGO_HOME";
/// Rustup's folder and toolchain: passed on to steps, and part of the key of cached rustc
/// answers (`hive_plan::toolchain::rustup_home`, the one place that resolves the default).
pub const RUSTUP_HOME: &str = hive_plan::toolchain::env::RUSTUP_HOME;
pub const RUSTUP_TOOLCHAIN: &str = hive_plan::toolchain::env::RUSTUP_TOOLCHAIN;
/// Where libclang is, for the seL4 build's bindgen (`hive_plan::toolchain::find_libclang`).
pub const LIBCLANG_PATH: &str = hive_plan::toolchain::env::LIBCLANG_PATH;

/// Every variable, for docs and the test that keeps docs/cli.md in step.
pub const ALL: [&str; 14] = [
    HIVEBUILD_STORE,
    HIVEBUILD_ENGINE,
    HIVEBUILD_NIX_STORE,
    HIVEBUILD_RUSTC,
    HIVEBUILD_STOCK,
    HIVEBUILD_SOURCE_PATTERN,
    SOURCE_DATE_EPOCH,
    NO_COLOR,
    PATH,
    HOME,
    CARGO_HOME,
    RUSTUP_HOME,
    RUSTUP_TOOLCHAIN,
    LIBCLANG_PATH,
];
