//! Composing an image: resolve every file, derive every identifier from the content, lay the
//! partitions out on 1 MiB boundaries, write the table, format and fill FAT partitions, copy
//! raw contents, and rename the finished image into place.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::Path;

use hive_manifest::image::{ALIGNMENT, ImageLayout, PartitionKind, PartitionLayout, TableKind};
use sha2::{Digest as _, Sha256};

use crate::ImageError;
use crate::files::{
    ContentInfo, FILE_LIST_FORMAT, FileInfo, FileList, HiveInfo, ImageInfo, PartitionInfo,
};
use crate::inputs::Inputs;
use crate::window::Window;

const SECTOR: u64 = 512;

/// What the image is for, beyond its layout.
#[derive(Clone, Debug)]
pub struct ComposeOptions {
    pub hive: HiveInfo,
    pub target: String,
    /// The image's file name, recorded in its file list.
    pub file_name: String,
    /// Timestamps of every FAT entry (`SOURCE_DATE_EPOCH`).
    pub mtime: u64,
    /// Leave unwritten areas as holes (the default); `false` writes every byte, for media
    /// or tools that cannot take sparse files.
    pub sparse: bool,
}

/// A finished image.
#[derive(Debug)]
pub struct Composed {
    pub files: FileList,
    /// Bytes the sparse file really occupies on disk.
    pub used: u64,
}

/// Progress of a composition, for the user.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// Every input was read and fits (before the image file is touched).
    Resolved { partitions: usize, bytes: u64 },
    /// A partition was written: `index` of `count`, counting from 1.
    Partition {
        index: u32,
        count: usize,
        info: &'a PartitionInfo,
    },
}

pub trait Reporter: Sync {
    fn report(&self, event: &Event<'_>);
}

/// A reporter that shows nothing.
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: &Event<'_>) {}
}

/// One partition's inputs: its files (path in the partition, bytes, where they came from) or
/// its raw content.
struct Resolved {
    files: Vec<(String, Vec<u8>, String)>,
    content: Option<(Vec<u8>, String)>,
}

impl Resolved {
    fn bytes(&self) -> u64 {
        let files: u64 = self.files.iter().map(|(_, b, _)| b.len() as u64).sum();
        files + self.content.as_ref().map_or(0, |(b, _)| b.len() as u64)
    }
}

pub fn compose(
    layout: &ImageLayout,
    inputs: &Inputs,
    out: &Path,
    options: &ComposeOptions,
    reporter: &dyn Reporter,
) -> Result<Composed, ImageError> {
    // 1. Every input, before the image file is touched.
    let resolved = layout
        .partitions
        .iter()
        .map(|partition| resolve(partition, inputs))
        .collect::<Result<Vec<_>, _>>()?;
    reporter.report(&Event::Resolved {
        partitions: resolved.len(),
        bytes: resolved.iter().map(Resolved::bytes).sum(),
    });

    // 2. Identifiers from the content: the same inputs give the same bytes.
    let digest = content_digest(layout, &resolved);
    let id = |label: &str| -> [u8; 32] {
        Sha256::new()
            .chain_update(digest)
            .chain_update(label.as_bytes())
            .finalize()
            .into()
    };

    // 3. Placement.
    let mut offsets = Vec::new();
    let mut next = ALIGNMENT;
    for partition in &layout.partitions {
        offsets.push(next);
        next += partition.size.next_multiple_of(ALIGNMENT);
    }

    // 4. The image, into a temporary file renamed into place when whole.
    let temporary = out.with_file_name(format!(
        ".{}.tmp-{}",
        out.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = open_sized(&temporary, layout.size).and_then(|file| {
        Writer {
            path: &temporary,
            file,
            written: BTreeSet::new(),
            id: &id,
            options,
            layout,
        }
        .write(&resolved, &offsets, reporter)
    });
    let (partitions, disk_id, used) = match result {
        Ok(done) => done,
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(error);
        }
    };
    std::fs::rename(&temporary, out).map_err(|error| ImageError::io(out, error))?;
    let files = FileList {
        format: FILE_LIST_FORMAT,
        hive: options.hive.clone(),
        target: options.target.clone(),
        hardware_id: layout.hardware_id.clone(),
        image: ImageInfo {
            file: options.file_name.clone(),
            size: layout.size,
            table: layout.table.as_str().into(),
            disk_id,
        },
        partitions,
    };
    Ok(Composed { files, used })
}

/// A partition's files or content, read, and checked to fit.
fn resolve(partition: &PartitionLayout, inputs: &Inputs) -> Result<Resolved, ImageError> {
    let mut files = Vec::new();
    for file in &partition.files {
        files.push((
            file.path.clone(),
            inputs.bytes(&file.source)?,
            file.source.to_string(),
        ));
    }
    let content = match &partition.content {
        Some(source) => {
            let bytes = inputs.bytes(source)?;
            if bytes.len() as u64 > partition.size {
                return Err(ImageError::TooLarge {
                    partition: partition.name.clone(),
                    size: bytes.len() as u64,
                    capacity: partition.size,
                });
            }
            Some((bytes, source.to_string()))
        }
        None => None,
    };
    Ok(Resolved { files, content })
}

/// Writes one image file: the table, then each partition, then (dense images) the holes.
/// A new file of `size` bytes (a hole until written).
fn open_sized(path: &Path, size: u64) -> Result<File, ImageError> {
    let io = |error| ImageError::io(path, error);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    file.set_len(size).map_err(io)?;
    Ok(file)
}

struct Writer<'a> {
    path: &'a Path,
    file: File,
    /// 4 KiB blocks written so far (the rest are holes).
    written: BTreeSet<u64>,
    id: &'a dyn Fn(&str) -> [u8; 32],
    options: &'a ComposeOptions,
    layout: &'a ImageLayout,
}

impl Writer<'_> {
    fn io(&self) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
        |error| ImageError::io(self.path, error)
    }

    /// Returns each partition's entry in the file list, the disk identifier, and the bytes
    /// the file occupies.
    fn write(
        mut self,
        resolved: &[Resolved],
        offsets: &[u64],
        reporter: &dyn Reporter,
    ) -> Result<(Vec<PartitionInfo>, String, u64), ImageError> {
        let layout = self.layout;
        let disk_id = write_table(&self.file, layout, offsets, self.id, &mut self.written)?;
        let mut partitions = Vec::new();
        for (index, ((partition, resolved), offset)) in layout
            .partitions
            .iter()
            .zip(resolved)
            .zip(offsets)
            .enumerate()
        {
            let index = u32::try_from(index + 1).expect("few partitions");
            let info = self.partition(index, partition, resolved, *offset)?;
            reporter.report(&Event::Partition {
                index,
                count: layout.partitions.len(),
                info: &info,
            });
            partitions.push(info);
        }
        if !self.options.sparse {
            fill_holes(&self.file, layout.size, &self.written).map_err(self.io())?;
        }
        self.file.sync_all().map_err(self.io())?;
        let used = self.file.metadata().map_err(self.io())?.blocks() * 512;
        Ok((partitions, disk_id, used))
    }

    /// Format and fill a FAT partition, or copy a raw one's content; returns its entry in
    /// the file list.
    fn partition(
        &mut self,
        index: u32,
        partition: &PartitionLayout,
        resolved: &Resolved,
        offset: u64,
    ) -> Result<PartitionInfo, ImageError> {
        let file = &self.file;
        let mut info = PartitionInfo {
            index,
            name: partition.name.clone(),
            kind: partition.kind.as_str().into(),
            offset,
            size: partition.size,
            id: String::new(),
            files: Vec::new(),
            content: None,
        };
        match &partition.kind {
            PartitionKind::Fat32 { label } => {
                let volume = (self.id)(&format!("volume:{}", partition.name));
                let volume_id = u32::from_le_bytes(volume[..4].try_into().expect("4 bytes"));
                info.id = format!("{volume_id:08x}");
                let window = Window::writable(file, offset, partition.size, &mut self.written);
                crate::fat::write(
                    window,
                    volume_id,
                    label,
                    &resolved.files,
                    self.options.mtime,
                )
                .map_err(|error| ImageError::Fat {
                    partition: partition.name.clone(),
                    error,
                })?;
                info.files = resolved
                    .files
                    .iter()
                    .map(|(path, bytes, source)| FileInfo {
                        path: path.clone(),
                        size: bytes.len() as u64,
                        sha256: sha256_hex(bytes),
                        source: source.clone(),
                    })
                    .collect();
            }
            PartitionKind::Raw => {
                info.id = uuid_of(&(self.id)(&format!("partition:{}", partition.name))).to_string();
                if let Some((bytes, source)) = &resolved.content {
                    let mut window =
                        Window::writable(file, offset, partition.size, &mut self.written);
                    window
                        .write_all(bytes)
                        .map_err(|error| ImageError::io(self.path, error))?;
                    info.content = Some(ContentInfo {
                        size: bytes.len() as u64,
                        sha256: sha256_hex(bytes),
                        source: source.clone(),
                    });
                }
            }
        }
        if self.layout.table == TableKind::Gpt {
            info.id = uuid_of(&(self.id)(&format!("partition:{}", partition.name))).to_string();
        }
        Ok(info)
    }
}

/// Write the partition table; returns the disk identifier (MBR signature or GPT GUID).
fn write_table(
    file: &File,
    layout: &ImageLayout,
    offsets: &[u64],
    id: &dyn Fn(&str) -> [u8; 32],
    written: &mut BTreeSet<u64>,
) -> Result<String, ImageError> {
    let table_error = |message: String| ImageError::Table { message };
    let sectors = |bytes: u64| {
        u32::try_from(bytes / SECTOR)
            .map_err(|_| table_error("the image is too large for an MBR".into()))
    };
    let disk = id("disk");
    match layout.table {
        TableKind::Mbr => {
            let signature: [u8; 4] = disk[..4].try_into().expect("4 bytes");
            let mut window = Window::writable(file, 0, layout.size, written);
            let mut mbr = mbrman::MBR::new_from(&mut window, 512, signature)
                .map_err(|e| table_error(e.to_string()))?;
            for (index, (partition, offset)) in layout.partitions.iter().zip(offsets).enumerate() {
                mbr[index + 1] = mbrman::MBRPartitionEntry {
                    boot: if partition.bootable {
                        mbrman::BOOT_ACTIVE
                    } else {
                        mbrman::BOOT_INACTIVE
                    },
                    first_chs: mbrman::CHS::empty(),
                    sys: match partition.kind {
                        PartitionKind::Fat32 { .. } => 0x0c,
                        PartitionKind::Raw => 0xda,
                    },
                    last_chs: mbrman::CHS::empty(),
                    starting_lba: sectors(*offset)?,
                    sectors: sectors(partition.size)?,
                };
            }
            mbr.write_into(&mut window)
                .map_err(|e| table_error(e.to_string()))?;
            Ok(format!("{:08x}", u32::from_le_bytes(signature)))
        }
        TableKind::Gpt => {
            let mut window = Window::writable(file, 0, layout.size, written);
            let last = u32::try_from(layout.size / SECTOR - 1).unwrap_or(u32::MAX);
            gpt::mbr::ProtectiveMBR::with_lb_size(last)
                .overwrite_lba0(&mut window)
                .map_err(|e| table_error(e.to_string()))?;
            let guid = uuid_of(&disk);
            let mut gpt = gpt::GptConfig::new()
                .writable(true)
                .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
                .create_from_device(window, Some(guid))
                .map_err(|e| table_error(e.to_string()))?;
            let mut entries = std::collections::BTreeMap::new();
            for (index, (partition, offset)) in layout.partitions.iter().zip(offsets).enumerate() {
                let first = offset / SECTOR;
                entries.insert(
                    u32::try_from(index + 1).expect("few partitions"),
                    gpt::partition::Partition {
                        part_type_guid: match partition.kind {
                            PartitionKind::Fat32 { .. } => gpt::partition_types::BASIC,
                            PartitionKind::Raw => gpt::partition_types::LINUX_FS,
                        },
                        part_guid: uuid_of(&id(&format!("partition:{}", partition.name))),
                        first_lba: first,
                        last_lba: first + partition.size / SECTOR - 1,
                        flags: 0,
                        name: partition.name.clone(),
                    },
                );
            }
            gpt.update_partitions(entries)
                .map_err(|e| table_error(e.to_string()))?;
            gpt.write().map_err(|e| table_error(e.to_string()))?;
            Ok(guid.to_string())
        }
    }
}

/// Write zeros over every block nothing was written to, in runs.
fn fill_holes(file: &File, size: u64, written: &BTreeSet<u64>) -> std::io::Result<()> {
    const BLOCK: u64 = 4096;
    let zeros = vec![0_u8; 1 << 20];
    let mut block = 0;
    let blocks = size.div_ceil(BLOCK);
    while block < blocks {
        if written.contains(&block) {
            block += 1;
            continue;
        }
        let run = (block..blocks)
            .take_while(|b| !written.contains(b))
            .take(zeros.len() / 4096)
            .count() as u64;
        let length = (run * BLOCK).min(size - block * BLOCK);
        file.write_all_at(
            &zeros[..usize::try_from(length).unwrap_or(0)],
            block * BLOCK,
        )?;
        block += run;
    }
    Ok(())
}

/// A UUID (version 8, "custom") made of the first 16 bytes of a digest.
fn uuid_of(bytes: &[u8; 32]) -> uuid::Uuid {
    let mut raw: [u8; 16] = bytes[..16].try_into().expect("16 bytes");
    raw[6] = (raw[6] & 0x0f) | 0x80;
    raw[8] = (raw[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(raw)
}

fn content_digest(layout: &ImageLayout, resolved: &[Resolved]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let _ = writeln!(
        Adapter(&mut hasher),
        "hive-image-v1 {} {}",
        layout.table.as_str(),
        layout.size
    );
    for (partition, resolved) in layout.partitions.iter().zip(resolved) {
        let _ = writeln!(
            Adapter(&mut hasher),
            "partition {} {} {}",
            partition.name,
            partition.kind.as_str(),
            partition.size
        );
        for (path, bytes, _) in &resolved.files {
            let _ = writeln!(Adapter(&mut hasher), "file {path} {}", sha256_hex(bytes));
        }
        if let Some((bytes, _)) = &resolved.content {
            let _ = writeln!(Adapter(&mut hasher), "content {}", sha256_hex(bytes));
        }
    }
    hasher.finalize().into()
}

struct Adapter<'h>(&'h mut Sha256);

impl std::io::Write for Adapter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
