//! Disk images: compose a target's `[image]` layout from step outputs, boot assets and
//! templates into a sparse, bit-reproducible image file with a list of every file; read
//! an image back and check it against its file list.
//!
//! Crates: `mbrman` for MBR tables, `gpt` for GPT tables and their protective MBR, `fatfs`
//! for FAT32. Every identifier they write (disk signature, disk and partition GUIDs, volume
//! ids) is derived from the image's content; every FAT timestamp is `SOURCE_DATE_EPOCH`.

mod compose;
mod fat;
pub mod files;
mod inputs;
mod inspect;
mod window;

use std::path::{Path, PathBuf};

pub use compose::{ComposeOptions, Composed, Event, Reporter, Silent, compose};
pub use files::FileList;
pub use inputs::Inputs;
pub use inspect::{FoundFile, FoundPartition, Inspection, extract, inspect, verify};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("failed to access `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("the image takes a file from {what} `{name}`, which this build does not have (it has `{}`)", known.join("`, `"))]
    UnknownInput {
        what: String,
        name: String,
        known: Vec<String>,
    },
    #[error("`{source_name}`: failed to read `{}`", path.display())]
    MissingFile {
        source_name: String,
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("failed to render template `{template}`: {message}")]
    Template { template: String, message: String },
    #[error("partition `{partition}` holds {capacity} bytes; its content is {size}")]
    TooLarge {
        partition: String,
        size: u64,
        capacity: u64,
    },
    #[error("failed to write the partition table: {message}")]
    Table { message: String },
    #[error("FAT partition `{partition}`")]
    Fat {
        partition: String,
        #[source]
        error: std::io::Error,
    },
    #[error("`{}` is not a disk image: {message}", path.display())]
    NotAnImage { path: PathBuf, message: String },
}

impl ImageError {
    pub(crate) fn io(path: &Path, error: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            error,
        }
    }
}
