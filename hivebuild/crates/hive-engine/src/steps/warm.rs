//! A warm build folder: what a step keeps in the store's cache between builds so that the
//! next build with the same inputs but one (a skill's app) only redoes what that one touches.
//!
//! ```text
//! <store>/.cache/warm/<kind>/<name>-<key>/       the folder, laid out like a step's own
//! <store>/.cache/warm/<kind>/<name>-<key>.lock   held while a build uses it
//! <folder>/.laid-out                         written once the folder's inputs are in place
//! <folder>/.building                         written before a build, removed after it worked
//! ```
//!
//! A folder whose layout never finished, or whose last build failed or was killed
//! (`.building` still there), is removed and laid out again: a half-written object never
//! reaches a later build. Outputs never depend on it: a warm build must give the bytes a
//! clean one gives (`build --check` builds clean and compares). `gc` removes them all.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::EngineError;

const LAID_OUT: &str = ".laid-out";
const BUILDING: &str = ".building";

pub(crate) struct Warm {
    pub(crate) root: PathBuf,
    /// Laid out now (a clean build), rather than kept from an earlier one.
    pub(crate) fresh: bool,
    _lock: File,
}

impl Warm {
    /// Open (and lock) the folder for `key` under `cache/kind`, emptied unless an earlier
    /// build left it laid out and whole.
    pub(crate) fn open(
        cache: &Path,
        kind: &str,
        name: &str,
        key: &str,
    ) -> Result<Self, EngineError> {
        let parent = cache.join(kind);
        fs::create_dir_all(&parent).map_err(EngineError::io(&parent))?;
        let root = parent.join(format!("{name}-{key}"));
        let lock_path = parent.join(format!("{name}-{key}.lock"));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(EngineError::io(&lock_path))?;
        lock.lock().map_err(EngineError::io(&lock_path))?;
        let whole = root.join(LAID_OUT).is_file() && !root.join(BUILDING).exists();
        if !whole {
            if root.exists() {
                fs::remove_dir_all(&root).map_err(EngineError::io(&root))?;
            }
            fs::create_dir_all(&root).map_err(EngineError::io(&root))?;
        }
        Ok(Self {
            root,
            fresh: !whole,
            _lock: lock,
        })
    }

    /// The inputs are in place.
    pub(crate) fn laid_out(&self) -> Result<(), EngineError> {
        marker(&self.root.join(LAID_OUT), true)
    }

    /// A build starts: until [`Warm::built`], the folder is not to be trusted.
    pub(crate) fn building(&self) -> Result<(), EngineError> {
        marker(&self.root.join(BUILDING), true)
    }

    pub(crate) fn built(&self) -> Result<(), EngineError> {
        marker(&self.root.join(BUILDING), false)
    }
}

fn marker(path: &Path, present: bool) -> Result<(), EngineError> {
    if present {
        fs::write(path, "").map_err(EngineError::io(path))
    } else {
        fs::remove_file(path).map_err(EngineError::io(path))
    }
}

/// Make `to` hold what `from` holds, touching only what differs: a file whose bytes are the
/// same keeps its time (make sees it unchanged), a changed one is rewritten (make sees it
/// new), one `from` no longer has is removed. Symlinks are kept as symlinks.
pub(crate) fn sync_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::symlink_metadata(from)?;
    let existing = fs::symlink_metadata(to).ok();
    if meta.file_type().is_symlink() {
        let target = fs::read_link(from)?;
        if existing.is_some() {
            if fs::read_link(to).ok().as_deref() == Some(target.as_path()) {
                return Ok(());
            }
            remove(to)?;
        }
        return std::os::unix::fs::symlink(target, to);
    }
    if meta.is_file() {
        if let Some(existing) = existing {
            if existing.is_file() && fs::read(to)? == fs::read(from)? {
                return Ok(());
            }
            remove(to)?;
        }
        fs::copy(from, to)?;
        let mode = meta.permissions().mode() | 0o200;
        return fs::set_permissions(to, fs::Permissions::from_mode(mode));
    }
    if existing.as_ref().is_some_and(|m| !m.is_dir()) {
        remove(to)?;
    }
    fs::create_dir_all(to)?;
    let mut wanted = std::collections::BTreeSet::new();
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if hive_plan::hash::is_source_entry(&name.to_string_lossy()) {
            sync_tree(&entry.path(), &to.join(&name))?;
            wanted.insert(name);
        }
    }
    for entry in fs::read_dir(to)? {
        let entry = entry?;
        if !wanted.contains(&entry.file_name()) {
            remove(&entry.path())?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn sync_touches_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        fs::create_dir_all(from.join("sub")).unwrap();
        fs::write(from.join("same.c"), "same").unwrap();
        fs::write(from.join("changed.c"), "one").unwrap();
        fs::write(from.join("sub/gone.c"), "gone").unwrap();
        sync_tree(&from, &to).unwrap();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        for file in ["same.c", "changed.c"] {
            File::options()
                .write(true)
                .open(to.join(file))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        fs::write(from.join("changed.c"), "two").unwrap();
        fs::remove_file(from.join("sub/gone.c")).unwrap();
        fs::write(from.join("new.c"), "new").unwrap();
        sync_tree(&from, &to).unwrap();
        let mtime = |file: &str| fs::metadata(to.join(file)).unwrap().modified().unwrap();
        assert_eq!(mtime("same.c"), old);
        assert!(mtime("changed.c") > old);
        assert_eq!(fs::read_to_string(to.join("changed.c")).unwrap(), "two");
        assert_eq!(fs::read_to_string(to.join("new.c")).unwrap(), "new");
        assert!(!to.join("sub/gone.c").exists());
    }

    #[test]
    fn a_build_that_did_not_finish_is_not_reused() {
        let cache = tempfile::tempdir().unwrap();
        let warm = Warm::open(cache.path(), "k", "skill", "abc").unwrap();
        assert!(warm.fresh);
        fs::write(warm.root.join("object.o"), "half").unwrap();
        warm.laid_out().unwrap();
        warm.building().unwrap();
        drop(warm);
        let again = Warm::open(cache.path(), "k", "skill", "abc").unwrap();
        assert!(again.fresh, "a build was left unfinished");
        assert!(!again.root.join("object.o").exists());
        again.laid_out().unwrap();
        again.building().unwrap();
        fs::write(again.root.join("object.o"), "whole").unwrap();
        again.built().unwrap();
        drop(again);
        let warm = Warm::open(cache.path(), "k", "skill", "abc").unwrap();
        assert!(!warm.fresh);
        assert_eq!(
            fs::read_to_string(warm.root.join("object.o")).unwrap(),
            "whole"
        );
    }
}
