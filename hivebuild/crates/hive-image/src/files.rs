//! The image file list: what is in an image, file by file, and where each file came from.
//!
//! Format version 1 (JSON, written next to the image as `<image>.manifest.json`):
//! `format`, `hive` {name, version}, `target`, `hardware-id`, `image` {file, size, table,
//! disk-id}, and `partitions`, each with `index` (1-based, as the table numbers them),
//! `name`, `type`, `offset`, `size`, `id` (FAT volume id or GPT partition GUID), and either
//! `files` (FAT: path, size, sha256, source) or `content` (raw: size, sha256, source).
//!
//! Changelog: 1 — first version.

use serde::{Deserialize, Serialize};

pub const FILE_LIST_FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileList {
    pub format: u32,
    pub hive: HiveInfo,
    pub target: String,
    pub hardware_id: String,
    pub image: ImageInfo,
    pub partitions: Vec<PartitionInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiveInfo {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImageInfo {
    pub file: String,
    pub size: u64,
    pub table: String,
    pub disk_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub index: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub offset: u64,
    pub size: u64,
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentInfo {
    pub size: u64,
    pub sha256: String,
    pub source: String,
}

impl FileList {
    /// Read a manifest, refusing a format version this hivebuild does not know.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format = serde_json::from_slice::<Format>(bytes)
            .map_err(|e| format!("not an image file list: {e}"))?
            .format;
        if format != FILE_LIST_FORMAT {
            return Err(format!(
                "image file list format {format}; this hivebuild reads format {FILE_LIST_FORMAT}"
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| format!("not an image file list: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifests serialise") + "\n"
    }
}
