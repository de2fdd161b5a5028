//! Fetching upstream sources (git and archives), for fetch steps and for `hivebuild lock`.
//!
//! A fetched tree is checked against the NAR hash the lock pins; an archive is first checked
//! against its own sha256. With `--offline` nothing is fetched: the step fails and says which
//! source is missing (a source fetched before is in the store and needs no network).

use std::fs;
use std::path::Path;

use hive_manifest::{Manifest, Source};
use hive_plan::{Digest, Lock, LockedSource};
use hive_process::ProcessBuilder;

use crate::EngineError;
use crate::context::StepContext;
use crate::reporter::{Event, Reporter};

pub(crate) fn run(
    context: &StepContext<'_>,
    source: &str,
    locked: &LockedSource,
) -> Result<(), EngineError> {
    if context.settings.offline {
        return Err(EngineError::Offline {
            name: source.to_owned(),
        });
    }
    let (kind, url, revision) = match locked {
        LockedSource::Git { url, commit, .. } => ("git", url, commit),
        LockedSource::Tarball { url, sha256, .. } => ("tarball", url, sha256),
    };
    let nar = fetch_tree(source, kind, url, revision, &context.work, &context.out)?;
    if nar != locked.nar_hash() {
        return Err(EngineError::HashMismatch {
            name: source.to_owned(),
            expected: locked.nar_hash().to_owned(),
            actual: nar,
        });
    }
    Ok(())
}

/// Fetch `url` at `revision` (a git commit, or an archive's sha256) into `out`, using `work`
/// for scratch; return the tree's NAR hash.
fn fetch_tree(
    source: &str,
    kind: &str,
    url: &str,
    revision: &str,
    work: &Path,
    out: &Path,
) -> Result<String, EngineError> {
    let failed = |error| EngineError::Fetch {
        name: source.to_owned(),
        error: Box::new(error),
    };
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| EngineError::Io { path, source }
    };
    if kind == "git" {
        let repo = work.join("repo");
        let git = |args: &[&str]| {
            ProcessBuilder::new("git")
                .arg("-C")
                .arg(&repo)
                .args(args)
                .env("GIT_TERMINAL_PROMPT", "0")
        };
        fs::create_dir_all(&repo).map_err(io_error(&repo))?;
        git(&["init", "-q"]).output().map_err(failed)?;
        if git(&["fetch", "-q", "--depth", "1", url, revision])
            .output()
            .is_err()
        {
            // Servers that refuse a commit by hash: fetch everything, then pick the commit.
            git(&["fetch", "-q", url, "+refs/*:refs/remotes/origin/*"])
                .output()
                .map_err(failed)?;
        }
        let archive = work.join("tree.tar");
        git(&[
            "archive",
            "--format=tar",
            "-o",
            &archive.to_string_lossy(),
            revision,
        ])
        .output()
        .map_err(failed)?;
        ProcessBuilder::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(out)
            .output()
            .map_err(failed)?;
    } else {
        let archive = work.join("archive");
        if let Some(path) = url.strip_prefix("file://") {
            fs::copy(path, &archive).map_err(io_error(Path::new(path)))?;
        } else {
            ProcessBuilder::new("curl")
                .args(["-fsSL", "--retry", "2", "-o"])
                .arg(&archive)
                .arg(url)
                .output()
                .map_err(failed)?;
        }
        let bytes = fs::read(&archive).map_err(io_error(&archive))?;
        let actual = Digest::of(&bytes).hex();
        if actual != revision {
            return Err(EngineError::HashMismatch {
                name: source.to_owned(),
                expected: revision.to_owned(),
                actual,
            });
        }
        let unpacked = work.join("unpacked");
        fs::create_dir_all(&unpacked).map_err(io_error(&unpacked))?;
        ProcessBuilder::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked)
            .output()
            .map_err(failed)?;
        // An archive with one top folder is that folder's contents, as with `--strip-components=1`.
        let entries: Vec<_> = fs::read_dir(&unpacked)
            .map_err(io_error(&unpacked))?
            .flatten()
            .collect();
        let top = match entries.as_slice() {
            [only] if only.path().is_dir() => only.path(),
            _ => unpacked.clone(),
        };
        fs::remove_dir(out).map_err(io_error(out))?;
        fs::rename(&top, out).map_err(io_error(&top))?;
    }
    let nar = hive_store::nar_hash(out).map_err(io_error(out))?;
    Ok(nar.hash)
}

/// Options of `hivebuild lock`.
#[derive(Clone, Debug, Default)]
pub struct LockOptions {
    pub offline: bool,
    /// Re-resolve every source, even those whose lock entry is current.
    pub update: bool,
}

/// Pin every git and archive source of the manifest: resolve git revisions to commits and
/// hash each tree. Entries that are current are kept unless `update` is set.
pub fn lock(
    manifest: &Manifest,
    old: &Lock,
    options: &LockOptions,
    reporter: &dyn Reporter,
) -> Result<Lock, EngineError> {
    let mut lock = Lock::default();
    for (name, source) in &manifest.sources {
        let (kind, url, revision) = match source {
            Source::Path { .. } | Source::Stock { .. } => continue,
            Source::Git { url, rev } => ("git", url, rev),
            Source::Tarball { url, sha256 } => ("tarball", url, sha256),
        };
        let current = old.sources.get(name).filter(|locked| match locked {
            LockedSource::Git { url: u, rev, .. } => kind == "git" && u == url && rev == revision,
            LockedSource::Tarball { url: u, sha256, .. } => {
                kind == "tarball" && u == url && sha256 == revision
            }
        });
        if let Some(locked) = current.filter(|_| !options.update) {
            lock.sources.insert(name.clone(), locked.clone());
            continue;
        }
        if options.offline {
            return Err(EngineError::Offline { name: name.clone() });
        }
        let scratch = tempfile::tempdir().map_err(|source| EngineError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let (work, out) = (scratch.path().join("work"), scratch.path().join("out"));
        for dir in [&work, &out] {
            fs::create_dir_all(dir).map_err(|source| EngineError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        let locked = if kind == "git" {
            let commit = resolve_commit(name, url, revision)?;
            let nar_hash = fetch_tree(name, kind, url, &commit, &work, &out)?;
            reporter.report(&Event::Fetched {
                source: name,
                detail: &format!("{revision} = {commit}"),
            });
            LockedSource::Git {
                url: url.clone(),
                rev: revision.clone(),
                commit,
                nar_hash,
            }
        } else {
            let nar_hash = fetch_tree(name, kind, url, revision, &work, &out)?;
            reporter.report(&Event::Fetched {
                source: name,
                detail: &format!("sha256 {revision}"),
            });
            LockedSource::Tarball {
                url: url.clone(),
                sha256: revision.clone(),
                nar_hash,
            }
        };
        lock.sources.insert(name.clone(), locked);
    }
    Ok(lock)
}

/// A full commit hash is taken as it is; anything else is asked of the remote.
fn resolve_commit(source: &str, url: &str, revision: &str) -> Result<String, EngineError> {
    if revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(revision.to_ascii_lowercase());
    }
    let output = ProcessBuilder::new("git")
        .args(["ls-remote", url, revision])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|error| EngineError::Fetch {
            name: source.to_owned(),
            error: Box::new(error),
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| EngineError::UnknownRevision {
            name: source.to_owned(),
            revision: revision.to_owned(),
            url: url.to_owned(),
        })
}
