//! Build a cargo package for a target triple.
//!
//! The package is described with `cargo metadata` (its binaries and library name); a hosted
//! target builds its binaries into `out/bin/`, a bare-metal target builds the library as a
//! static library into `out/lib/` (with `-Zbuild-std` when the plan says the toolchain has
//! no prebuilt core for the triple). Paths of the build folder and of `CARGO_HOME` are
//! remapped, so the output does not depend on either.

use std::fs;
use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, TargetKind};
use hive_process::ProcessBuilder;

use crate::EngineError;
use crate::context::{MAPPED_BUILD_DIR, StepContext};

pub(crate) struct Params<'a> {
    pub(crate) package: &'a str,
    pub(crate) package_name: &'a str,
    pub(crate) triple: &'a str,
    pub(crate) crate_type: &'a str,
    pub(crate) build_std: &'a [String],
    pub(crate) features: &'a [String],
    pub(crate) cpu: Option<&'a str>,
}

pub(crate) fn run(context: &StepContext<'_>, params: &Params<'_>) -> Result<(), EngineError> {
    let manifest = context.sources[params.package].join("Cargo.toml");
    let target_dir = context.work.join("target");
    let metadata = metadata(context, &manifest)?;
    let package = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == params.package_name)
        .ok_or_else(|| EngineError::StepFailed {
            step: context.step.name.clone(),
            message: format!(
                "`{}` has no package `{}`",
                manifest.display(),
                params.package_name
            ),
        })?;

    check_features(context, package, params)?;
    let mut command = cargo_command(context)
        .arg(if params.crate_type == "staticlib" {
            "rustc"
        } else {
            "build"
        })
        .args([
            "--release",
            "--locked",
            "--target",
            params.triple,
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir);
    if let Some(cpu) = params.cpu {
        // Rust's code and the C/C++ of build scripts that follow cargo's target features
        // (llama.cpp: `-march` and its GGML_AVX2/FMA/F16C switches) are built for this CPU.
        // Without it they get the triple's baseline: the step's SOURCE_DATE_EPOCH turns
        // ggml's "enable what this machine has" default off, leaving SSE2 (4x slower decode).
        command = command.env(
            "RUSTFLAGS",
            format!("{} -C target-cpu={cpu}", rust_flags(context)),
        );
    }
    if context.settings.offline {
        command = command.arg("--offline");
    }
    if !params.features.is_empty() {
        command = command.arg("--features").arg(params.features.join(","));
    }
    if !params.build_std.is_empty() {
        command = command
            .arg(format!("-Zbuild-std={}", params.build_std.join(",")))
            .arg("-Zbuild-std-features=compiler-builtins-mem")
            .env("RUSTC_BOOTSTRAP", "1");
    }
    let release = target_dir.join(params.triple).join("release");
    let (selection, artefacts) = artefacts(context, package, params, &release)?;
    command = command.args(selection);
    context.run(&command)?;
    for (from, to) in artefacts {
        let parent = to.parent().expect("artefacts are in a folder");
        fs::create_dir_all(parent).map_err(|source| EngineError::Io {
            path: parent.to_owned(),
            source,
        })?;
        fs::copy(&from, &to).map_err(|source| EngineError::Io {
            path: from.clone(),
            source,
        })?;
    }
    Ok(())
}

/// A file the build gives, and where it goes in the step's output.
type Placed = (PathBuf, PathBuf);

/// What to build of the package (cargo's arguments), and each file it gives, with where it
/// goes in the step's output: a static library into `lib/`, or every binary into `bin/`.
fn artefacts(
    context: &StepContext<'_>,
    package: &cargo_metadata::Package,
    params: &Params<'_>,
    release: &Path,
) -> Result<(Vec<&'static str>, Vec<Placed>), EngineError> {
    let failed = |message: String| EngineError::StepFailed {
        step: context.step.name.clone(),
        message,
    };
    if params.crate_type == "staticlib" {
        let library = package
            .targets
            .iter()
            .find(|t| {
                t.kind.iter().any(|k| {
                    matches!(
                        k,
                        TargetKind::Lib | TargetKind::RLib | TargetKind::StaticLib
                    )
                })
            })
            .ok_or_else(|| {
                failed(format!(
                    "package `{}` has no library to link into a protection domain",
                    params.package_name
                ))
            })?;
        let file = format!("lib{}.a", library.name.replace('-', "_"));
        return Ok((
            vec!["--lib", "--crate-type", "staticlib"],
            vec![(release.join(&file), context.out.join("lib").join(file))],
        ));
    }
    let binaries: Vec<Placed> = package
        .targets
        .iter()
        .filter(|t| t.kind.contains(&TargetKind::Bin))
        .map(|t| {
            let name = t.name.as_str();
            (release.join(name), context.out.join("bin").join(name))
        })
        .collect();
    if binaries.is_empty() {
        return Err(failed(format!(
            "package `{}` has no binary to run on a hosted target",
            params.package_name
        )));
    }
    Ok((vec!["--bins"], binaries))
}

/// Every feature the manifest asks for is one the package has.
fn check_features(
    context: &StepContext<'_>,
    package: &cargo_metadata::Package,
    params: &Params<'_>,
) -> Result<(), EngineError> {
    let unknown: Vec<&str> = params
        .features
        .iter()
        .map(String::as_str)
        .filter(|feature| !package.features.contains_key(*feature))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = package.features.keys().map(String::as_str).collect();
    Err(EngineError::StepFailed {
        step: context.step.name.clone(),
        message: format!(
            "package `{}` has no feature `{}`; its features are: {}",
            params.package_name,
            unknown.join("`, `"),
            if known.is_empty() {
                "none".to_owned()
            } else {
                format!("`{}`", known.join("`, `"))
            }
        ),
    })
}

/// cargo with the step's clean environment plus what cargo and rustup need to find their
/// homes and the chosen compiler.
fn cargo_command(context: &StepContext<'_>) -> ProcessBuilder {
    cargo_with(context, "cargo", "rustc")
}

/// `cargo` (the tool of role `cargo`, with `rustc`'s compiler) in the step's clean
/// environment: its own `CARGO_HOME`, rustup's settings, and the build folder and
/// `CARGO_HOME` remapped in every output, Rust's and the C/C++ that build scripts compile
/// (llama.cpp in the Brain's mind: its `__FILE__`s). The Microkit SDK step uses it for both
/// its toolchains.
pub(crate) fn cargo_with(context: &StepContext<'_>, cargo: &str, rustc: &str) -> ProcessBuilder {
    let settings = context.settings;
    let c_flags = format!(
        "-ffile-prefix-map={}={MAPPED_BUILD_DIR} -ffile-prefix-map={}=/cargo",
        context.dir.display(),
        settings.cargo_home.display()
    );
    let mut command = context
        .command(context.program(cargo))
        .env("RUSTC", context.program(rustc))
        .env("CARGO_HOME", &settings.cargo_home)
        .env("CARGO_TERM_COLOR", "never")
        .env("RUSTFLAGS", rust_flags(context))
        .env("CFLAGS", &c_flags)
        .env("CXXFLAGS", &c_flags);
    if let Some(home) = &settings.rustup_home {
        command = command.env("RUSTUP_HOME", home);
    }
    if let Some(toolchain) = &settings.rustup_toolchain {
        command = command.env("RUSTUP_TOOLCHAIN", toolchain);
    }
    command
}

/// The build folder and `CARGO_HOME` remapped in Rust's outputs.
fn rust_flags(context: &StepContext<'_>) -> String {
    format!(
        "--remap-path-prefix={}={MAPPED_BUILD_DIR} --remap-path-prefix={}=/cargo",
        context.dir.display(),
        context.settings.cargo_home.display()
    )
}

fn metadata(
    context: &StepContext<'_>,
    manifest: &std::path::Path,
) -> Result<Metadata, EngineError> {
    let output = cargo_command(context)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .map_err(|source| EngineError::Step {
            step: context.step.name.clone(),
            source: Box::new(source),
        })?;
    MetadataCommand::parse(String::from_utf8_lossy(&output.stdout)).map_err(|error| {
        EngineError::StepFailed {
            step: context.step.name.clone(),
            message: format!("failed to read `cargo metadata`: {error}"),
        }
    })
}
