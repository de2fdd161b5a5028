//! The image reader behind `hivebuild inspect`: partition tables (MBR, GPT) and FAT32 file
//! systems. What it accepts lies inside the image: every partition ends before the image does,
//! and no file it reads is longer than its partition.
//!
//! A FAT32 file system is at least 32 MiB, nearly all zeros; an input is the image's size and
//! its non-zero runs ([`Sparse`]), written to a sparse file.

use std::io::Write as _;
use std::os::unix::fs::FileExt as _;

/// The largest image an input describes.
pub const MAX_IMAGE: u64 = 64 << 20;

/// An image as its size and the runs of bytes that are not zero. Encoded as the size (u32,
/// little-endian), then runs: offset (u32), length (u16), the bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sparse {
    pub size: u64,
    pub runs: Vec<(u64, Vec<u8>)>,
}

impl Sparse {
    pub fn decode(data: &[u8]) -> Option<Self> {
        let (size, mut rest) = data.split_first_chunk::<4>()?;
        let mut sparse = Self {
            size: u64::from(u32::from_le_bytes(*size)).min(MAX_IMAGE),
            runs: Vec::new(),
        };
        while let Some((offset, after)) = rest.split_first_chunk::<4>() {
            let Some((length, after)) = after.split_first_chunk::<2>() else {
                break;
            };
            let length = usize::from(u16::from_le_bytes(*length)).min(after.len());
            let offset = u64::from(u32::from_le_bytes(*offset));
            if offset + length as u64 <= MAX_IMAGE {
                sparse.size = sparse.size.max(offset + length as u64);
                sparse.runs.push((offset, after[..length].to_vec()));
            }
            rest = &after[length..];
        }
        Some(sparse)
    }

    /// The non-zero runs of `image` (runs closer than a sector are joined).
    pub fn of(image: &[u8]) -> Self {
        let mut runs: Vec<(u64, Vec<u8>)> = Vec::new();
        for (n, sector) in image.chunks(512).enumerate() {
            if sector.iter().all(|&b| b == 0) {
                continue;
            }
            let at = n as u64 * 512;
            match runs.last_mut() {
                Some((start, bytes))
                    if *start + bytes.len() as u64 == at
                        && bytes.len() + 512 <= usize::from(u16::MAX) =>
                {
                    bytes.extend_from_slice(sector);
                }
                _ => runs.push((at, sector.to_vec())),
            }
        }
        Self {
            size: image.len() as u64,
            runs,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = u32::try_from(self.size)
            .expect("a small image")
            .to_le_bytes()
            .to_vec();
        for (offset, bytes) in &self.runs {
            out.extend_from_slice(&u32::try_from(*offset).expect("a small image").to_le_bytes());
            out.extend_from_slice(
                &u16::try_from(bytes.len())
                    .expect("a short run")
                    .to_le_bytes(),
            );
            out.extend_from_slice(bytes);
        }
        out
    }
}

pub fn check(data: &[u8]) -> bool {
    let Some(sparse) = Sparse::decode(data) else {
        return false;
    };
    let mut file = tempfile::NamedTempFile::new().expect("a temporary image file");
    file.as_file()
        .set_len(sparse.size)
        .expect("the image's size");
    for (offset, bytes) in &sparse.runs {
        file.as_file()
            .write_all_at(bytes, *offset)
            .expect("a run written");
    }
    file.flush().expect("the image written");
    let Ok(inspection) = hive_image::inspect(file.path()) else {
        return false;
    };
    assert_eq!(inspection.size, sparse.size);
    for partition in &inspection.partitions {
        assert!(
            partition
                .offset
                .checked_add(partition.size)
                .is_some_and(|end| end <= inspection.size),
            "partition {} ({} bytes at {}) is not inside the {}-byte image",
            partition.index,
            partition.size,
            partition.offset,
            inspection.size
        );
        for found in &partition.files {
            assert!(
                found.size <= partition.size,
                "`{}` has {} bytes in a partition of {}",
                found.path,
                found.size,
                partition.size
            );
            assert_eq!(found.sha256.len(), 64);
        }
    }
    true
}
