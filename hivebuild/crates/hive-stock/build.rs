//! Embeds the stock folders of the repository into the crate: one `include_bytes!` per file,
//! with the executable bit and a hash of the whole set (the materialised folder's name).
//!
//! Skipped, as `hash_tree` skips them in plans: hidden files and `target/` build folders. Cargo
//! reruns this script when a stock file changes; folders are watched whole only where nothing
//! in them is skipped (a Brain build writing `components/brain/target/` must not rebuild
//! hivebuild).

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Folders of the repository that are stock, relative to its root.
const STOCK: [&str; 8] = [
    "targets",
    "sel4-platform",
    "unikraft-templates",
    "components/standins",
    "components/pd-base",
    "components/police",
    "components/skill-runtime",
    "components/brain",
];

fn skipped(name: &str) -> bool {
    name.starts_with('.') || name == "target"
}

/// Every file under `dir`, sorted, as (path relative to `base`, full path); says which
/// paths Cargo should watch.
fn walk(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable folder entry").path())
        .collect();
    entries.sort();
    let has_skipped = entries
        .iter()
        .any(|path| skipped(&path.file_name().unwrap().to_string_lossy()));
    if !has_skipped {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    for path in entries {
        if skipped(&path.file_name().unwrap().to_string_lossy()) {
            continue;
        }
        if path.is_dir() {
            walk(base, &path, files);
        } else {
            if has_skipped {
                println!("cargo::rerun-if-changed={}", path.display());
            }
            let relative = path.strip_prefix(base).unwrap().to_string_lossy();
            files.push((relative.replace('\\', "/"), path));
        }
    }
}

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repository = crate_dir.join("../../..").canonicalize().unwrap();
    let mut files = Vec::new();
    for folder in STOCK {
        walk(&repository, &repository.join(folder), &mut files);
    }
    // The starter hive of `hivebuild new`, kept in this crate.
    walk(&crate_dir, &crate_dir.join("new"), &mut files);
    files.sort();

    let mut hash = Sha256::new();
    let mut code = String::from("pub(crate) static FILES: &[File] = &[\n");
    for (relative, path) in &files {
        let executable = fs::metadata(path).unwrap().permissions().mode() & 0o111 != 0;
        let contents = fs::read(path).unwrap();
        hash.update(format!("{relative}\0{executable}\0{}\0", contents.len()));
        hash.update(&contents);
        writeln!(
            code,
            "    File {{ path: {relative:?}, executable: {executable}, contents: include_bytes!({:?}) }},",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let digest = hash.finalize().iter().fold(String::new(), |mut hex, byte| {
        write!(hex, "{byte:02x}").unwrap();
        hex
    });
    writeln!(code, "pub(crate) const HASH: &str = {digest:?};").unwrap();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("stock.rs");
    fs::write(out, code).unwrap();
}
