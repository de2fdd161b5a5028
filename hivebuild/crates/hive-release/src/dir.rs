//! The names of a release folder's files, in one place: the writer (`hivebuild image`) and
//! every reader (`bundle`, `test --image`, `verify`) go through [`ReleaseDir`] and
//! [`Release`], so no one formats or parses a file name of the folder by hand.

use std::path::{Path, PathBuf};

use hive_image::FileList;

use crate::{ReleaseError, TARGETS_FILE, io, read_envelope};

/// A release folder of the hive `hive` for the target `target`: where each file goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseDir {
    dir: PathBuf,
    /// `<hive>-<target>`, the first part of every file name but the metadata's.
    stem: String,
}

impl ReleaseDir {
    pub fn new(dir: impl Into<PathBuf>, hive: &str, target: &str) -> Self {
        Self {
            dir: dir.into(),
            stem: format!("{hive}-{target}"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The disk image's file name (`<hive>-<target>.img`), as the image's file list records it.
    pub fn image_name(&self) -> String {
        format!("{}.img", self.stem)
    }

    pub fn image(&self) -> PathBuf {
        self.dir.join(self.image_name())
    }

    /// The image file list: every partition and file of the image, with hashes and origins.
    pub fn file_list_name(&self) -> String {
        format!("{}.manifest.json", self.stem)
    }

    pub fn file_list(&self) -> PathBuf {
        self.dir.join(self.file_list_name())
    }

    pub fn sbom_name(&self) -> String {
        format!("{}.sbom.json", self.stem)
    }

    pub fn sbom(&self) -> PathBuf {
        self.dir.join(self.sbom_name())
    }

    /// The skill `name`'s own image (for bundles that replace one skill).
    pub fn skill_name(&self, name: &str) -> String {
        format!("{}.skill-{name}.elf", self.stem)
    }

    pub fn skill(&self, name: &str) -> PathBuf {
        self.dir.join(self.skill_name(name))
    }

    /// The name the skill `name`'s own image has among a bundle's components.
    pub fn skill_component(name: &str) -> String {
        format!("skill-{name}.elf")
    }

    /// The skill a file name of this folder is the image of, if it is one.
    pub fn skill_of<'a>(&self, file: &'a str) -> Option<&'a str> {
        file.strip_prefix(self.stem.as_str())?
            .strip_prefix(".skill-")?
            .strip_suffix(".elf")
            .filter(|name| !name.is_empty())
    }

    /// The signed TUF targets metadata over every artefact.
    pub fn targets(&self) -> PathBuf {
        self.dir.join(TARGETS_FILE)
    }

    /// A newer trust root the folder carries (`N.root.json`, N ≥ 2).
    pub fn root(&self, version: u64) -> PathBuf {
        root_file(&self.dir, version)
    }
}

pub(crate) fn root_file(dir: &Path, version: u64) -> PathBuf {
    dir.join(format!("{version}.root.json"))
}

/// A release folder read back: its image file list (format version checked), and where each
/// of its files is.
#[derive(Clone, Debug)]
pub struct Release {
    pub dir: ReleaseDir,
    pub files: FileList,
    /// The signed targets metadata, read without checking signatures (`verify` does that);
    /// `None` for a folder that has none yet.
    pub targets: Option<hive_sign::Targets>,
}

impl Release {
    /// Open the release folder `dir`: the image's file list named by the signed metadata (read
    /// without checking signatures: `verify` does that), or, without metadata, the folder's
    /// only `*.manifest.json`.
    pub fn open(dir: &Path) -> Result<Self, ReleaseError> {
        let targets = match read_envelope(&dir.join(TARGETS_FILE)) {
            Ok(envelope) => Some(envelope.signed_as::<hive_sign::Targets>("targets")?),
            Err(ReleaseError::Io { .. }) => None,
            Err(other) => return Err(other),
        };
        let manifest_path = match &targets {
            Some(targets) => {
                let name = targets
                    .targets
                    .keys()
                    .find(|name| name.ends_with(".manifest.json"))
                    .ok_or_else(|| ReleaseError::Malformed {
                        path: dir.join(TARGETS_FILE),
                        message: "no image file list among the targets".into(),
                    })?;
                dir.join(name)
            }
            None => only_manifest(dir)?,
        };
        let bytes = std::fs::read(&manifest_path).map_err(io(&manifest_path))?;
        let manifest = FileList::from_json(&bytes).map_err(|message| ReleaseError::Malformed {
            path: manifest_path.clone(),
            message,
        })?;
        let dir = ReleaseDir::new(dir, &manifest.hive.name, &manifest.target);
        if dir.file_list() != manifest_path || dir.image_name() != manifest.image.file {
            return Err(ReleaseError::Malformed {
                path: manifest_path,
                message: format!(
                    "it describes `{}` of hive `{}` for target `{}`, which this folder would name `{}`",
                    manifest.image.file,
                    manifest.hive.name,
                    manifest.target,
                    dir.image_name()
                ),
            });
        }
        Ok(Self {
            dir,
            files: manifest,
            targets,
        })
    }

    /// The skill images the signed metadata lists: (skill, file name, entry).
    pub fn skills(&self) -> impl Iterator<Item = (&str, &str, &hive_sign::TargetFile)> {
        self.targets.iter().flat_map(|targets| {
            targets
                .targets
                .iter()
                .filter_map(|(file, entry)| Some((self.dir.skill_of(file)?, file.as_str(), entry)))
        })
    }

    /// The newer trust roots the folder carries (`2.root.json`, ...), in version order.
    pub fn newer_roots(&self) -> Result<Vec<hive_sign::Envelope>, ReleaseError> {
        let mut roots = Vec::new();
        for version in 2.. {
            let path = self.dir.root(version);
            if !path.is_file() {
                break;
            }
            roots.push(read_envelope(&path)?);
        }
        Ok(roots)
    }
}

/// The one `*.manifest.json` of a folder with no signed metadata.
fn only_manifest(dir: &Path) -> Result<PathBuf, ReleaseError> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ReleaseError::Malformed {
            path: dir.to_owned(),
            message: "no image file list here: give an output folder of `hivebuild image -o DIR`"
                .into(),
        }),
        n => Err(ReleaseError::Malformed {
            path: dir.to_owned(),
            message: format!("{n} image file lists and no `{TARGETS_FILE}` to say which is meant"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_comes_from_the_hive_and_target() {
        let dir = ReleaseDir::new("/r", "demo", "x86_64");
        assert_eq!(dir.image(), Path::new("/r/demo-x86_64.img"));
        assert_eq!(dir.file_list(), Path::new("/r/demo-x86_64.manifest.json"));
        assert_eq!(dir.sbom(), Path::new("/r/demo-x86_64.sbom.json"));
        assert_eq!(dir.skill("net"), Path::new("/r/demo-x86_64.skill-net.elf"));
        assert_eq!(dir.targets(), Path::new("/r/targets.json"));
        assert_eq!(dir.root(2), Path::new("/r/2.root.json"));
        assert_eq!(dir.skill_of("demo-x86_64.skill-net.elf"), Some("net"));
        assert_eq!(dir.skill_of("demo-rpi4.skill-net.elf"), None);
        assert_eq!(dir.skill_of("demo-x86_64.skill-.elf"), None);
        assert_eq!(dir.skill_of("demo-x86_64.sbom.json"), None);
    }

    #[test]
    fn a_folder_without_a_manifest_says_what_to_give() {
        let empty = tempfile::tempdir().unwrap();
        let error = Release::open(empty.path()).unwrap_err();
        assert!(error.to_string().contains("is not valid"), "{error}");
        assert!(
            format!("{error:?}").contains("hivebuild image -o DIR"),
            "{error:?}"
        );
    }

    #[test]
    fn an_image_manifest_of_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("demo-x86_64.manifest.json"),
            r#"{"format": 2, "hive": {"name": "demo", "version": "1.0.0"}}"#,
        )
        .unwrap();
        let error = Release::open(dir.path()).unwrap_err();
        assert!(
            matches!(&error, ReleaseError::Malformed { message, .. }
                if message.contains("format 2; this hivebuild reads format 1")),
            "{error:?}"
        );
    }
}
