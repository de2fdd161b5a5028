//! Normalising a fresh output before it enters the store: fixed timestamps and permissions,
//! no special files, and no path of the build (or the builder's home) inside any file.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use filetime::FileTime;

use crate::StoreError;

/// What to normalise an output to and what it must not contain.
#[derive(Clone, Debug)]
pub struct Normalise {
    /// Every mtime is set to this (`SOURCE_DATE_EPOCH`).
    pub mtime: i64,
    /// Byte strings no output file may contain: the build folder, the home folder.
    pub forbidden: Vec<(String, Vec<u8>)>,
}

pub(crate) fn normalise(out: &Path, options: &Normalise) -> Result<(), StoreError> {
    let io_error = |path: &Path, source: io::Error| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let finder: Vec<(&str, memchr::memmem::Finder<'_>)> = options
        .forbidden
        .iter()
        .filter(|(_, bytes)| !bytes.is_empty())
        .map(|(what, bytes)| (what.as_str(), memchr::memmem::Finder::new(bytes)))
        .collect();
    // Children before parents, so a folder's mtime is set after its contents are done.
    for entry in walkdir::WalkDir::new(out).contents_first(true) {
        let entry = entry.map_err(|e| {
            let path = e.path().map_or_else(|| out.to_owned(), Path::to_owned);
            io_error(&path, e.into())
        })?;
        let path = entry.path();
        let file_type = entry.file_type();
        if file_type.is_symlink() {
            // Symlinks carry no permissions of their own; only the timestamp.
        } else if file_type.is_dir() {
            fs::set_permissions(path, fs::Permissions::from_mode(0o555))
                .map_err(|e| io_error(path, e))?;
        } else if file_type.is_file() {
            let mode = entry
                .metadata()
                .map_err(|e| io_error(path, e.into()))?
                .permissions()
                .mode();
            let mode = if mode & 0o111 != 0 { 0o555 } else { 0o444 };
            let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
            for (what, finder) in &finder {
                if finder.find(&bytes).is_some() {
                    return Err(StoreError::ForbiddenPath {
                        file: relative(out, path),
                        what: (*what).to_owned(),
                    });
                }
            }
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .map_err(|e| io_error(path, e))?;
        } else {
            return Err(StoreError::SpecialFile {
                file: relative(out, path),
            });
        }
        let time = FileTime::from_unix_time(options.mtime, 0);
        filetime::set_symlink_file_times(path, time, time).map_err(|e| io_error(path, e))?;
    }
    Ok(())
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_owned()
}

/// Remove a tree that may hold read-only folders (store entries are made read-only).
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
        Ok(meta) if !meta.is_dir() => return fs::remove_file(path),
        Ok(_) => {}
    }
    for entry in walkdir::WalkDir::new(path) {
        let entry = entry.map_err(io::Error::from)?;
        if entry.file_type().is_dir() {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o755))?;
        }
    }
    fs::remove_dir_all(path)
}
