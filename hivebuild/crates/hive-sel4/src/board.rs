//! `sel4-platform/boards.toml`: what hivebuild needs to know of each Microkit board.
//!
//! ```toml
//! [boards.qemu_virt_aarch64]                # Microkit's board name = a target's `board`
//! loader-address = "0x70000000"             # where the loader image runs (documentation)
//! console = { uart = "pl011", page = "0x9000000", irq = 33 }
//! qemu = ["-machine", "virt,virtualization=on", ...]   # flags the target's [qemu] must have
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Format version of `boards.toml`.
pub const BOARDS_VERSION: u32 = 1;

/// One Microkit board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    /// Microkit's name for it (`--board`).
    pub name: String,
    pub console: Console,
    /// QEMU flags this board needs (the target files' `[qemu]` sections carry them).
    pub qemu: Vec<String>,
}

/// The console UART whose receive side the police owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Console {
    pub uart: Uart,
    /// Physical address of the 4 KiB page that holds its registers.
    pub page: u64,
    /// Its interrupt (the GIC's number).
    pub irq: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uart {
    Pl011,
    Bcm2835Aux,
}

impl Uart {
    /// The name the protection-domain base's `make police CONSOLE=` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pl011 => "pl011",
            Self::Bcm2835Aux => "bcm2835-aux",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("failed to read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid boards file: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("Microkit board `{board}` is not in `{path}` (it has: {known})")]
    Unknown {
        board: String,
        path: PathBuf,
        known: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    boards: BTreeMap<String, RawBoard>,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "documented in the file; configs are checked by the manifest"
    )]
    configs: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBoard {
    #[allow(dead_code, reason = "documentation for integrators")]
    loader_address: Option<String>,
    console: RawConsole,
    #[serde(default)]
    qemu: Vec<String>,
    #[allow(dead_code, reason = "documentation for integrators")]
    u_boot: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    uart: String,
    page: String,
    irq: u32,
}

/// The boards file a project uses: its own `sel4-platform/boards.toml`, else the stock's.
pub fn boards_file(layers: &hive_manifest::Layers) -> PathBuf {
    const FILE: &str = "sel4-platform/boards.toml";
    layers
        .find(FILE)
        .map_or_else(|| layers.project.join(FILE), |found| found.path)
}

/// Read board `name` from `path`.
pub fn load_board(path: &Path, name: &str) -> Result<Board, BoardError> {
    let text = std::fs::read_to_string(path).map_err(|source| BoardError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_board(path, &text, name)
}

pub(crate) fn parse_board(path: &Path, text: &str, name: &str) -> Result<Board, BoardError> {
    let invalid = |message: String| BoardError::Invalid {
        path: path.to_owned(),
        message,
    };
    let file: RawFile = toml_edit::de::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if file.version != BOARDS_VERSION {
        return Err(invalid(format!(
            "version {} (this hivebuild reads version {BOARDS_VERSION})",
            file.version
        )));
    }
    let raw = file.boards.get(name).ok_or_else(|| BoardError::Unknown {
        board: name.to_owned(),
        path: path.to_owned(),
        known: file.boards.keys().cloned().collect::<Vec<_>>().join(", "),
    })?;
    let uart = match raw.console.uart.as_str() {
        "pl011" => Uart::Pl011,
        "bcm2835-aux" => Uart::Bcm2835Aux,
        other => {
            return Err(invalid(format!(
                "board `{name}`: unknown console uart `{other}` (pl011 or bcm2835-aux)"
            )));
        }
    };
    let page = raw
        .console
        .page
        .strip_prefix("0x")
        .and_then(|hex| u64::from_str_radix(&hex.replace('_', ""), 16).ok())
        .filter(|page| page % 0x1000 == 0)
        .ok_or_else(|| {
            invalid(format!(
                "board `{name}`: console page `{}` is not a 4 KiB-aligned hex address",
                raw.console.page
            ))
        })?;
    Ok(Board {
        name: name.to_owned(),
        console: Console {
            uart,
            page,
            irq: raw.console.irq,
        },
        qemu: raw.qemu.clone(),
    })
}
