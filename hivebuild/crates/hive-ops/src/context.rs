//! What every operation reads besides its own arguments, resolved once by the CLI from flags
//! and the environment ([`crate::env`]): the store, local source folders, the Rust to prefer,
//! the engine's settings, and where progress goes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hive_manifest::Manifest;
use hive_store::Store;

use crate::{Error, Result};

/// Progress of builds, test suites, image composition and updates, rendered by the caller.
pub trait Reporter:
    hive_engine::Reporter + hive_qemu::suite::Reporter + hive_image::Reporter + hive_update::Reporter
{
}

impl<T> Reporter for T where
    T: hive_engine::Reporter
        + hive_qemu::suite::Reporter
        + hive_image::Reporter
        + hive_update::Reporter
{
}

pub struct Context<'a> {
    pub store_dir: PathBuf,
    /// `--source NAME=PATH`, already checked to be folders.
    pub overrides: BTreeMap<String, PathBuf>,
    /// A rustc to prefer for the Brain (`HIVEBUILD_RUSTC`).
    pub rustc: Option<PathBuf>,
    pub engine: hive_engine::Settings,
    pub reporter: &'a dyn Reporter,
}

impl Context<'_> {
    pub fn open_store(&self) -> Result<Store> {
        Ok(Store::open(&self.store_dir)?)
    }

    /// `--source NAME=PATH`, and for the sources not named there `HIVEBUILD_<NAME>_SRC=PATH`
    /// (`rust-sel4` → `HIVEBUILD_RUST_SEL4_SRC`): local folders used instead of the declared
    /// sources.
    pub fn source_overrides(&self, manifest: &Manifest) -> Result<BTreeMap<String, PathBuf>> {
        let mut overrides = self.overrides.clone();
        for name in manifest.sources.keys() {
            if overrides.contains_key(name) {
                continue;
            }
            let var = hive_plan::source_env_var(name);
            let Some(path) = std::env::var_os(&var) else {
                continue;
            };
            let what = format!("{var}={}", path.to_string_lossy());
            overrides.insert(name.clone(), local_folder(&what, &path)?);
        }
        Ok(overrides)
    }
}

/// A local folder given for a source (`what` says where it was given), made absolute.
pub fn local_folder(what: &str, path: &std::ffi::OsStr) -> Result<PathBuf> {
    let path = std::path::absolute(path)
        .map_err(|_| Error::usage(format!("`{what}`: not a usable path")))?;
    if path.is_dir() {
        Ok(path)
    } else {
        Err(Error::usage(format!(
            "`{what}`: `{}` is not a folder",
            path.display()
        )))
    }
}
