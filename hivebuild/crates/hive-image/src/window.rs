//! A window onto part of the image file, as a disk for the FAT and partition-table code.
//!
//! The image file starts sparse (all holes). A write of zeros to blocks never written is
//! skipped, so formatting a file system leaves its empty areas as holes; any other write goes
//! through. Reads see what was written, holes reading as zeros.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt as _;

const BLOCK: u64 = 4096;

pub(crate) struct Window<'f> {
    file: &'f File,
    start: u64,
    len: u64,
    position: u64,
    /// Blocks (of the whole file) that hold written data; `None` for a read-only window.
    written: Option<&'f mut BTreeSet<u64>>,
}

impl<'f> Window<'f> {
    pub(crate) fn writable(
        file: &'f File,
        start: u64,
        len: u64,
        written: &'f mut BTreeSet<u64>,
    ) -> Self {
        Self {
            file,
            start,
            len,
            position: 0,
            written: Some(written),
        }
    }

    pub(crate) fn read_only(file: &'f File, start: u64, len: u64) -> Self {
        Self {
            file,
            start,
            len,
            position: 0,
            written: None,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.position);
        let count = usize::try_from(left.min(buffer.len() as u64)).unwrap_or(usize::MAX);
        if count == 0 {
            return Ok(0);
        }
        self.file
            .read_exact_at(&mut buffer[..count], self.start + self.position)?;
        self.position += count as u64;
        Ok(count)
    }
}

impl Write for Window<'_> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let Some(written) = self.written.as_deref_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the image is open read-only",
            ));
        };
        let left = self.len.saturating_sub(self.position);
        if (buffer.len() as u64) > left {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the partition",
            ));
        }
        let at = self.start + self.position;
        let end = at + buffer.len() as u64;
        let blocks = at / BLOCK..end.div_ceil(BLOCK);
        let fresh = blocks.clone().all(|b| !written.contains(&b));
        if !(fresh && buffer.iter().all(|&b| b == 0)) {
            self.file.write_all_at(buffer, at)?;
            written.extend(blocks);
        }
        self.position += buffer.len() as u64;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        match target {
            Some(position) if position <= self.len => {
                self.position = position;
                Ok(position)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek outside the partition",
            )),
        }
    }
}

impl std::fmt::Debug for Window<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Window({}..{})", self.start, self.start + self.len)
    }
}
