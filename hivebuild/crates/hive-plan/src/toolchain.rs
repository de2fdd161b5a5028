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

/// How to get a missing tool: the Debian packages that provide it (what `ci/install-deps`
/// installs), and the way on other machines (rustup, Nix, `PyPI`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Install {
    /// `apt install` these, on Debian bookworm (`bookworm-backports` for QEMU).
    pub debian: Vec<String>,
    /// Elsewhere: rustup, a Nix attribute, pip.
    pub elsewhere: Option<String>,
}

impl Install {
    pub fn debian(packages: &[&str], elsewhere: impl Into<String>) -> Self {
        Self {
            debian: packages.iter().map(|p| (*p).to_owned()).collect(),
            elsewhere: Some(elsewhere.into()).filter(|e: &String| !e.is_empty()),
        }
    }

    /// The Debian packages and the Nix attribute of a tool known by its program name, for
    /// the programs hivebuild's steps and tests run.
    pub fn for_program(program: &str) -> Self {
        let name = program.rsplit('/').next().unwrap_or(program);
        let (debian, nix): (&[&str], &str) = match name {
            "make" => (&["make"], "gnumake"),
            "cmake" => (&["cmake"], "cmake"),
            "ninja" => (&["ninja-build"], "ninja"),
            "cc" | "gcc" => (&["gcc", "libc6-dev"], "gcc"),
            "dtc" => (&["device-tree-compiler"], "dtc"),
            "xmllint" => (&["libxml2-utils"], "libxml2"),
            "git" => (&["git"], "git"),
            "curl" => (&["curl"], "curl"),
            "tar" => (&["tar"], "gnutar"),
            "apt-get" => (&["apt"], ""),
            "aarch64-linux-gnu-gcc" => (
                &["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"],
                "pkgsCross.aarch64-multiplatform.buildPackages.gcc",
            ),
            "nm" | "objcopy" | "strip" => (&["binutils"], "binutils"),
            "flex" => (&["flex"], "flex"),
            "bison" => (&["bison"], "bison"),
            "patch" => (&["patch"], "gnupatch"),
            "aarch64-linux-gnu-strip" | "aarch64-linux-gnu-objcopy" | "aarch64-linux-gnu-nm" => (
                &["binutils-aarch64-linux-gnu"],
                "pkgsCross.aarch64-multiplatform.buildPackages.binutils",
            ),
            "qemu-system-x86_64" => (&["qemu-system-x86"], "qemu"),
            "qboot.rom" => (&["qemu-system-data"], "qemu"),
            "qemu-system-aarch64" => (&["qemu-system-arm"], "qemu"),
            "nix-store" | "nix-build" => (&["nix-bin"], ""),
            _ => return Self::debian(&[], ""),
        };
        let mut install = Self::debian(debian, "");
        if !nix.is_empty() {
            install.elsewhere = Some(format!("Nix: `nixpkgs#{nix}`"));
        }
        if name.starts_with("qemu-system-") {
            install.elsewhere = Some(
                "from `bookworm-backports` on bookworm (QEMU 10: `raspi4b`, `microvm`); Nix: `nixpkgs#qemu`"
                    .into(),
            );
        }
        install
    }
}

impl std::fmt::Display for Install {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.debian.as_slice(), &self.elsewhere) {
            ([], None) => f.write_str("see docs/toolchains.md"),
            ([], Some(elsewhere)) => f.write_str(elsewhere),
            (packages, None) => write!(f, "`apt install {}`", packages.join(" ")),
            (packages, Some(elsewhere)) => {
                write!(f, "`apt install {}`; {elsewhere}", packages.join(" "))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("`{program}` was not found on PATH (install it: {install})")]
    NotFound { program: String, install: Install },
    #[error("no Rust toolchain here has a standard library for `{triple}` (get one: {install})")]
    NoRustStd { triple: String, install: Install },
    #[error("`{}` has no cargo beside it (install it: {install})", rustc.display())]
    NoCargo { rustc: PathBuf, install: Install },
    #[error(
        "`rust-lld`, the linker of `{triple}`, was not found for `{}`{} (install it: {install})",
        rustc.display(),
        dangling.as_deref().map(|(link, to)| format!(": `{}` points at `{}`, which is not there", link.display(), to.display())).unwrap_or_default()
    )]
    NoRustLld {
        triple: String,
        rustc: PathBuf,
        /// A `rust-lld` on PATH that links to nothing, and where it points.
        dangling: Option<Box<(PathBuf, PathBuf)>>,
        install: Install,
    },
    #[error("no Python 3 here can import {modules} (install them: {install})")]
    NoPythonModules { modules: String, install: Install },
    #[error("libclang was not found (install it: {install})")]
    NoLibclang { install: Install },
    #[error("failed to ask `{program}` for its version")]
    Query {
        program: String,
        #[source]
        source: hive_process::ProcessError,
    },
}

impl ToolError {
    /// What to install, when the error is a missing tool.
    pub fn install(&self) -> Option<&Install> {
        match self {
            Self::NotFound { install, .. }
            | Self::NoRustStd { install, .. }
            | Self::NoCargo { install, .. }
            | Self::NoRustLld { install, .. }
            | Self::NoPythonModules { install, .. }
            | Self::NoLibclang { install } => Some(install),
            Self::Query { .. } => None,
        }
    }
}

/// A tool found: where, and what it says its version is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FoundTool {
    pub path: PathBuf,
    pub version: String,
}

/// One tool a plan's steps run, found or missing: what `hivebuild doctor` lists and what a
/// plan fails on.
#[derive(Debug)]
pub struct ToolCheck {
    /// What the steps call it: `cc`, `cargo`, `rust-lld`, `rust-aarch64-unknown-none`.
    pub role: String,
    /// The steps that run it.
    pub steps: Vec<String>,
    pub outcome: Result<FoundTool, ToolError>,
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
        let path_dirs = std::env::var_os(env::PATH)
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        Self {
            cache_file,
            cache: Mutex::new(cache),
            dirty: Mutex::new(false),
            path_dirs,
        }
    }

    /// A probe that looks for programs in `dirs` instead of PATH (tests).
    pub fn with_path(cache_file: Option<PathBuf>, dirs: Vec<PathBuf>) -> Self {
        Self {
            path_dirs: dirs,
            ..Self::new(cache_file)
        }
    }

    /// The first `program` on PATH that is a link to nothing, and where it points.
    pub fn dangling(&self, program: &str) -> Option<(PathBuf, PathBuf)> {
        self.path_dirs
            .iter()
            .map(|dir| dir.join(program))
            .find_map(|path| {
                let target = std::fs::read_link(&path).ok()?;
                (!path.exists()).then_some((path, target))
            })
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

    /// Like [`Self::which`], with what to install in the error.
    pub fn require(&self, program: &str, install: &Install) -> Result<PathBuf, ToolError> {
        self.which(program).ok_or_else(|| ToolError::NotFound {
            program: program.to_owned(),
            install: install.clone(),
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

/// The environment variables planning reads (`hive_ops::env` lists every one hivebuild reads).
pub mod env {
    pub const PATH: &str = "PATH";
    pub const HOME: &str = "HOME";
    pub const RUSTUP_HOME: &str = "RUSTUP_HOME";
    pub const RUSTUP_TOOLCHAIN: &str = "RUSTUP_TOOLCHAIN";
    pub const LIBCLANG_PATH: &str = "LIBCLANG_PATH";
}

/// Rustup's folder: `RUSTUP_HOME`, else `~/.rustup` (whether or not it exists).
pub fn rustup_home() -> Option<PathBuf> {
    std::env::var_os(env::RUSTUP_HOME)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os(env::HOME).map(|h| PathBuf::from(h).join(".rustup")))
}

/// What selects the toolchain behind rustup's proxies: the override variable and the
/// settings file's modification time. Part of the cache stamp of `rustc` answers.
pub fn rustup_stamp() -> String {
    let toolchain = std::env::var(env::RUSTUP_TOOLCHAIN).unwrap_or_default();
    let settings = rustup_home()
        .map(|h| file_stamp(&h.join("settings.toml")))
        .unwrap_or_default();
    format!("{toolchain}|{settings}")
}

/// A Rust compiler, the cargo beside it, and how they build for one triple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustToolchain {
    pub rustc: PathBuf,
    pub cargo: PathBuf,
    /// The standard library crates built from source (`-Zbuild-std`) when none is prebuilt.
    pub build_std: Vec<String>,
    /// `rustc --print sysroot`.
    pub sysroot: PathBuf,
}

/// A rustc and the cargo beside it that can build for `target`'s triple: the first of
/// `preferred`, the `rustc` on PATH and `/usr/bin/rustc` with a prebuilt standard library
/// for the triple; failing that, when the target allows build-std, the first with the
/// standard library's sources. A compiler that would do but has no cargo beside it is
/// named as such (Debian's `rustc-web` ships none: `cargo-web` has it).
pub fn find_rust(
    probe: &Probe,
    target: &hive_manifest::target::RustTarget,
    preferred: Option<&Path>,
) -> Result<RustToolchain, ToolError> {
    let mut candidates: Vec<PathBuf> = preferred.map(Path::to_owned).into_iter().collect();
    candidates.extend(probe.which("rustc"));
    candidates.push(PathBuf::from("/usr/bin/rustc"));
    candidates.dedup();
    find_rust_among(probe, target, &candidates)
}

/// [`find_rust`] over the given compilers, in order.
fn find_rust_among(
    probe: &Probe,
    target: &hive_manifest::target::RustTarget,
    candidates: &[PathBuf],
) -> Result<RustToolchain, ToolError> {
    let mut with_sources = None;
    let mut without_cargo = None;
    for rustc in candidates.iter().filter(|r| r.is_file()) {
        let Ok(sysroot) = probe.ask(rustc, &["--print", "sysroot"], &rustup_stamp()) else {
            continue;
        };
        let rustlib = Path::new(&sysroot).join("lib/rustlib");
        let prebuilt = rustlib.join(&target.triple).join("lib").is_dir();
        let sources = !target.build_std.is_empty() && rustlib.join("src/rust/library").is_dir();
        if !prebuilt && !sources {
            continue;
        }
        let cargo = rustc.with_file_name("cargo");
        if !cargo.is_file() {
            without_cargo.get_or_insert_with(|| rustc.clone());
            continue;
        }
        let found = RustToolchain {
            rustc: rustc.clone(),
            cargo,
            build_std: Vec::new(),
            sysroot: PathBuf::from(&sysroot),
        };
        if prebuilt {
            return Ok(found);
        }
        with_sources.get_or_insert(RustToolchain {
            build_std: target.build_std.clone(),
            ..found
        });
    }
    if let Some(found) = with_sources {
        return Ok(found);
    }
    if let Some(rustc) = without_cargo {
        let cargo_package = debian_owner(&rustc).and_then(|package| {
            package
                .strip_prefix("rustc")
                .map(|rest| format!("cargo{rest}"))
        });
        return Err(ToolError::NoCargo {
            install: Install {
                debian: cargo_package.into_iter().collect(),
                elsewhere: Some(
                    "a cargo of the same version in the same folder (rustup's toolchains carry one; Nix: `nixpkgs#cargo`)"
                        .into(),
                ),
            },
            rustc,
        });
    }
    let triple = &target.triple;
    let rustup = format!("rustup: `rustup target add {triple}`; see docs/toolchains.md");
    let install = if triple.contains("-linux-") {
        // Debian builds the hosted standard library for its own architectures.
        let arch = triple.split('-').next().unwrap_or_default();
        let debian_arch = if arch == "aarch64" { "arm64" } else { arch };
        Install::debian(&[&format!("libstd-rust-web-dev:{debian_arch}")], rustup)
    } else if target.build_std.is_empty() {
        Install::debian(
            &["rustc-web", "cargo-web", "rust-web-src"],
            format!("with `build-std` in the target's `[rust]`; {rustup}"),
        )
    } else {
        Install::debian(&["rustc-web", "cargo-web", "rust-web-src"], rustup)
    };
    Err(ToolError::NoRustStd {
        triple: triple.clone(),
        install,
    })
}

/// The `rust-lld` that `toolchain` links `triple` with (bare-metal targets link with it) and
/// its version: rustc looks in its sysroot's `lib/rustlib/HOST/bin`, then on PATH. Debian's
/// `rust-web-llvm` puts a link to `lld-N` on PATH, which needs that `lld-N` installed.
pub fn find_rust_lld(
    probe: &Probe,
    toolchain: &RustToolchain,
    triple: &str,
) -> Result<(PathBuf, String), ToolError> {
    let host = probe
        .ask(&toolchain.rustc, &["-vV"], &rustup_stamp())
        .ok()
        .and_then(|answer| {
            answer
                .lines()
                .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        });
    let in_sysroot = host.map(|host| {
        toolchain
            .sysroot
            .join("lib/rustlib")
            .join(host)
            .join("bin/rust-lld")
    });
    let found = in_sysroot
        .filter(|path| is_executable(path))
        .or_else(|| probe.which("rust-lld"));
    if let Some(path) = found {
        let version = probe.ask(&path, &["-flavor", "gnu", "--version"], "")?;
        return Ok((path, version.lines().next().unwrap_or_default().to_owned()));
    }
    let dangling = probe.dangling("rust-lld").map(Box::new);
    let lld_package = dangling
        .as_deref()
        .and_then(|(_, to)| to.file_name())
        .and_then(|name| name.to_str())
        .filter(|name| name.starts_with("lld-"));
    let install = match lld_package {
        Some(package) => Install::debian(&[package], ""),
        None => Install::debian(
            &["rust-web-llvm"],
            "then the `lld-N` its `/usr/bin/rust-lld` links to (`ci/install-deps` does both); \
             rustup's toolchains carry rust-lld",
        ),
    };
    Err(ToolError::NoRustLld {
        triple: triple.to_owned(),
        rustc: toolchain.rustc.clone(),
        dangling,
        install,
    })
}

/// The Debian package a file belongs to, if dpkg knows it.
fn debian_owner(path: &Path) -> Option<String> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let output = ProcessBuilder::new("dpkg-query")
        .args(["-S"])
        .arg(&path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let package = text.lines().next()?.split(':').next()?.trim();
    (!package.is_empty()).then(|| package.to_owned())
}

/// A Python 3 that can import `modules`: its real executable (not a shim: steps run with a
/// clean environment) and its version. Asked every time, not cached: installing the modules
/// must take effect at once.
pub fn find_python(
    probe: &Probe,
    modules: &[&str],
    install: &Install,
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
        install: install.clone(),
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
    if let Some(dir) = std::env::var_os(env::LIBCLANG_PATH).map(PathBuf::from)
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
        install: Install::debian(
            &["libclang-dev"],
            "or set LIBCLANG_PATH to the folder of libclang.so; Nix: `nixpkgs#libclang`",
        ),
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
            .require(
                "surely-no-such-program-here",
                &Install::debian(&["it"], "Nix: `nixpkgs#it`"),
            )
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("install it: `apt install it`; Nix: `nixpkgs#it`"),
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

    /// A fake `rustc` in `dir/bin` whose sysroot is `dir`, with `cargo` beside it if asked.
    fn fake_rust(dir: &Path, with_cargo: bool) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let rustc = bin.join("rustc");
        std::fs::write(
            &rustc,
            format!(
                "#!/bin/sh\ncase \"$1\" in --print) echo {};; -vV) echo 'rustc 9.9'; echo 'host: x86_64-unknown-linux-gnu';; esac\n",
                dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&rustc, std::fs::Permissions::from_mode(0o755)).unwrap();
        if with_cargo {
            std::fs::copy(&rustc, bin.join("cargo")).unwrap();
        }
        rustc
    }

    fn bare_metal() -> hive_manifest::target::RustTarget {
        hive_manifest::target::RustTarget {
            triple: "aarch64-unknown-none".into(),
            build_std: vec!["core".into(), "alloc".into()],
            crate_type: hive_manifest::target::CrateType::Staticlib,
            cpu: None,
        }
    }

    #[test]
    fn a_rustc_without_cargo_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let probe = Probe::with_path(None, Vec::new());
        let rustc = fake_rust(dir.path(), false);

        let error =
            find_rust_among(&probe, &bare_metal(), std::slice::from_ref(&rustc)).unwrap_err();
        assert!(
            matches!(error, ToolError::NoRustStd { .. }),
            "no sources, no prebuilt std: {error}"
        );

        std::fs::create_dir_all(dir.path().join("lib/rustlib/src/rust/library")).unwrap();
        let error =
            find_rust_among(&probe, &bare_metal(), std::slice::from_ref(&rustc)).unwrap_err();
        assert!(
            matches!(&error, ToolError::NoCargo { rustc: named, .. } if *named == rustc),
            "sources but no cargo: {error}"
        );
        assert!(
            error.to_string().contains("has no cargo beside it"),
            "{error}"
        );

        fake_rust(dir.path(), true);
        let found = find_rust_among(&probe, &bare_metal(), std::slice::from_ref(&rustc)).unwrap();
        assert_eq!(found.cargo, dir.path().join("bin/cargo"));
        assert_eq!(
            found.build_std,
            ["core", "alloc"],
            "builds the std from its sources"
        );

        std::fs::create_dir_all(dir.path().join("lib/rustlib/aarch64-unknown-none/lib")).unwrap();
        let found = find_rust_among(&probe, &bare_metal(), &[rustc]).unwrap();
        assert!(
            found.build_std.is_empty(),
            "a prebuilt std is used as it is"
        );
    }

    #[test]
    fn rust_lld_in_the_sysroot_on_path_or_named_with_its_package() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let rustc = fake_rust(dir.path(), true);
        let toolchain = RustToolchain {
            rustc,
            cargo: dir.path().join("bin/cargo"),
            build_std: Vec::new(),
            sysroot: dir.path().to_owned(),
        };
        let path = dir.path().join("path");
        std::fs::create_dir_all(&path).unwrap();
        let probe = Probe::with_path(None, vec![path.clone()]);

        // Debian's layout: `rust-lld -> lld-22` on PATH, and no lld-22.
        std::os::unix::fs::symlink("lld-22", path.join("rust-lld")).unwrap();
        let error = find_rust_lld(&probe, &toolchain, "aarch64-unknown-none").unwrap_err();
        assert_eq!(error.install().unwrap().debian, ["lld-22"], "{error}");
        assert!(error.to_string().contains("points at `lld-22`"), "{error}");

        // Nothing at all: the package that brings the link.
        std::fs::remove_file(path.join("rust-lld")).unwrap();
        let error = find_rust_lld(&probe, &toolchain, "aarch64-unknown-none").unwrap_err();
        assert_eq!(
            error.install().unwrap().debian,
            ["rust-web-llvm"],
            "{error}"
        );

        // In the sysroot, as rustup's toolchains have it.
        let tools = dir.path().join("lib/rustlib/x86_64-unknown-linux-gnu/bin");
        std::fs::create_dir_all(&tools).unwrap();
        let lld = tools.join("rust-lld");
        std::fs::write(&lld, "#!/bin/sh\necho 'LLD 99.1'\n").unwrap();
        std::fs::set_permissions(&lld, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (found, version) = find_rust_lld(&probe, &toolchain, "aarch64-unknown-none").unwrap();
        assert_eq!((found, version.as_str()), (lld, "LLD 99.1"));
    }

    #[test]
    fn install_hints_name_packages() {
        assert_eq!(Install::for_program("ninja").debian, ["ninja-build"]);
        assert_eq!(
            Install::for_program("/usr/bin/aarch64-linux-gnu-gcc").to_string(),
            "`apt install gcc-aarch64-linux-gnu libc6-dev-arm64-cross`; \
             Nix: `nixpkgs#pkgsCross.aarch64-multiplatform.buildPackages.gcc`"
        );
        assert_eq!(
            Install::for_program("nothing-known").to_string(),
            "see docs/toolchains.md"
        );
    }
}
