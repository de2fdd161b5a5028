//! The starter hive of `hivebuild new DIR`: a manifest with a Brain and one templated skill,
//! the Brain's package, the seL4 pins as `hive.lock`, a `.gitignore` and a README naming the
//! next commands. Everything else (targets, templates, the platform's sources) comes from the
//! stock, so the project is small and stays current as hivebuild moves on.
//!
//! The files are written to a private folder beside `DIR` and renamed into place: `DIR` ends
//! whole or not at all.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{File, files, files_under};

#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    #[error("`{}` already exists and is not an empty folder", path.display())]
    Exists { path: PathBuf },
    #[error("failed to write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the stock file `{path}` is broken: {message}")]
    Stock { path: String, message: String },
}

/// Write the starter hive `name` into `dir` (absent or empty). Returns the files written,
/// relative to `dir`, sorted. The caller checks the name (`hive_manifest::is_identifier`).
pub fn write(dir: &Path, name: &str) -> Result<Vec<String>, StarterError> {
    let occupied = match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => false,
        Err(_) => true,
    };
    if occupied {
        return Err(StarterError::Exists {
            path: dir.to_owned(),
        });
    }
    let rendered = render(name)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| StarterError::Write { path, source }
    };
    fs::create_dir_all(&parent).map_err(failed(&parent))?;
    let temporary = crate::private_dir(&parent).map_err(failed(&parent))?;
    let files = rendered
        .iter()
        .map(|(path, contents, executable)| (path.as_str(), contents.as_slice(), *executable));
    let result = crate::write_tree(&temporary, files, false)
        // An empty `dir` is replaced by the rename; a missing one is made by it.
        .and_then(|()| fs::rename(&temporary, dir).map_err(|e| (dir.to_owned(), e)));
    if let Err((path, source)) = result {
        let _ = fs::remove_dir_all(&temporary);
        return Err(StarterError::Write { path, source });
    }
    let mut names: Vec<String> = rendered.into_iter().map(|(path, ..)| path).collect();
    names.sort();
    Ok(names)
}

/// (path in the project, contents, executable).
type Rendered = Vec<(String, Vec<u8>, bool)>;

fn render(name: &str) -> Result<Rendered, StarterError> {
    let pins = pins()?;
    let context = minijinja::context! { name => name, pins => pins };
    let mut environment = minijinja::Environment::new();
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment.set_keep_trailing_newline(true);
    let mut out = Rendered::new();
    for (relative, file) in files_under("new") {
        let text = text(file)?;
        let (path, contents) = match relative.strip_suffix(".j2") {
            Some(plain) => {
                let rendered = environment.render_str(text, &context).map_err(|error| {
                    StarterError::Stock {
                        path: file.path.into(),
                        message: error.to_string(),
                    }
                })?;
                (plain.to_owned(), rendered)
            }
            None => (relative.to_owned(), text.to_owned()),
        };
        // Hidden files are not embedded (`build.rs`); `gitignore` becomes `.gitignore`.
        let path = if path == "gitignore" {
            ".gitignore".to_owned()
        } else {
            path
        };
        out.push((path, contents.into_bytes(), false));
    }
    for (relative, file) in files_under("components/brain") {
        out.push((
            format!("brain/{relative}"),
            file.contents.to_vec(),
            file.executable,
        ));
    }
    out.push(("hive.lock".into(), lock()?.into_bytes(), false));
    Ok(out)
}

fn stock_file(path: &str) -> Result<&'static File, StarterError> {
    files()
        .iter()
        .find(|f| f.path == path)
        .ok_or_else(|| StarterError::Stock {
            path: path.into(),
            message: "not embedded".into(),
        })
}

fn text(file: &'static File) -> Result<&'static str, StarterError> {
    std::str::from_utf8(file.contents).map_err(|error| StarterError::Stock {
        path: file.path.into(),
        message: error.to_string(),
    })
}

/// The seL4 platform's pinned commits, by source name.
fn pins() -> Result<std::collections::BTreeMap<String, String>, StarterError> {
    let file = stock_file("sel4-platform/pins.toml")?;
    let broken = |message: String| StarterError::Stock {
        path: file.path.into(),
        message,
    };
    let document: toml_edit::DocumentMut = text(file)?
        .parse()
        .map_err(|e: toml_edit::TomlError| broken(e.to_string()))?;
    let sources = document
        .get("sources")
        .and_then(toml_edit::Item::as_table)
        .ok_or_else(|| broken("no `[sources]`".into()))?;
    sources
        .iter()
        .map(|(name, item)| {
            let commit = item
                .get("commit")
                .and_then(toml_edit::Item::as_str)
                .ok_or_else(|| broken(format!("`sources.{name}` has no `commit`")))?;
            Ok((name.to_owned(), commit.to_owned()))
        })
        .collect()
}

/// `hive.lock`: the pins, in the lock's own format, under a header of its own.
fn lock() -> Result<String, StarterError> {
    let pins = text(stock_file("sel4-platform/pins.toml")?)?;
    let body = pins.lines().skip_while(|line| line.starts_with('#')).fold(
        String::new(),
        |mut body, line| {
            body.push_str(line);
            body.push('\n');
            body
        },
    );
    Ok(format!(
        "# What the hive's git and archive sources are pinned to; `hivebuild lock` rewrites it.\n\
         # Written by `hivebuild new` from the seL4 platform's pins hivebuild carries.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_manifest_brain_lock_and_gitignore() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("bees");
        let written = write(&dir, "bees").unwrap();
        for expected in [
            ".gitignore",
            "README.md",
            "brain/Cargo.toml",
            "brain/src/main.rs",
            "hive.lock",
            "hive.toml",
        ] {
            assert!(written.iter().any(|w| w == expected), "{expected} missing");
            assert!(dir.join(expected).is_file(), "{expected} not on disk");
        }
        let manifest = fs::read_to_string(dir.join("hive.toml")).unwrap();
        assert!(manifest.contains("name = \"bees\""));
        assert!(manifest.contains("rev = \"1326364bc9135d9445d936ebc01e38a402c1f4c6\""));
        assert!(!manifest.contains("{{"), "unrendered: {manifest}");
        let lock = fs::read_to_string(dir.join("hive.lock")).unwrap();
        assert!(lock.starts_with("# What the hive's"));
        assert!(lock.contains("[sources.sel4]"));
        // Nothing but the project is left in the parent.
        let names: Vec<_> = fs::read_dir(base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("bees")]);
    }

    #[test]
    fn an_occupied_folder_is_refused_and_left_alone() {
        let base = tempfile::tempdir().unwrap();
        fs::write(base.path().join("notes.txt"), "mine").unwrap();
        let error = write(base.path(), "bees").unwrap_err();
        assert!(matches!(error, StarterError::Exists { .. }), "{error}");
        assert_eq!(
            fs::read_to_string(base.path().join("notes.txt")).unwrap(),
            "mine"
        );
        assert!(!base.path().join("hive.toml").exists());
    }

    #[test]
    fn an_empty_folder_is_filled() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("empty");
        fs::create_dir(&dir).unwrap();
        write(&dir, "empty").unwrap();
        assert!(dir.join("hive.toml").is_file());
    }
}
