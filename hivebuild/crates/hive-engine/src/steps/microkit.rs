//! Build the Microkit SDK from source, in two environments.
//!
//! Upstream's `build_sdk.py` builds everything with the one `cargo` on `PATH`, but the host
//! tool and the run-time parts want different Rust toolchains here: the tool the host's
//! (rustup's stable), the capDL initialiser one that builds for `aarch64-unknown-none`
//! (Debian's rustc-web with rust-src, or any toolchain with a prebuilt core). So:
//!
//! 1. Microkit's git dependency on rust-sel4 is pointed at the `rust-sel4` source, offline:
//!    a cargo `[patch]` for each of its crates Microkit's `Cargo.lock` names, and those
//!    packages' `source` lines dropped from the lock (what cargo writes for a patched
//!    package), so that `--locked` still holds. The source is moved inside Microkit's
//!    workspace folder (without its own workspace manifest): cargo hashes the paths of path
//!    packages into symbol names, relative to the workspace root when they are inside it, so
//!    only there does the output not depend on where the build runs.
//! 2. The tool: `cargo build --release --locked -p microkit-tool` with the host toolchain.
//! 3. The run-time parts: `build_sdk.py --skip-tool --skip-docs --skip-tar` for the boards and
//!    configurations, with the other toolchain first on `PATH`.
//! 4. The SDK folder goes to the output with the tool in `bin/`; debug sections are
//!    stripped from its ELF files and libraries (they hold this build's folder).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::EngineError;
use crate::context::{MAPPED_BUILD_DIR, StepContext};

pub(crate) struct Params<'a> {
    pub(crate) microkit: &'a str,
    pub(crate) sel4: &'a str,
    pub(crate) rust_sel4: &'a str,
    pub(crate) boards: &'a [String],
    pub(crate) configs: &'a [String],
    pub(crate) host_triple: &'a str,
    pub(crate) build_std: &'a [String],
    pub(crate) rust_sel4_commit: Option<&'a str>,
}

pub(crate) fn run(context: &StepContext<'_>, params: &Params<'_>) -> Result<(), EngineError> {
    redirect(context, params)?;
    build_tool(context, params)?;
    build_runtime(context, params)?;
    install(context, params)
}

/// `CARGO_NET_OFFLINE` for the builds that run cargo.
fn offline(context: &StepContext<'_>) -> &'static str {
    if context.settings.offline {
        "true"
    } else {
        "false"
    }
}

fn failed(context: &StepContext<'_>, message: String) -> EngineError {
    EngineError::StepFailed {
        step: context.step.name.clone(),
        message,
    }
}

/// Microkit's rust-sel4 dependency pointed at the `rust-sel4` source (step 1 above).
fn redirect(context: &StepContext<'_>, params: &Params<'_>) -> Result<(), EngineError> {
    let microkit = &context.sources[params.microkit];
    // 1. rust-sel4 from its source, offline, inside Microkit's workspace folder.
    let rust_sel4 = microkit.join("hive-rust-sel4");
    let from = &context.sources[params.rust_sel4];
    fs::rename(from, &rust_sel4).map_err(EngineError::io(from))?;
    let workspace = rust_sel4.join("Cargo.toml");
    if fs::read_to_string(&workspace).is_ok_and(|text| !text.contains("[package]")) {
        fs::remove_file(&workspace).map_err(EngineError::io(&workspace))?;
    }
    let cargo_patch = redirect_rust_sel4(microkit, &rust_sel4, params.rust_sel4_commit)
        .map_err(|message| failed(context, message))?;
    // Cargo reads configuration from the folders above its working folder too.
    let config_dir = microkit
        .parent()
        .expect("sources live in src/")
        .join(".cargo");
    fs::create_dir_all(&config_dir).map_err(EngineError::io(&config_dir))?;
    let config = config_dir.join("config.toml");
    fs::write(&config, cargo_patch).map_err(EngineError::io(&config))?;

    Ok(())
}

/// The host tool, `microkit`, with the host's toolchain (step 2).
fn build_tool(context: &StepContext<'_>, params: &Params<'_>) -> Result<(), EngineError> {
    let microkit = &context.sources[params.microkit];
    // 2. The tool, with the host's toolchain.
    let tool = super::cargo::cargo_with(context, "host-cargo", "host-rustc")
        .cwd(microkit)
        .env("CARGO_NET_OFFLINE", offline(context))
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            params.host_triple,
        ])
        .args(["-p", "microkit-tool"])
        .env("CARGO_TARGET_DIR", context.work.join("tool-target"));
    context.run(&tool)
}

/// The run-time parts, through upstream's `build_sdk.py` (step 3).
fn build_runtime(context: &StepContext<'_>, params: &Params<'_>) -> Result<(), EngineError> {
    let microkit = &context.sources[params.microkit];
    // 3. The run-time parts, with the other toolchain first on PATH (the script runs
    // `cargo`), and Python's real executable (the kernel build runs generators with it).
    let shims = context.work.join("bin");
    fs::create_dir_all(&shims).map_err(EngineError::io(&shims))?;
    for (name, program) in [
        ("cargo", context.program("cargo")),
        ("rustc", context.program("rustc")),
    ] {
        let link = shims.join(name);
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&program, &link).map_err(EngineError::io(&link))?;
    }
    let mut search_path = std::ffi::OsString::from(&shims);
    search_path.push(":");
    search_path.push(&context.settings.path);
    let sel4 = &context.sources[params.sel4];
    // The script runs `cargo` itself: cargo's environment, around Python.
    let mut script = super::cargo::cargo_with(context, "cargo", "rustc")
        .with_program(context.program("python3"))
        .cwd(microkit)
        .env("CARGO_NET_OFFLINE", offline(context))
        .env("PATH", search_path)
        .env("LIBCLANG_PATH", context.program("libclang"))
        // CMake takes its first C flags from here: the kernel's assertion messages and
        // debug information then name /hive/build, not this build's folder.
        .env("CFLAGS", context.c_flags())
        .arg("build_sdk.py")
        .arg("--sel4")
        .arg(sel4)
        .arg("--boards")
        .arg(params.boards.join(","))
        .arg("--configs")
        .arg(params.configs.join(","))
        .args(["--skip-tool", "--skip-docs", "--skip-tar"])
        .args(["--gcc-toolchain-prefix-aarch64", "aarch64-linux-gnu"]);
    if !params.build_std.is_empty() {
        script = script
            .env("CARGO_UNSTABLE_BUILD_STD", params.build_std.join(","))
            .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "compiler-builtins-mem");
    }
    context.run(&script)
}

/// The SDK folder into the output, with the tool, stripped (step 4).
fn install(context: &StepContext<'_>, params: &Params<'_>) -> Result<(), EngineError> {
    let microkit = &context.sources[params.microkit];
    // 4. The SDK: upstream's release folder, the tool, no debug sections.
    let release = microkit.join("release");
    let sdk = fs::read_dir(&release)
        .map_err(EngineError::io(&release))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("microkit-sdk-"))
        })
        .ok_or_else(|| {
            failed(
                context,
                format!("`{}` holds no microkit-sdk-* folder", release.display()),
            )
        })?;
    crate::context::copy_tree(&sdk, &context.out, false).map_err(EngineError::io(&sdk))?;
    let built_tool = context
        .work
        .join("tool-target")
        .join(params.host_triple)
        .join("release/microkit");
    let tool_out = context.out.join("bin/microkit");
    fs::create_dir_all(context.out.join("bin")).map_err(EngineError::io(&context.out))?;
    fs::copy(&built_tool, &tool_out).map_err(EngineError::io(&built_tool))?;
    let strip = context.program("strip");
    let build_dir = context.dir.display().to_string();
    for file in walkdir::WalkDir::new(context.out.join("board"))
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        let path = file.path();
        let is_binary = path.extension().is_some_and(|e| e == "elf" || e == "a");
        if is_binary {
            context.run(&context.command(&strip).arg("--strip-debug").arg(path))?;
        } else {
            // Generated headers and JSON name the files they came from.
            let text = fs::read(path).map_err(EngineError::io(path))?;
            if let Some(mapped) =
                replace_bytes(&text, build_dir.as_bytes(), MAPPED_BUILD_DIR.as_bytes())
            {
                fs::write(path, mapped).map_err(EngineError::io(path))?;
            }
        }
    }
    Ok(())
}

/// `text` with every `from` replaced by `to`, or None when it has none.
fn replace_bytes(text: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    let mut found = false;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        found = true;
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    found.then_some(out)
}

/// The cargo configuration that patches Microkit's rust-sel4 dependency with the crates of
/// `rust_sel4`, after dropping their `source` lines from Microkit's `Cargo.lock`.
fn redirect_rust_sel4(
    microkit: &Path,
    rust_sel4: &Path,
    commit: Option<&str>,
) -> Result<String, String> {
    let lock_path = microkit.join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path)
        .map_err(|e| format!("failed to read `{}`: {e}", lock_path.display()))?;
    let mut url = None;
    let mut names = Vec::new();
    let mut last_name = None;
    let mut kept = String::with_capacity(lock.len());
    for line in lock.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("name = \"") {
            last_name = Some(name.trim_end().trim_end_matches('"').to_owned());
        }
        if let Some(source) = line.trim_end().strip_prefix("source = \"git+") {
            let source = source.trim_end_matches('"');
            let (base, pinned) = source.split_once('#').ok_or_else(|| {
                format!(
                    "`{}`: a git source without a commit: {source}",
                    lock_path.display()
                )
            })?;
            let base = base.split('?').next().unwrap_or(base).to_owned();
            if let Some(commit) = commit
                && pinned != commit
            {
                return Err(format!(
                    "Microkit's Cargo.lock wants rust-sel4 {pinned}, but the rust-sel4 source is pinned at {commit}: \
                     pin the revision Microkit's Cargo.toml names"
                ));
            }
            match &url {
                None => url = Some(base),
                Some(seen) if *seen == base => {}
                Some(seen) => {
                    return Err(format!(
                        "Microkit's Cargo.lock has git dependencies on {seen} and {base}; only rust-sel4 can be redirected"
                    ));
                }
            }
            names.extend(last_name.clone());
            continue;
        }
        kept.push_str(line);
    }
    let Some(url) = url else {
        return Ok(String::new());
    };
    fs::write(&lock_path, kept)
        .map_err(|e| format!("failed to write `{}`: {e}", lock_path.display()))?;
    let crates = crate_folders(rust_sel4);
    let mut config =
        format!("# Written by hivebuild: {url} from the rust-sel4 source.\n[patch.\"{url}\"]\n");
    for name in names {
        let folder = crates
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f)
            .ok_or_else(|| {
                format!(
                    "the rust-sel4 source has no crate `{name}`, which Microkit's Cargo.lock names"
                )
            })?;
        let _ = writeln!(config, "{name} = {{ path = \"{}\" }}", folder.display());
    }
    Ok(config)
}

/// Every package in a source tree: its name and folder.
fn crate_folders(root: &Path) -> Vec<(String, PathBuf)> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "Cargo.toml")
        .filter_map(|e| {
            let text = fs::read_to_string(e.path()).ok()?;
            let document: toml_edit::DocumentMut = text.parse().ok()?;
            let name = document.get("package")?.get("name")?.as_str()?.to_owned();
            Some((name, e.path().parent()?.to_owned()))
        })
        .collect()
}
