//! Where a project's files are found: in the project first, then in hivebuild's stock.
//!
//! A project names targets (`targets/NAME.toml`), skill templates (`unikraft-templates/NAME/`),
//! the seL4 boards (`sel4-platform/boards.toml`) and platform sources (`[platform]` roles).
//! Each is looked up in the project's own folder and then in the stock folder that the
//! installed hivebuild carries (`hive_stock`), so a project holds only what it changes or
//! adds. A name found in both is the project's: that is how a stock file is overridden.

use std::path::{Path, PathBuf};

/// The project's folder and, behind it, the stock folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layers {
    /// The project root: relative paths in the manifest start here.
    pub project: PathBuf,
    /// hivebuild's stock folder, when there is one.
    pub stock: Option<PathBuf>,
}

/// A file or folder found in one of the layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// The root of the layer it was found in (where its own relative paths start).
    pub root: PathBuf,
    pub stock: bool,
}

impl Layers {
    /// Only the project (no stock): for tests, and tools that must not see the stock.
    pub fn project_only(project: impl Into<PathBuf>) -> Self {
        Self {
            project: project.into(),
            stock: None,
        }
    }

    /// The project, then the stock of this hivebuild (`hive_stock::folder`).
    pub fn with_stock(project: impl Into<PathBuf>) -> Result<Self, hive_stock::StockError> {
        Ok(Self {
            project: project.into(),
            stock: Some(hive_stock::folder()?.to_owned()),
        })
    }

    fn roots(&self) -> impl Iterator<Item = (&Path, bool)> {
        std::iter::once((self.project.as_path(), false))
            .chain(self.stock.as_deref().map(|s| (s, true)))
    }

    /// The first layer's `relative` (file or folder).
    pub fn find(&self, relative: &str) -> Option<Found> {
        self.roots().find_map(|(root, stock)| {
            let path = root.join(relative);
            path.exists().then(|| Found {
                path,
                root: root.to_owned(),
                stock,
            })
        })
    }

    /// `targets/NAME.toml`.
    pub fn target(&self, name: &str) -> Option<Found> {
        if !is_plain(name) {
            return None;
        }
        self.find(&format!("targets/{name}.toml"))
            .filter(|found| found.path.is_file())
    }

    /// `unikraft-templates/NAME/`.
    pub fn template(&self, name: &str) -> Option<Found> {
        if !is_plain(name) {
            return None;
        }
        self.find(&format!("unikraft-templates/{name}"))
            .filter(|found| found.path.is_dir())
    }

    /// A platform source the stock carries (`components/NAME/`: `standins`, `pd-base`,
    /// `police`), for a `[platform]` role the manifest's `[sources]` do not declare.
    pub fn stock_source(&self, name: &str) -> Option<PathBuf> {
        // The stock's Brain is the starter Brain of `hivebuild new`, not a platform source.
        if name == "brain" || !is_plain(name) {
            return None;
        }
        let folder = self.stock.as_ref()?.join("components").join(name);
        folder.is_dir().then_some(folder)
    }

    /// The names of the stock's platform sources, sorted.
    pub fn stock_sources(&self) -> Vec<String> {
        let Some(stock) = &self.stock else {
            return Vec::new();
        };
        names(&stock.join("components"), Path::is_dir, "")
            .into_iter()
            .filter(|name| name != "brain")
            .collect()
    }

    /// Every target name of both layers, sorted, each once.
    pub fn known_targets(&self) -> Vec<String> {
        self.known("targets", Path::is_file, ".toml")
    }

    /// Every template name of both layers, sorted, each once.
    pub fn known_templates(&self) -> Vec<String> {
        self.known("unikraft-templates", Path::is_dir, "")
    }

    fn known(&self, folder: &str, keep: fn(&Path) -> bool, suffix: &str) -> Vec<String> {
        let mut all: Vec<String> = self
            .roots()
            .flat_map(|(root, _)| names(&root.join(folder), keep, suffix))
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// A name that stays in its folder: not empty, no separator, not hidden (nor `..`).
fn is_plain(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}

/// The entries of `dir` that `keep` accepts and whose names end with `suffix` (dropped),
/// sorted; hidden ones left out.
fn names(dir: &Path, keep: fn(&Path) -> bool, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| keep(&entry.path()))
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let name = name.strip_suffix(suffix)?;
            (!name.starts_with('.') && !name.is_empty()).then(|| name.to_owned())
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn the_project_comes_first_and_the_stock_fills_in() {
        let project = tempfile::tempdir().unwrap();
        let stock = tempfile::tempdir().unwrap();
        touch(&project.path().join("targets/x86_64.toml"));
        touch(&project.path().join("targets/mine.toml"));
        touch(&stock.path().join("targets/x86_64.toml"));
        touch(&stock.path().join("targets/rpi4.toml"));
        touch(
            &stock
                .path()
                .join("unikraft-templates/net-listener/main.c.j2"),
        );
        touch(&stock.path().join("components/standins/Makefile"));
        touch(&stock.path().join("components/brain/Cargo.toml"));
        let layers = Layers {
            project: project.path().to_owned(),
            stock: Some(stock.path().to_owned()),
        };
        let x86 = layers.target("x86_64").unwrap();
        assert_eq!(
            (x86.root.as_path(), x86.stock),
            (project.path(), false),
            "the project's target overrides the stock's"
        );
        let rpi4 = layers.target("rpi4").unwrap();
        assert_eq!((rpi4.root.as_path(), rpi4.stock), (stock.path(), true));
        assert_eq!(layers.target("../x86_64"), None);
        assert_eq!(layers.known_targets(), ["mine", "rpi4", "x86_64"]);
        assert!(layers.template("net-listener").unwrap().stock);
        assert_eq!(layers.known_templates(), ["net-listener"]);
        assert_eq!(layers.stock_sources(), ["standins"]);
        assert_eq!(
            layers.stock_source("standins"),
            Some(stock.path().join("components/standins"))
        );
        assert_eq!(layers.stock_source("brain"), None);
        let alone = Layers::project_only(project.path());
        assert_eq!(alone.target("rpi4"), None);
        assert_eq!(alone.stock_source("standins"), None);
    }
}
