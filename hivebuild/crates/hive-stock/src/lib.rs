//! The files an installed hivebuild carries, so that a hive project needs none of this
//! repository: the stock targets, the seL4 platform, the police and protection-domain base,
//! the stand-in platform, the skill templates, and the starter hive of `hivebuild new`.
//!
//! They are embedded in the binary at build time (`build.rs`) and written out once per
//! version to `CACHE/hivebuild/stock/VERSION-HASH/`, a folder laid out like this repository:
//!
//! ```text
//! targets/NAME.toml            the stock targets (and the files they name)
//! sel4-platform/               boards.toml, pins.toml
//! unikraft-templates/NAME/     the skill templates
//! components/NAME/             the stock sources: standins, pd-base, police, brain
//! new/                         the starter hive's own files (manifest, README, .gitignore)
//! ```
//!
//! A project's own files of the same name come first (`hive_manifest::Layers`); the stock is
//! what is left. `HIVEBUILD_STOCK=DIR` uses a folder of that layout instead (a checkout of
//! this repository, for instance).

pub mod starter;

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable that names a stock folder to use instead of the embedded one.
pub const ENV: &str = "HIVEBUILD_STOCK";

/// One embedded file.
#[derive(Debug)]
pub struct File {
    /// Relative to the stock folder, with `/`.
    pub path: &'static str,
    pub executable: bool,
    pub contents: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/stock.rs"));

/// Why the stock folder could not be had.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StockError {
    #[error("`{ENV}={}` is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("failed to write hivebuild's stock files to `{}`: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

/// Every embedded file, sorted by path.
pub fn files() -> &'static [File] {
    FILES
}

/// The embedded files under `prefix/` (a folder of the stock, such as `components/brain`).
pub fn files_under(prefix: &str) -> impl Iterator<Item = (&'static str, &'static File)> {
    let prefix = format!("{}/", prefix.trim_end_matches('/'));
    FILES
        .iter()
        .filter_map(move |file| Some((file.path.strip_prefix(prefix.as_str())?, file)))
}

/// This hivebuild's stock: its version and the hash of the embedded files. Two builds of
/// the same version with different stock files get different folders.
pub fn id() -> String {
    format!("{}-{}", env!("CARGO_PKG_VERSION"), &HASH[..16])
}

/// The stock folder: `$HIVEBUILD_STOCK` when set, else the embedded files written out under
/// the user's cache folder (or the temporary folder when there is none). Found once per process.
pub fn folder() -> Result<&'static Path, StockError> {
    static FOLDER: OnceLock<Result<PathBuf, StockError>> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            if let Some(dir) = std::env::var_os(ENV).filter(|v| !v.is_empty()) {
                let dir = PathBuf::from(dir);
                return if dir.is_dir() {
                    Ok(std::path::absolute(&dir).unwrap_or(dir))
                } else {
                    Err(StockError::NotAFolder { path: dir })
                };
            }
            let cache = dirs::cache_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("hivebuild");
            materialise(&cache)
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// Write the embedded files to `CACHE/stock/ID/` unless they are there, and return that
/// folder. The files are written to a private folder first and renamed into place, so the
/// folder is whole or absent, and two processes at once both end with the same folder.
/// Files are read-only: the stock is edited by overriding it in a project, not in the cache.
pub fn materialise(cache: &Path) -> Result<PathBuf, StockError> {
    let parent = cache.join("stock");
    let folder = parent.join(id());
    if folder.is_dir() {
        return Ok(folder);
    }
    let failed = |path: &Path, error: io::Error| StockError::Write {
        path: path.to_owned(),
        message: error.to_string(),
    };
    fs::create_dir_all(&parent).map_err(|e| failed(&parent, e))?;
    let temporary = private_dir(&parent).map_err(|e| failed(&parent, e))?;
    let files = FILES.iter().map(|f| (f.path, f.contents, f.executable));
    let result = write_tree(&temporary, files, true);
    if let Err((path, error)) = result {
        let _ = fs::remove_dir_all(&temporary);
        return Err(failed(&path, error));
    }
    match fs::rename(&temporary, &folder) {
        Ok(()) => Ok(folder),
        // Another process got there first: its folder holds the same files.
        Err(_) if folder.is_dir() => {
            let _ = fs::remove_dir_all(&temporary);
            Ok(folder)
        }
        Err(error) => {
            let _ = fs::remove_dir_all(&temporary);
            Err(failed(&folder, error))
        }
    }
}

/// Write `files` (path relative to `dir`, contents, executable) under `dir`, read-only when
/// asked; the first failure with the path it happened at.
pub(crate) fn write_tree<'a>(
    dir: &Path,
    files: impl Iterator<Item = (&'a str, &'a [u8], bool)>,
    read_only: bool,
) -> Result<(), (PathBuf, io::Error)> {
    for (relative, contents, executable) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| (parent.to_owned(), e))?;
        }
        fs::write(&path, contents).map_err(|e| (path.clone(), e))?;
        let mode = match (executable, read_only) {
            (true, true) => 0o555,
            (true, false) => 0o755,
            (false, true) => 0o444,
            (false, false) => 0o644,
        };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| (path, e))?;
    }
    Ok(())
}

/// A new empty folder in `parent`, named so that nothing else picks it: where a tree is
/// written before it is renamed into place.
pub(crate) fn private_dir(parent: &Path) -> io::Result<PathBuf> {
    for attempt in 0..100_u32 {
        let path = parent.join(format!(".tmp-{}-{attempt}", std::process::id()));
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::other("no free temporary name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_the_stock_targets_templates_platform_and_sources_but_no_build_output() {
        let paths: Vec<&str> = files().iter().map(|f| f.path).collect();
        for expected in [
            "targets/x86_64.toml",
            "targets/rpi4.toml",
            "sel4-platform/boards.toml",
            "sel4-platform/pins.toml",
            "unikraft-templates/net-listener/main.c.j2",
            "components/standins/Makefile",
            "components/police/police.c",
            "components/pd-base/Makefile",
            "components/brain/Cargo.toml",
            "new/hive.toml.j2",
        ] {
            assert!(paths.contains(&expected), "{expected} is not embedded");
        }
        assert!(
            !paths
                .iter()
                .any(|p| p.contains("/target/") || p.split('/').any(|c| c.starts_with('.'))),
            "build output or hidden files are embedded"
        );
        assert!(paths.is_sorted());
    }

    #[test]
    fn materialises_once_whole_and_read_only() {
        let cache = tempfile::tempdir().unwrap();
        let folder = materialise(cache.path()).unwrap();
        assert_eq!(folder, cache.path().join("stock").join(id()));
        let x86 = folder.join("targets/x86_64.toml");
        assert_eq!(
            fs::read(&x86).unwrap(),
            files()
                .iter()
                .find(|f| f.path == "targets/x86_64.toml")
                .unwrap()
                .contents
        );
        assert!(fs::metadata(&x86).unwrap().permissions().readonly());
        // A second call finds it and leaves no temporary folder behind.
        assert_eq!(materialise(cache.path()).unwrap(), folder);
        let names: Vec<_> = fs::read_dir(cache.path().join("stock"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(id())]);
    }

    #[test]
    fn an_unwritable_cache_is_an_error_naming_the_folder() {
        let cache = tempfile::tempdir().unwrap();
        let blocker = cache.path().join("stock");
        fs::write(&blocker, "a file where the folder goes").unwrap();
        let error = materialise(cache.path()).unwrap_err();
        assert!(
            matches!(&error, StockError::Write { path, .. } if path == &blocker),
            "{error}"
        );
    }
}
