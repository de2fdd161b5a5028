//! Toolchain identity: the versions of the compilers a step runs, part of its key.
//!
//! Asking a compiler for its version costs a process start (milliseconds each), which a
//! no-op build cannot afford for every tool. Answers are cached in a file keyed by the
//! program's resolved path, size, mtime and inode, so a changed compiler is asked again.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hive_process::ProcessBuilder;
use serde::{Deserialize, Serialize};

/// What a program printed for a question, and which file it was.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct CachedAnswer {
    stamp: String,
    answer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("`{program}` was not found on PATH{}", hint.as_ref().map(|h| format!(" (install it: {h})")).unwrap_or_default())]
    NotFound {
        program: String,
        hint: Option<String>,
    },
    #[error("no Rust toolchain here has a standard library for `{triple}` (get one: {hint})")]
    NoRustStd { triple: String, hint: String },
    #[error("no Python 3 here can import {modules} (install them: {hint})")]
    NoPythonModules { modules: String, hint: String },
    #[error("libclang was not found (install it: {hint})")]
    NoLibclang { hint: String },
    #[error("failed to ask `{program}` for its version")]
    Query {
        program: String,
        #[source]
        source: hive_process::ProcessError,
    },
}

/// Finds programs and remembers what they said about themselves.
#[derive(Debug)]
pub struct Probe {
    cache_file: Option<PathBuf>,
    cache: Mutex<BTreeMap<String, CachedAnswer>>,
    dirty: Mutex<bool>,
    path_dirs: Vec<PathBuf>,
}

impl Probe {
    /// A probe that keeps its answers in `cache_file` (if given).
    pub fn new(cache_file: Option<PathBuf>) -> Self {
        let cache = cache_file
            .as_deref()
            .and_then(|file| std::fs::read(file).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let path_dirs = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        Self {
            cache_file,
            cache: Mutex::new(cache),
            dirty: Mutex::new(false),
            path_dirs,
        }
    }

    /// The full path of `program` (a bare name is looked up on PATH).
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        if program.contains('/') {
            let path = PathBuf::from(program);
            return is_executable(&path).then_some(path);
        }
        self.path_dirs
            .iter()
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    }

    /// Like [`Self::which`], with an install hint in the error.
    pub fn require(&self, program: &str, hint: Option<&str>) -> Result<PathBuf, ToolError> {
        self.which(program).ok_or_else(|| ToolError::NotFound {
            program: program.to_owned(),
            hint: hint.map(str::to_owned),
        })
    }

    /// What `program args...` prints (stdout, trimmed), cached while the program's file is
    /// unchanged. `extra_stamp` adds anything else the answer depends on (for rustup
    /// proxies: the selected toolchain).
    pub fn ask(
        &self,
        program: &Path,
        args: &[&str],
        extra_stamp: &str,
    ) -> Result<String, ToolError> {
        let query = format!("{} {}", program.display(), args.join(" "));
        let stamp = format!("{}|{extra_stamp}", file_stamp(program));
        if let Some(cached) = self.cache.lock().expect("probe cache").get(&query)
            && cached.stamp == stamp
        {
            return Ok(cached.answer.clone());
        }
        let output = ProcessBuilder::new(program)
            .args(args)
            .output()
            .map_err(|source| ToolError::Query {
                program: program.display().to_string(),
                source,
            })?;
        let mut answer = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if answer.is_empty() {
            String::from_utf8_lossy(&output.stderr)
                .trim()
                .clone_into(&mut answer);
        }
        self.cache.lock().expect("probe cache").insert(
            query,
            CachedAnswer {
                stamp,
                answer: answer.clone(),
            },
        );
        *self.dirty.lock().expect("probe cache") = true;
        Ok(answer)
    }

    /// The first line of `program --version`.
    pub fn version(&self, program: &Path) -> Result<String, ToolError> {
        let answer = self.ask(program, &["--version"], "")?;
        Ok(answer.lines().next().unwrap_or_default().to_owned())
    }

    /// Write new answers back to the cache file (best effort: a cache, not a record).
    pub fn save(&self) {
        let Some(file) = &self.cache_file else { return };
        if !std::mem::take(&mut *self.dirty.lock().expect("probe cache")) {
            return;
        }
        let Ok(bytes) = serde_json::to_vec_pretty(&*self.cache.lock().expect("probe cache")) else {
            return;
        };
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let temporary = file.with_extension(format!("tmp.{}", std::process::id()));
        if std::fs::write(&temporary, bytes).is_ok() {
            let _ = std::fs::rename(&temporary, file);
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn file_stamp(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => format!(
            "{}:{}:{}:{}",
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ino()
        ),
        Err(_) => "missing".into(),
    }
}

/// What selects the toolchain behind rustup's proxies: the override variable and the
/// settings file's modification time. Part of the cache stamp of `rustc` answers.
pub fn rustup_stamp() -> String {
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").unwrap_or_default();
    let home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")));
    let settings = home
        .map(|h| file_stamp(&h.join("settings.toml")))
        .unwrap_or_default();
    format!("{toolchain}|{settings}")
}

/// A rustc and the cargo beside it that can build for `target`'s triple, and the crates it
/// must build from source: the first of `preferred`, the `rustc` on PATH and
/// `/usr/bin/rustc` with a prebuilt standard library for the triple; failing that, when the
/// target allows build-std, the first with the standard library's sources.
pub fn find_rust(
    probe: &Probe,
    target: &hive_manifest::target::RustTarget,
    preferred: Option<&Path>,
) -> Result<(PathBuf, PathBuf, Vec<String>), ToolError> {
    let mut candidates: Vec<PathBuf> = preferred.map(Path::to_owned).into_iter().collect();
    candidates.extend(probe.which("rustc"));
    candidates.push(PathBuf::from("/usr/bin/rustc"));
    candidates.dedup();
    let mut with_sources = None;
    for rustc in candidates.iter().filter(|r| r.is_file()) {
        let cargo = rustc.with_file_name("cargo");
        let Ok(sysroot) = probe.ask(rustc, &["--print", "sysroot"], &rustup_stamp()) else {
            continue;
        };
        if !cargo.is_file() {
            continue;
        }
        let rustlib = Path::new(&sysroot).join("lib/rustlib");
        if rustlib.join(&target.triple).join("lib").is_dir() {
            return Ok((rustc.clone(), cargo, Vec::new()));
        }
        if with_sources.is_none() && rustlib.join("src/rust/library").is_dir() {
            with_sources = Some((rustc.clone(), cargo));
        }
    }
    match with_sources {
        Some((rustc, cargo)) if !target.build_std.is_empty() => {
            Ok((rustc, cargo, target.build_std.clone()))
        }
        _ => Err(ToolError::NoRustStd {
            triple: target.triple.clone(),
            hint: format!(
                "`rustup target add {}`; on Debian without rustup downloads, `apt install rustc-web rust-web-src` \
                 (build-std) or `libstd-rust-web-dev:arm64` (aarch64 Linux); see docs/toolchains.md",
                target.triple
            ),
        }),
    }
}

/// A Python 3 that can import `modules`: its real executable (not a shim: steps run with a
/// clean environment) and its version. Asked every time, not cached: installing the modules
/// must take effect at once.
pub fn find_python(
    probe: &Probe,
    modules: &[&str],
    hint: &str,
) -> Result<(PathBuf, String), ToolError> {
    let script = format!(
        "import sys, {}; print(sys.executable); print(sys.version.split()[0])",
        modules.join(", ")
    );
    for candidate in ["python3"]
        .iter()
        .filter_map(|p| probe.which(p))
        .chain([PathBuf::from("/usr/bin/python3")])
    {
        let Ok(output) = ProcessBuilder::new(&candidate)
            .args(["-c", &script])
            .output()
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines();
        if let (Some(executable), Some(version)) = (lines.next(), lines.next())
            && Path::new(executable).is_file()
        {
            return Ok((PathBuf::from(executable), format!("Python {version}")));
        }
    }
    Err(ToolError::NoPythonModules {
        modules: modules.join(", "),
        hint: hint.to_owned(),
    })
}

/// The folder of a `libclang.so` (bindgen's `LIBCLANG_PATH`): `LIBCLANG_PATH` itself when
/// set, else the newest LLVM's on Debian.
pub fn find_libclang() -> Result<(PathBuf, String), ToolError> {
    let has = |dir: &Path| -> Option<String> {
        let entries = std::fs::read_dir(dir).ok()?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| {
                n.starts_with("libclang") && !n.starts_with("libclang-cpp") && n.contains(".so")
            })
            .collect();
        names.sort();
        names.pop()
    };
    if let Some(dir) = std::env::var_os("LIBCLANG_PATH").map(PathBuf::from)
        && let Some(name) = has(&dir)
    {
        return Ok((dir, name));
    }
    let mut llvm: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("llvm-"))
        })
        .map(|p| p.join("lib"))
        .collect();
    llvm.sort_by_key(|p| {
        p.parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.trim_start_matches("llvm-").parse::<u32>().ok())
            .unwrap_or(0)
    });
    for dir in llvm.iter().rev() {
        if let Some(name) = has(dir) {
            return Ok((dir.clone(), format!("{}/{name}", dir.display())));
        }
    }
    Err(ToolError::NoLibclang {
        hint: "`apt install libclang-dev`, or set LIBCLANG_PATH to the folder of libclang.so"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_and_caches_answers() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let tool = dir.path().join("tool");
        std::fs::write(
            &tool,
            format!("#!/bin/sh\necho run >> {}\necho tool 1.0\n", runs.display()),
        )
        .unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let count = || {
            std::fs::read_to_string(&runs)
                .unwrap_or_default()
                .lines()
                .count()
        };

        let cache = dir.path().join("cache.json");
        let probe = Probe::new(Some(cache.clone()));
        assert!(probe.which("sh").is_some());
        assert!(probe.which("surely-no-such-program-here").is_none());
        let error = probe
            .require("surely-no-such-program-here", Some("apt install it"))
            .unwrap_err();
        assert!(
            error.to_string().contains("install it: apt install it"),
            "{error}"
        );

        assert_eq!(probe.version(&tool).unwrap(), "tool 1.0");
        assert_eq!(probe.version(&tool).unwrap(), "tool 1.0");
        assert_eq!(count(), 1, "the second question is answered from memory");
        probe.save();
        assert_eq!(
            Probe::new(Some(cache.clone())).version(&tool).unwrap(),
            "tool 1.0"
        );
        assert_eq!(count(), 1, "and from the cache file by a new probe");
        assert_eq!(
            Probe::new(Some(cache.clone()))
                .ask(&tool, &["--version"], "other")
                .unwrap(),
            "tool 1.0"
        );
        assert_eq!(count(), 2, "another stamp asks again");

        std::fs::write(
            &tool,
            format!("#!/bin/sh\necho run >> {}\necho tool 2.0\n", runs.display()),
        )
        .unwrap();
        assert_eq!(
            Probe::new(Some(cache)).version(&tool).unwrap(),
            "tool 2.0",
            "a changed program is asked again"
        );
    }
}
