//! The `[image]` and `[assets]` sections of a target file: how a hive is laid out on a disk.
//!
//! ```toml
//! [image]
//! table = "mbr"                  # mbr | gpt
//! size = "1GiB"
//! hardware-id = "rpi4b"
//!
//! [[image.partitions]]
//! name = "boot"
//! type = "fat32"                 # fat32 | raw
//! size = "256MiB"
//! bootable = true                # MBR only
//! label = "HIVEBOOT"             # FAT volume label
//! files = [
//!   { path = "config.txt", template = "targets/rpi4/config.txt.j2" },
//!   { path = "hive-kernel.elf", step = "kernel", file = "kernel.elf" },
//!   { path = "start4.elf", asset = "raspi-firmware", file = "usr/lib/raspi-firmware/start4.elf" },
//! ]
//!
//! [[image.partitions]]
//! name = "skills-a"
//! type = "raw"
//! size = "64MiB"
//! content = { step = "system", file = "system.img" }
//!
//! [assets.raspi-firmware]        # a Debian package, pinned
//! package = "raspi-firmware"
//! version = "1:1.20230405-1"
//! arch = "all"
//! sha256 = "…"                   # of the .deb
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use toml_edit::Item;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::raw::{self, S, section};
use crate::units::Size;

/// Where partitions start: every partition is aligned to 1 MiB, as partitioning tools do.
pub const ALIGNMENT: u64 = 1 << 20;
/// What a GPT needs at the end of the disk (backup header and entries), in bytes.
pub const GPT_BACKUP: u64 = 33 * 512;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageLayout {
    pub table: TableKind,
    pub size: u64,
    pub hardware_id: String,
    pub partitions: Vec<PartitionLayout>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    Mbr,
    Gpt,
}

impl TableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mbr => "mbr",
            Self::Gpt => "gpt",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLayout {
    pub name: String,
    pub kind: PartitionKind,
    pub size: u64,
    pub bootable: bool,
    /// Files of a FAT partition, sorted by path.
    pub files: Vec<FileLayout>,
    /// What a raw partition holds, if anything.
    pub content: Option<FileSource>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionKind {
    Fat32 { label: String },
    Raw,
}

impl PartitionKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Fat32 { .. } => "fat32",
            Self::Raw => "raw",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLayout {
    /// File name at the root of the partition.
    pub path: String,
    pub source: FileSource,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileSource {
    /// A file of a step's output.
    Step { step: String, file: String },
    /// A file of a boot asset (an unpacked Debian package).
    Asset { asset: String, file: String },
    /// A minijinja template, relative to the project root, rendered with the hive's context.
    Template { path: String },
}

impl std::fmt::Display for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Step { step, file } => write!(f, "step:{step}/{file}"),
            Self::Asset { asset, file } => write!(f, "asset:{asset}/{file}"),
            Self::Template { path } => write!(f, "template:{path}"),
        }
    }
}

/// A Debian package pinned by name, version, architecture and the sha256 of its `.deb`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    pub package: String,
    pub version: String,
    pub arch: String,
    pub sha256: String,
}

/// What a layout may refer to: the declared assets and the project root (for templates).
pub(crate) struct Known<'a> {
    pub assets: &'a BTreeMap<String, Asset>,
    pub root: &'a Path,
}

pub(crate) fn parse_image(
    item: &Item,
    known: &Known<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<ImageLayout> {
    let raw: raw::ImageSection = section(item, "image", diagnostics)?;
    let before = diagnostics.list.len();
    let table = match raw.table.get_ref().as_str() {
        "mbr" => Some(TableKind::Mbr),
        "gpt" => Some(TableKind::Gpt),
        other => {
            diagnostics.push(
                Diagnostic::new(
                    format!("unknown partition table `{other}`"),
                    raw.table.span(),
                )
                .label("unknown table")
                .help("use `mbr` (what a Raspberry Pi boots) or `gpt`"),
            );
            None
        }
    };
    let size = size(&raw.size, diagnostics);
    let mut names = BTreeSet::new();
    let mut partitions = Vec::new();
    for partition in &raw.partitions {
        if !names.insert(partition.name.get_ref().clone()) {
            diagnostics.push(
                Diagnostic::new(
                    format!("partition `{}` is declared twice", partition.name.get_ref()),
                    partition.name.span(),
                )
                .label("duplicate")
                .help("give every partition its own name"),
            );
        }
        if let Some(layout) = parse_partition(partition, known, diagnostics) {
            partitions.push(layout);
        }
    }
    if raw.partitions.is_empty() {
        diagnostics.push(
            Diagnostic::new("an image needs at least one partition", raw.table.span())
                .help("add an `[[image.partitions]]` table"),
        );
    }
    if table == Some(TableKind::Mbr) && raw.partitions.len() > 4 {
        diagnostics.push(
            Diagnostic::new(
                format!(
                    "an MBR holds 4 partitions; this image has {}",
                    raw.partitions.len()
                ),
                raw.table.span(),
            )
            .label("MBR")
            .help("use `table = \"gpt\"` or fewer partitions"),
        );
    }
    let (Some(table), Some(size)) = (table, size) else {
        return None;
    };
    let needed: u64 = ALIGNMENT
        + partitions
            .iter()
            .map(|p| p.size.next_multiple_of(ALIGNMENT))
            .sum::<u64>()
        + if table == TableKind::Gpt {
            GPT_BACKUP
        } else {
            0
        };
    if needed > size {
        diagnostics.push(
            Diagnostic::new(
                format!(
                    "the partitions need {} but the image is {}",
                    Size(needed.next_multiple_of(4096)),
                    Size(size)
                ),
                raw.size.span(),
            )
            .label("too small")
            .help(
                "make the image larger or the partitions smaller (each starts on a 1 MiB boundary)",
            ),
        );
    }
    (diagnostics.list.len() == before).then(|| ImageLayout {
        table,
        size,
        hardware_id: raw.hardware_id.into_inner(),
        partitions,
    })
}

fn size(text: &S<String>, diagnostics: &mut Diagnostics) -> Option<u64> {
    match Size::parse(text.get_ref()) {
        Ok(size) => Some(size.0),
        Err(message) => {
            diagnostics.push(
                Diagnostic::new(
                    format!("bad size `{}`: {message}", text.get_ref()),
                    text.span(),
                )
                .label("not a size")
                .help("write a size in binary units, such as `256MiB` or `1GiB`"),
            );
            None
        }
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one partition's fields, checked in the order they are written; each check reports its own diagnostic"
)]
fn parse_partition(
    raw: &raw::PartitionSection,
    known: &Known<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<PartitionLayout> {
    let size = size(&raw.size, diagnostics);
    let kind = match raw.kind.get_ref().as_str() {
        "fat32" => {
            let label = raw
                .label
                .as_ref()
                .map_or_else(|| "HIVE".to_owned(), |l| l.get_ref().clone());
            if label.len() > 11
                || !label
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                let span = raw.label.as_ref().map_or(raw.kind.span(), S::span);
                diagnostics.push(
                    Diagnostic::new(format!("`{label}` is not a FAT volume label"), span)
                        .label("bad label")
                        .help("at most 11 characters: A-Z, 0-9, `_` and `-`"),
                );
            }
            Some(PartitionKind::Fat32 { label })
        }
        "raw" => Some(PartitionKind::Raw),
        other => {
            diagnostics.push(
                Diagnostic::new(format!("unknown partition type `{other}`"), raw.kind.span())
                    .label("unknown type")
                    .help("use `fat32` (files) or `raw` (one file's bytes, or empty)"),
            );
            None
        }
    };
    if let Some(size) = size
        && matches!(kind, Some(PartitionKind::Fat32 { .. }))
        && size < 64 << 20
    {
        diagnostics.push(
            Diagnostic::new("a FAT32 partition needs at least 64MiB", raw.size.span())
                .label("too small for FAT32")
                .help("FAT32 needs 65525 clusters; give it `64MiB` or more"),
        );
    }
    let mut files = Vec::new();
    let mut paths = BTreeSet::new();
    for file in &raw.files {
        if !matches!(kind, Some(PartitionKind::Fat32 { .. })) {
            diagnostics.push(
                Diagnostic::new("only a `fat32` partition holds files", raw.kind.span())
                    .label("not a file system")
                    .help("give a raw partition one `content = { step = ..., file = ... }`"),
            );
            break;
        }
        let Some(path) = &file.path else {
            diagnostics.push(
                Diagnostic::new(
                    format!("a file of partition `{}` has no `path`", raw.name.get_ref()),
                    raw.name.span(),
                )
                .help("write `{ path = \"config.txt\", template = \"...\" }`"),
            );
            continue;
        };
        let clean = path.get_ref().trim_start_matches('/');
        // Files sit at the root of a FAT partition for now: fatfs 0.3.6 writes "." and ".."
        // of a sub-folder with long-name entries that fsck.fat rejects (rafalh/rust-fatfs#117).
        if clean.is_empty() || clean.contains('/') || clean == "." || clean == ".." {
            diagnostics.push(
                Diagnostic::new(format!("`{}` is not a file name at the root of the partition", path.get_ref()), path.span())
                    .label("bad path")
                    .help("FAT partitions hold files at their root (no sub-folders yet): write a name such as `kernel8.img`"),
            );
            continue;
        }
        if !paths.insert(clean.to_ascii_lowercase()) {
            diagnostics.push(
                Diagnostic::new(
                    format!("`{clean}` is in the partition twice (FAT ignores case)"),
                    path.span(),
                )
                .label("duplicate")
                .help("every file needs its own path"),
            );
        }
        if let Some(source) = file_source(file, known, diagnostics) {
            files.push(FileLayout {
                path: clean.to_owned(),
                source,
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let content = match (&raw.content, &kind) {
        (Some(_), Some(PartitionKind::Fat32 { .. })) => {
            diagnostics.push(
                Diagnostic::new(
                    "a `fat32` partition has `files`, not `content`",
                    raw.kind.span(),
                )
                .help("list its files in `files = [...]`"),
            );
            None
        }
        (Some(content), _) => file_source(content, known, diagnostics),
        (None, _) => None,
    };
    Some(PartitionLayout {
        name: raw.name.get_ref().clone(),
        kind: kind?,
        size: size?,
        bootable: raw.bootable,
        files,
        content,
    })
}

fn file_source(
    raw: &raw::FileSection,
    known: &Known<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<FileSource> {
    if let Some(asset) = &raw.asset
        && !known.assets.contains_key(asset.get_ref())
    {
        diagnostics.push(
            Diagnostic::new(
                format!("asset `{}` is not declared", asset.get_ref()),
                asset.span(),
            )
            .label("no such asset")
            .help(format!(
                "declare it as `[assets.{}]` with package, version, arch and sha256",
                asset.get_ref()
            )),
        );
        return None;
    }
    if let Some(template) = &raw.template
        && !known.root.join(template.get_ref()).is_file()
    {
        diagnostics.push(
            Diagnostic::new(
                format!("template `{}` does not exist", template.get_ref()),
                template.span(),
            )
            .label("no such file")
            .help("template paths are relative to the project root"),
        );
        return None;
    }
    let span = raw
        .path
        .as_ref()
        .or(raw.step.as_ref())
        .or(raw.asset.as_ref())
        .or(raw.template.as_ref())
        .map_or(0..0, S::span);
    let file = raw
        .file
        .as_ref()
        .map(|f| f.get_ref().trim_start_matches('/').to_owned());
    match (&raw.step, &raw.asset, &raw.template, file) {
        (Some(step), None, None, Some(file)) => Some(FileSource::Step {
            step: step.get_ref().clone(),
            file,
        }),
        (None, Some(asset), None, Some(file)) => Some(FileSource::Asset {
            asset: asset.get_ref().clone(),
            file,
        }),
        (None, None, Some(template), None) => Some(FileSource::Template {
            path: template.get_ref().clone(),
        }),
        _ => {
            diagnostics.push(
                Diagnostic::new("a file comes from exactly one of `step` + `file`, `asset` + `file`, or `template`", span)
                    .label("unclear source")
                    .help("for example `{ path = \"k.elf\", step = \"kernel\", file = \"kernel.elf\" }`"),
            );
            None
        }
    }
}

pub(crate) fn parse_assets(item: &Item, diagnostics: &mut Diagnostics) -> BTreeMap<String, Asset> {
    let mut assets = BTreeMap::new();
    let Some(table) = item.as_table_like() else {
        diagnostics.push(
            Diagnostic::new(
                "`assets` must be a table of tables",
                item.span().unwrap_or(0..0),
            )
            .help("write `[assets.NAME]` sections"),
        );
        return assets;
    };
    for (name, entry) in table.iter() {
        let Some(raw) = section::<raw::AssetSection>(entry, &format!("assets.{name}"), diagnostics)
        else {
            continue;
        };
        let sha = raw.sha256.get_ref();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            diagnostics.push(
                Diagnostic::new(
                    format!("asset `{name}` needs the sha256 of its .deb (64 hex digits)"),
                    raw.sha256.span(),
                )
                .label("not a sha256")
                .help("`sha256sum PACKAGE.deb` after `apt-get download PACKAGE=VERSION`"),
            );
        }
        assets.insert(
            name.to_owned(),
            Asset {
                package: raw.package.into_inner(),
                version: raw.version.into_inner(),
                arch: raw.arch.into_inner(),
                sha256: sha.to_ascii_lowercase(),
            },
        );
    }
    assets
}
