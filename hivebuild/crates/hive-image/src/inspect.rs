//! Reading an image back: its partition table, each partition, every file of a FAT
//! partition; and checking all of it against an image's file list.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use serde::Serialize;

use crate::ImageError;
use crate::compose::sha256_hex;
use crate::files::FileList;
use crate::window::Window;

#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    pub size: u64,
    pub table: String,
    pub partitions: Vec<FoundPartition>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FoundPartition {
    pub index: u32,
    pub offset: u64,
    pub size: u64,
    /// `fat32` when a FAT32 file system is found, `raw` otherwise.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FoundFile>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FoundFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

pub fn inspect(image: &Path) -> Result<Inspection, ImageError> {
    let file = File::open(image).map_err(|error| ImageError::io(image, error))?;
    let size = file
        .metadata()
        .map_err(|error| ImageError::io(image, error))?
        .len();
    let not_an_image = |message: &str| ImageError::NotAnImage {
        path: image.to_owned(),
        message: message.to_owned(),
    };
    let mut sector = [0_u8; 512];
    file.read_exact_at(&mut sector, 0)
        .map_err(|_| not_an_image("shorter than one sector"))?;
    if sector[510..512] != [0x55, 0xaa] {
        return Err(not_an_image(
            "no partition table (no boot signature in sector 0)",
        ));
    }
    let (table, extents) = if sector[450] == 0xee {
        let mut window = Window::read_only(&file, 0, size);
        let disk = gpt::GptConfig::new()
            .writable(false)
            .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
            .open_from_device(&mut window)
            .map_err(|e| not_an_image(&format!("bad GPT: {e}")))?;
        let mut extents = Vec::new();
        for (index, p) in disk.partitions().iter().filter(|(_, p)| p.is_used()) {
            // A hostile table's numbers: an end before the start, or past 2^64 bytes.
            let extent = p.last_lba.checked_sub(p.first_lba).and_then(|last| {
                Some((p.first_lba.checked_mul(512)?, (last + 1).checked_mul(512)?))
            });
            let Some((offset, length)) = extent else {
                return Err(not_an_image(&format!(
                    "partition {index} runs from sector {} to {}",
                    p.first_lba, p.last_lba
                )));
            };
            extents.push((*index, offset, length));
        }
        ("gpt", extents)
    } else {
        ("mbr", mbr_primaries(&sector))
    };
    let mut partitions = Vec::new();
    for (index, offset, length) in extents {
        if offset.checked_add(length).is_none_or(|end| end > size) {
            return Err(not_an_image(&format!(
                "partition {index} ends past the end of the image"
            )));
        }
        let mut boot = [0_u8; 512];
        file.read_exact_at(&mut boot, offset)
            .map_err(|error| ImageError::io(image, error))?;
        let is_fat32 = &boot[82..87] == b"FAT32" && boot[510..512] == [0x55, 0xaa];
        let files = if is_fat32 {
            crate::fat::read_all(Window::read_only(&file, offset, length))
                .map_err(|error| ImageError::Fat {
                    partition: format!("#{index}"),
                    error,
                })?
                .into_iter()
                .map(|(path, bytes)| FoundFile {
                    path,
                    size: bytes.len() as u64,
                    sha256: sha256_hex(&bytes),
                })
                .collect()
        } else {
            Vec::new()
        };
        partitions.push(FoundPartition {
            index,
            offset,
            size: length,
            kind: if is_fat32 { "fat32" } else { "raw" }.into(),
            files,
        });
    }
    Ok(Inspection {
        size,
        table: table.into(),
        partitions,
    })
}

/// The used primary partitions of an MBR: (number from 1, offset, length). Read here, not
/// with `mbrman`, whose reader panics on a used entry at sector 0 and follows extended
/// partitions' chains (found by fuzzing, fuzz/regressions/image); an extended partition is
/// reported as the raw extent it is, its logical partitions unread.
fn mbr_primaries(sector: &[u8; 512]) -> Vec<(u32, u64, u64)> {
    (0..4u32)
        .filter_map(|n| {
            let entry = &sector[446 + 16 * n as usize..][..16];
            let word =
                |at: usize| u64::from(u32::from_le_bytes(entry[at..at + 4].try_into().unwrap()));
            let (kind, start, sectors) = (entry[4], word(8), word(12));
            (kind != 0).then_some((n + 1, start * 512, sectors * 512))
        })
        .collect()
}

/// Check an image against its manifest: the table, every partition's place and type, every
/// file's hash (and no file more or less), every raw content's hash. Returns the differences,
/// one sentence each; empty means the image is what the manifest says.
pub fn verify(image: &Path, manifest: &FileList) -> Result<Vec<String>, ImageError> {
    let found = inspect(image)?;
    let mut differences = Vec::new();
    if found.table != manifest.image.table {
        differences.push(format!(
            "the partition table is {}, the manifest says {}",
            found.table, manifest.image.table
        ));
    }
    if found.size != manifest.image.size {
        differences.push(format!(
            "the image is {} bytes, the manifest says {}",
            found.size, manifest.image.size
        ));
    }
    let file = File::open(image).map_err(|error| ImageError::io(image, error))?;
    for expected in &manifest.partitions {
        let Some(partition) = found.partitions.iter().find(|p| p.index == expected.index) else {
            differences.push(format!(
                "partition {} (`{}`) is missing",
                expected.index, expected.name
            ));
            continue;
        };
        let name = &expected.name;
        if (partition.offset, partition.size) != (expected.offset, expected.size) {
            differences.push(format!(
                "partition `{name}` is at {}+{}, the manifest says {}+{}",
                partition.offset, partition.size, expected.offset, expected.size
            ));
            continue;
        }
        if partition.kind != expected.kind {
            differences.push(format!(
                "partition `{name}` holds {}, the manifest says {}",
                partition.kind, expected.kind
            ));
            continue;
        }
        for wanted in &expected.files {
            match partition.files.iter().find(|f| f.path == wanted.path) {
                None => {
                    differences.push(format!("partition `{name}`: `{}` is missing", wanted.path));
                }
                Some(got) if got.sha256 != wanted.sha256 || got.size != wanted.size => {
                    differences.push(format!(
                        "partition `{name}`: `{}` differs (sha256 {}, the manifest says {})",
                        wanted.path, got.sha256, wanted.sha256
                    ));
                }
                Some(_) => {}
            }
        }
        for extra in partition
            .files
            .iter()
            .filter(|f| !expected.files.iter().any(|w| w.path == f.path))
        {
            differences.push(format!(
                "partition `{name}`: `{}` is not in the manifest",
                extra.path
            ));
        }
        if let Some(content) = &expected.content {
            let mut bytes = vec![0_u8; usize::try_from(content.size).unwrap_or(0)];
            let mut reader = Window::read_only(&file, partition.offset, content.size);
            reader
                .read_exact(&mut bytes)
                .map_err(|error| ImageError::io(image, error))?;
            let got = sha256_hex(&bytes);
            if got != content.sha256 {
                differences.push(format!(
                    "partition `{name}`: its content differs (sha256 {got}, the manifest says {})",
                    content.sha256
                ));
            }
        }
    }
    Ok(differences)
}

impl Inspection {
    /// A listing for people.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} table, {} bytes\n", self.table, self.size);
        for partition in &self.partitions {
            let _ = writeln!(
                out,
                "  {}: {} at {} ({} bytes)",
                partition.index, partition.kind, partition.offset, partition.size
            );
            for file in &partition.files {
                let _ = writeln!(out, "      {}  {}  {}", file.sha256, file.size, file.path);
            }
        }
        out
    }
}

/// The bytes of `path` in the FAT partition named `partition` of an image, found through
/// the image's manifest.
pub fn extract(
    image: &Path,
    manifest: &FileList,
    partition: &str,
    path: &str,
) -> Result<Vec<u8>, ImageError> {
    let not_found = |message: String| ImageError::NotAnImage {
        path: image.to_owned(),
        message,
    };
    let info = manifest
        .partitions
        .iter()
        .find(|p| p.name == partition && p.kind == "fat32")
        .ok_or_else(|| not_found(format!("the manifest has no FAT partition `{partition}`")))?;
    let file = File::open(image).map_err(|error| ImageError::io(image, error))?;
    let files = crate::fat::read_all(Window::read_only(&file, info.offset, info.size)).map_err(
        |error| ImageError::Fat {
            partition: partition.to_owned(),
            error,
        },
    )?;
    files
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(path))
        .map(|(_, bytes)| bytes)
        .ok_or_else(|| not_found(format!("partition `{partition}` has no `{path}`")))
}
