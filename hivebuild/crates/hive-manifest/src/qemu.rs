//! The `[qemu]` section of a target file: how QEMU boots the target's images.
//!
//! ```toml
//! [qemu]
//! binary = "qemu-system-x86_64"
//! machine = "microvm,x-option-roms=off,pic=off"
//! memory = "32MiB"
//! console = 0                 # the serial port that carries the console (0 = the first)
//! accel = "auto"              # auto: KVM when a probe boot shows it works here, else TCG | kvm | tcg
//! args = ["-bios", "/usr/share/qemu/qboot.rom", "-device", "isa-debug-exit"]
//! powers-off = true           # the guest can stop the machine (isa-debug-exit, PSCI)
//! image-kernel = "kernel.elf"  # with `--image`: the kernel file in the image's boot partition
//! image-dtb = "board.dtb"      # ... and the device tree to pass with `-dtb`, if any
//! ```

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::raw::{self, section};
use crate::units::Size;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuConfig {
    pub binary: String,
    pub machine: String,
    pub cpu: Option<String>,
    /// Guest memory in bytes.
    pub memory: u64,
    /// Index of the serial port that carries the console.
    pub console: u8,
    pub accel: Accel,
    /// Further arguments, given as they are.
    pub args: Vec<String>,
    /// Whether the guest can power the machine off; if not, a boot ends at its deadline.
    pub powers_off: bool,
    /// Testing a built image: the kernel's file in its `boot` partition.
    pub image_kernel: Option<String>,
    /// ... and the device tree to pass with `-dtb`.
    pub image_dtb: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// KVM when a probe boot shows it works for this guest on this host, TCG otherwise.
    Auto,
    Kvm,
    Tcg,
}

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Kvm => "kvm",
            Self::Tcg => "tcg",
        }
    }
}

pub(crate) fn parse_qemu(
    item: &toml_edit::Item,
    diagnostics: &mut Diagnostics,
) -> Option<QemuConfig> {
    let raw: raw::QemuSection = section(item, "qemu", diagnostics)?;
    let memory = match Size::parse(raw.memory.get_ref()) {
        Ok(size) => Some(size.0),
        Err(message) => {
            diagnostics.push(
                Diagnostic::new(
                    format!("bad memory size `{}`: {message}", raw.memory.get_ref()),
                    raw.memory.span(),
                )
                .label("not a size")
                .help("write a size such as `32MiB` or `2GiB`"),
            );
            None
        }
    };
    let accel = match raw.accel.as_ref().map(|a| a.get_ref().as_str()) {
        None | Some("auto") => Some(Accel::Auto),
        Some("kvm") => Some(Accel::Kvm),
        Some("tcg") => Some(Accel::Tcg),
        Some(other) => {
            diagnostics.push(
                Diagnostic::new(
                    format!("unknown accelerator `{other}`"),
                    raw.accel
                        .as_ref()
                        .map_or(0..0, serde_spanned::Spanned::span),
                )
                .label("unknown accelerator")
                .help("use `auto` (KVM when it works, else TCG), `kvm` or `tcg`"),
            );
            None
        }
    };
    if !raw.binary.get_ref().starts_with("qemu-system-") {
        diagnostics.push(
            Diagnostic::new(
                format!("`{}` is not a QEMU system emulator", raw.binary.get_ref()),
                raw.binary.span(),
            )
            .label("not qemu-system-*")
            .help("name the emulator, such as `qemu-system-aarch64`"),
        );
        return None;
    }
    Some(QemuConfig {
        binary: raw.binary.into_inner(),
        machine: raw.machine.into_inner(),
        cpu: raw.cpu,
        memory: memory?,
        console: raw.console,
        accel: accel?,
        args: raw.args,
        powers_off: raw.powers_off,
        image_kernel: raw.image_kernel,
        image_dtb: raw.image_dtb,
    })
}
