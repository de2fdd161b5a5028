//! Target files (`targets/NAME.toml`): what a hive is built for.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::parse_document;
use crate::raw::{self, S, section};

/// A validated target file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub arch: Arch,
    /// The board name the kernel build knows (Microkit's, for seL4 targets).
    pub board: String,
    /// What the hive's system is built with on this target.
    pub system: SystemKind,
    pub description: String,
    pub rust: RustTarget,
    pub c: CToolchain,
    /// How the hive is laid out on a disk (`[image]`), if the target has an image.
    pub image: Option<crate::image::ImageLayout>,
    /// Boot assets the image takes files from (`[assets.NAME]`).
    pub assets: std::collections::BTreeMap<String, crate::image::Asset>,
    /// How QEMU boots the target's images (`[qemu]`), if it can.
    pub qemu: Option<crate::qemu::QemuConfig>,
    /// Where the file's relative paths (image templates) start: the project root, or
    /// hivebuild's stock folder for a stock target.
    pub root: std::path::PathBuf,
}

/// How a target's system is built: `[target] system`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemKind {
    /// The in-repo stand-ins: a `CMake` kernel, skills on a skill base, a packer (the default).
    Standins,
    /// seL4 through Microkit: the Microkit SDK, protection domains, the Microkit tool.
    Microkit,
}

impl SystemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standins => "standins",
            Self::Microkit => "microkit",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    Aarch64,
    X86_64,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aarch64 => "aarch64",
            Self::X86_64 => "x86_64",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrateType {
    /// A hosted executable (`cargo build`).
    Bin,
    /// A static library linked into a protection domain (`cargo rustc --crate-type staticlib`).
    Staticlib,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustTarget {
    pub triple: String,
    /// Crates to build from source with `-Zbuild-std` when the toolchain has no prebuilt std.
    pub build_std: Vec<String>,
    pub crate_type: CrateType,
    /// The CPU the code is built for (`-C target-cpu`, and `-march` for the C that build
    /// scripts compile): a named level such as `x86-64-v3`, never `native` (the output would
    /// depend on the build machine). `None`: the triple's baseline.
    pub cpu: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CToolchain {
    /// Prefix of the C cross toolchain (`aarch64-linux-gnu-`); empty for the host's.
    pub cross_prefix: String,
    /// Debian packages that provide it, named in hints.
    pub packages: Vec<String>,
}

/// Sections a target file may have.
const SECTIONS: [&str; 6] = ["target", "rust", "c", "image", "assets", "qemu"];

/// A target file, validated top to bottom with every diagnostic collected.
pub(crate) fn parse(file: &Path, text: &str, root: &Path) -> Result<Target, Box<Diagnostics>> {
    let mut diagnostics = Diagnostics::new(file, text);
    let Some(document) = parse_document(text, &mut diagnostics) else {
        return Err(Box::new(diagnostics));
    };
    let top = document.as_table();
    unknown_sections(top, &mut diagnostics);
    let mut get = |name: &str| {
        if let Some(item) = top.get(name) {
            Some(item)
        } else {
            diagnostics.push(
                Diagnostic::new(format!("missing section `[{name}]`"), 0..0).help(format!(
                    "add a `[{name}]` section (see docs/manifest.md#targets)"
                )),
            );
            None
        }
    };
    let (target_item, rust_item, c_item) = (get("target"), get("rust"), get("c"));
    let target =
        target_item.and_then(|i| section::<raw::TargetSection>(i, "target", &mut diagnostics));
    let rust = rust_item.and_then(|i| section::<raw::RustSection>(i, "rust", &mut diagnostics));
    let c = c_item.and_then(|i| section::<raw::CSection>(i, "c", &mut diagnostics));
    let assets = top
        .get("assets")
        .map(|item| crate::image::parse_assets(item, &mut diagnostics))
        .unwrap_or_default();
    let known = crate::image::Known {
        assets: &assets,
        root,
    };
    let image = top
        .get("image")
        .and_then(|item| crate::image::parse_image(item, &known, &mut diagnostics));
    let qemu = top
        .get("qemu")
        .and_then(|item| crate::qemu::parse_qemu(item, &mut diagnostics));
    let (Some(target), Some(rust), Some(c)) = (target, rust, c) else {
        return Err(Box::new(diagnostics));
    };

    check_name(file, &target, &mut diagnostics);
    let arch = parse_arch(&target, &mut diagnostics);
    let crate_type = parse_crate_type(&rust, &mut diagnostics);
    check_triple(arch, &rust, &mut diagnostics);
    check_cpu(&rust, &mut diagnostics);
    let system = parse_system(&target, arch, &mut diagnostics);
    match (arch, crate_type, system, diagnostics.is_empty()) {
        (Some(arch), Some(crate_type), Some(system), true) => Ok(Target {
            name: target.name.into_inner(),
            arch,
            board: target.board.into_inner(),
            system,
            description: target.description.unwrap_or_default(),
            rust: RustTarget {
                triple: rust.triple.into_inner(),
                build_std: rust.build_std,
                crate_type,
                cpu: rust.cpu.map(S::into_inner),
            },
            c: CToolchain {
                cross_prefix: c.cross_prefix,
                packages: c.packages,
            },
            image,
            assets,
            qemu,
            root: root.to_owned(),
        }),
        _ => Err(Box::new(diagnostics)),
    }
}

/// Every top-level key is a section a target file may have.
fn unknown_sections(top: &toml_edit::Table, diagnostics: &mut Diagnostics) {
    for (key, _) in top {
        if !SECTIONS.contains(&key) {
            let span = top.key(key).and_then(toml_edit::Key::span).unwrap_or(0..0);
            diagnostics.push(
                Diagnostic::new(format!("unknown section `[{key}]` in a target file"), span)
                    .label("unknown section")
                    .help("a target file has `[target]`, `[rust]`, `[c]`, `[image]`, `[assets]` and `[qemu]`"),
            );
        }
    }
}

/// The target's name is its file's.
fn check_name(file: &Path, target: &raw::TargetSection, diagnostics: &mut Diagnostics) {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if target.name.get_ref() != stem {
        diagnostics.push(
            Diagnostic::new(
                format!(
                    "target `{}` is in a file named `{stem}.toml`",
                    target.name.get_ref()
                ),
                target.name.span(),
            )
            .label("name and file differ")
            .help(format!(
                "rename the file to `{}.toml` or the target to `{stem}`",
                target.name.get_ref()
            )),
        );
    }
}

fn parse_arch(target: &raw::TargetSection, diagnostics: &mut Diagnostics) -> Option<Arch> {
    match target.arch.get_ref().as_str() {
        "aarch64" => Some(Arch::Aarch64),
        "x86_64" => Some(Arch::X86_64),
        other => {
            diagnostics.push(
                Diagnostic::new(
                    format!("unknown architecture `{other}`"),
                    target.arch.span(),
                )
                .label("unknown arch")
                .help("use `aarch64` or `x86_64`"),
            );
            None
        }
    }
}

fn parse_crate_type(rust: &raw::RustSection, diagnostics: &mut Diagnostics) -> Option<CrateType> {
    match rust.crate_type.get_ref().as_str() {
        "bin" => Some(CrateType::Bin),
        "staticlib" => Some(CrateType::Staticlib),
        other => {
            diagnostics.push(
                Diagnostic::new(
                    format!("unknown crate type `{other}`"),
                    rust.crate_type.span(),
                )
                .label("unknown crate type")
                .help("use `bin` (hosted) or `staticlib` (bare metal)"),
            );
            None
        }
    }
}

/// The Rust triple is for the target's architecture.
fn check_triple(arch: Option<Arch>, rust: &raw::RustSection, diagnostics: &mut Diagnostics) {
    if let Some(arch) = arch
        && !rust.triple.get_ref().starts_with(arch.as_str())
    {
        diagnostics.push(
            Diagnostic::new(
                format!(
                    "triple `{}` does not match arch `{}`",
                    rust.triple.get_ref(),
                    arch.as_str()
                ),
                rust.triple.span(),
            )
            .label("wrong architecture")
            .help(format!("use a `{}-...` triple", arch.as_str())),
        );
    }
}

/// A CPU named so that every build machine builds the same code for it.
fn check_cpu(rust: &raw::RustSection, diagnostics: &mut Diagnostics) {
    let Some(cpu) = &rust.cpu else { return };
    let name = cpu.get_ref();
    let problem = if name == "native" {
        Some(
            "`native` builds for the machine that runs the build, so two machines build different code",
        )
    } else if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        Some("a CPU name is letters, digits, `-`, `_` and `.`")
    } else {
        None
    };
    if let Some(problem) = problem {
        diagnostics.push(
            Diagnostic::new(format!("cpu `{name}` cannot be used: {problem}"), cpu.span())
                .label("not a reproducible CPU name")
                .help("name a level (`x86-64-v3`, `x86-64-v2`) or a model (`cortex-a72`), or leave `cpu` out for the triple's baseline"),
        );
    }
}

/// What the target runs: the stand-ins (the default), or seL4 through Microkit (aarch64).
fn parse_system(
    target: &raw::TargetSection,
    arch: Option<Arch>,
    diagnostics: &mut Diagnostics,
) -> Option<SystemKind> {
    match target.system.as_ref().map(|s| s.get_ref().as_str()) {
        None | Some("standins") => Some(SystemKind::Standins),
        Some("microkit") if arch == Some(Arch::Aarch64) => Some(SystemKind::Microkit),
        Some("microkit") => {
            let span = target.system.as_ref().map(S::span).unwrap_or_default();
            diagnostics.push(
                Diagnostic::new(
                    "seL4 through Microkit is built for aarch64 targets only",
                    span,
                )
                .label("not for this arch")
                .help("use `system = \"standins\"` here, or `arch = \"aarch64\"`"),
            );
            None
        }
        Some(other) => {
            let span = target.system.as_ref().map(S::span).unwrap_or_default();
            diagnostics.push(
                Diagnostic::new(format!("unknown system `{other}`"), span)
                    .label("unknown system")
                    .help("use `standins` or `microkit`"),
            );
            None
        }
    }
}
