//! The store: every step output kept once, under its key, Nix-style.
//!
//! Layout (format version 1, in `<store>/.hivebuild-store`):
//! ```text
//! <store>/<nix32>-<name>/          an output, read-only, mtimes = SOURCE_DATE_EPOCH
//! <store>/.meta/<nix32>-<name>.json its record (key, step, NAR hash); written last
//! <store>/.tmp/<nix32>-<name>.<pid>/ a build in progress
//! <store>/.locks/<nix32>-<name>.lock held while that entry is built
//! <store>/.lock                     shared by builds, exclusive for `gc`
//! <store>/.roots/<id>.json          what a manifest + target last built (kept by gc)
//! <store>/.cache/                   caches that may be deleted at any time
//! <store>/.cache/warm/               steps' warm build folders; `gc` removes them
//! ```
//! An entry exists only once its record exists. An output folder without a record is what a
//! killed build leaves between its rename and its record; the next build of that entry
//! removes it, under the entry's lock, and builds again. So a build killed at any point
//! leaves no half entry that anyone would use.
//!
//! Changelog: 1 — first version.

mod nar;
mod normalise;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use nar::{NarHash, nar_hash};
pub use normalise::Normalise;

/// Normalise an output folder built outside the store (the Nix engine's builder does, then
/// copies it to `$out`), as [`Build::commit`] does.
pub fn normalise_output(out: &Path, options: &Normalise) -> Result<(), StoreError> {
    normalise::normalise(out, options)
}

pub const STORE_VERSION: u32 = 1;
const VERSION_FILE: &str = ".hivebuild-store";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to access `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is a store of format {found}; this hivebuild uses format {STORE_VERSION}", path.display())]
    Version { path: PathBuf, found: String },
    #[error("output file `{}` contains the path of the {what}", file.display())]
    ForbiddenPath { file: PathBuf, what: String },
    #[error("output `{}` is not a regular file, folder or symlink", file.display())]
    SpecialFile { file: PathBuf },
}

/// The record of a store entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Record {
    pub format: u32,
    /// The step key, hex.
    pub key: String,
    pub step: String,
    pub kind: String,
    pub nar_hash: String,
    pub nar_size: u64,
}

/// An entry that is in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub record: Record,
}

/// An open store. Holds the store's shared lock (or the exclusive one, for gc) while alive.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    _lock: File,
}

impl Store {
    /// Open (creating if needed) the store at `root` for building.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        Self::open_with(root, false)
    }

    /// Open the store with its exclusive lock: no build runs while it is held.
    pub fn open_exclusive(root: &Path) -> Result<Self, StoreError> {
        Self::open_with(root, true)
    }

    fn open_with(root: &Path, exclusive: bool) -> Result<Self, StoreError> {
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Io { path, source }
        };
        for dir in [".meta", ".tmp", ".locks", ".roots", ".cache"] {
            let dir = root.join(dir);
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        let version_file = root.join(VERSION_FILE);
        match fs::read_to_string(&version_file) {
            Ok(text) if text.trim() == STORE_VERSION.to_string() => {}
            Ok(text) => {
                return Err(StoreError::Version {
                    path: root.to_owned(),
                    found: text.trim().to_owned(),
                });
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                write_atomic(&version_file, format!("{STORE_VERSION}\n").as_bytes())?;
            }
            Err(source) => {
                return Err(StoreError::Io {
                    path: version_file,
                    source,
                });
            }
        }
        let lock_path = root.join(".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        if exclusive {
            lock.lock()
        } else {
            lock.lock_shared()
        }
        .map_err(io_error(&lock_path))?;
        let root = fs::canonicalize(root).map_err(io_error(root))?;
        Ok(Self { root, _lock: lock })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the entry named `name` lives (whether or not it exists).
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A folder for caches that may be deleted at any time.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join(".cache")
    }

    /// The entry, if it is complete.
    pub fn lookup(&self, name: &str) -> Option<Entry> {
        let bytes = fs::read(self.record_path(name)).ok()?;
        let record: Record = serde_json::from_slice(&bytes).ok()?;
        let path = self.path_of(name);
        path.symlink_metadata().ok()?;
        Some(Entry {
            name: name.to_owned(),
            path,
            record,
        })
    }

    /// Start building `name`: waits for anyone else building it, then returns either the
    /// finished entry (someone else built it) or a [`Build`] with an empty output folder.
    pub fn begin(&self, name: &str) -> Result<Begin<'_>, StoreError> {
        let lock_path = self.root.join(".locks").join(format!("{name}.lock"));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StoreError::Io {
                path: lock_path.clone(),
                source,
            })?;
        lock.lock().map_err(|source| StoreError::Io {
            path: lock_path,
            source,
        })?;
        if let Some(entry) = self.lookup(name) {
            return Ok(Begin::Done(entry));
        }
        // Under the lock, anything left for this name is from a killed build.
        self.remove_leftovers(name)?;
        let dir = self
            .root
            .join(".tmp")
            .join(format!("{name}.{}", std::process::id()));
        let out = dir.join("out");
        fs::create_dir_all(&out).map_err(|source| StoreError::Io {
            path: out.clone(),
            source,
        })?;
        Ok(Begin::Build(Build {
            store: self,
            name: name.to_owned(),
            dir,
            out,
            _lock: lock,
        }))
    }

    fn remove_leftovers(&self, name: &str) -> Result<(), StoreError> {
        let remove = |path: PathBuf| {
            normalise::remove_tree(&path).map_err(|source| StoreError::Io { path, source })
        };
        remove(self.path_of(name))?;
        let tmp = self.root.join(".tmp");
        let prefix = format!("{name}.");
        for entry in fs::read_dir(&tmp)
            .map_err(|source| StoreError::Io {
                path: tmp.clone(),
                source,
            })?
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                remove(entry.path())?;
            }
        }
        Ok(())
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.root.join(".meta").join(format!("{name}.json"))
    }

    /// Every complete entry, sorted by name.
    pub fn list(&self) -> Result<Vec<Entry>, StoreError> {
        let meta = self.root.join(".meta");
        let mut entries: Vec<Entry> = fs::read_dir(&meta)
            .map_err(|source| StoreError::Io {
                path: meta.clone(),
                source,
            })?
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_owned)
            })
            .filter_map(|name| self.lookup(&name))
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Record that `id` (a manifest + target) uses these entries; `gc` keeps them.
    pub fn set_root(&self, id: &str, root: &GcRoot) -> Result<(), StoreError> {
        let path = self.root.join(".roots").join(format!("{id}.json"));
        let bytes = serde_json::to_vec_pretty(root).expect("roots serialise");
        write_atomic(&path, &bytes)
    }

    /// Remove every entry no live root names, and every leftover of killed builds. A root
    /// whose manifest no longer exists is dropped first. Needs [`Store::open_exclusive`].
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        let mut live = BTreeSet::new();
        let roots = self.root.join(".roots");
        for entry in fs::read_dir(&roots)
            .map_err(|source| StoreError::Io {
                path: roots.clone(),
                source,
            })?
            .flatten()
        {
            let root: Option<GcRoot> = fs::read(entry.path())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match root {
                Some(root) if Path::new(&root.manifest).is_file() => live.extend(root.entries),
                _ => {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        let mut report = GcReport::default();
        let listing = fs::read_dir(&self.root).map_err(|source| StoreError::Io {
            path: self.root.clone(),
            source,
        })?;
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_entry_name(&name) || live.contains(&name) {
                continue;
            }
            report.bytes += tree_size(&entry.path());
            normalise::remove_tree(&entry.path()).map_err(|source| StoreError::Io {
                path: entry.path(),
                source,
            })?;
            let _ = fs::remove_file(self.record_path(&name));
            report.removed.push(name);
        }
        for dir in [".tmp", ".locks"] {
            let dir = self.root.join(dir);
            for entry in fs::read_dir(&dir)
                .map_err(|source| StoreError::Io {
                    path: dir.clone(),
                    source,
                })?
                .flatten()
            {
                normalise::remove_tree(&entry.path()).map_err(|source| StoreError::Io {
                    path: entry.path(),
                    source,
                })?;
            }
        }
        let meta = self.root.join(".meta");
        for entry in fs::read_dir(&meta)
            .map_err(|source| StoreError::Io {
                path: meta.clone(),
                source,
            })?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let entry_name = name.strip_suffix(".json").unwrap_or(&name);
            if !self.path_of(entry_name).exists() {
                let _ = fs::remove_file(entry.path());
            }
        }
        // Warm build folders (a step's work kept for its next build): no build runs while
        // gc holds the store, and the next build lays them out again.
        let warm = self.cache_dir().join(WARM_DIR);
        if warm.exists() {
            report.bytes += tree_size(&warm);
            normalise::remove_tree(&warm).map_err(|source| StoreError::Io {
                path: warm.clone(),
                source,
            })?;
        }
        report.removed.sort();
        Ok(report)
    }
}

/// The folder of `.cache` where steps keep warm build folders (`.cache/warm/<kind>/...`).
pub const WARM_DIR: &str = "warm";

/// What a manifest + target last built, so that `gc` keeps it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GcRoot {
    pub manifest: String,
    pub target: String,
    pub entries: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct GcReport {
    pub removed: Vec<String>,
    pub bytes: u64,
}

pub enum Begin<'s> {
    /// Already in the store.
    Done(Entry),
    /// Ours to build.
    Build(Build<'s>),
}

/// A build in progress: write the output into [`Build::out`], then [`Build::commit`].
/// Dropped without commit, it removes its temporary folder.
pub struct Build<'s> {
    store: &'s Store,
    name: String,
    dir: PathBuf,
    out: PathBuf,
    _lock: File,
}

impl Build<'_> {
    /// The temporary folder of this build (the output folder is inside it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Normalise the output, hash it and move it into the store; then write its record.
    pub fn commit(
        self,
        step: &str,
        kind: &str,
        key: &str,
        normalise: &Normalise,
    ) -> Result<Entry, StoreError> {
        normalise::normalise(&self.out, normalise)?;
        let nar = nar_hash(&self.out).map_err(|source| StoreError::Io {
            path: self.out.clone(),
            source,
        })?;
        let path = self.store.path_of(&self.name);
        fs::rename(&self.out, &path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        sync_dir(self.store.root());
        let record = Record {
            format: STORE_VERSION,
            key: key.to_owned(),
            step: step.to_owned(),
            kind: kind.to_owned(),
            nar_hash: nar.hash,
            nar_size: nar.size,
        };
        let bytes = serde_json::to_vec_pretty(&record).expect("records serialise");
        write_atomic(&self.store.record_path(&self.name), &bytes)?;
        Ok(Entry {
            name: self.name.clone(),
            path,
            record,
        })
    }
}

impl Drop for Build<'_> {
    fn drop(&mut self) {
        let _ = normalise::remove_tree(&self.dir);
    }
}

/// Write a file so that readers see the old content or the new, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write as _;
    let io_error = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    let temporary = parent.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut file = File::create(&temporary).map_err(io_error)?;
    file.write_all(bytes).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    fs::rename(&temporary, path).map_err(io_error)?;
    sync_dir(parent);
    Ok(())
}

/// `<32 nix32 characters>-<name>`: what the store names its entries. Anything else in the
/// store folder is not ours to remove.
pub fn is_entry_name(name: &str) -> bool {
    name.split_once('-').is_some_and(|(hash, rest)| {
        hash.len() == 32
            && !rest.is_empty()
            && hash
                .chars()
                .all(|c| "0123456789abcdfghijklmnpqrsvwxyz".contains(c))
    })
}

fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

fn tree_size(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests;
