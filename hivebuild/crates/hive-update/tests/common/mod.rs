//! What several of this crate's test files use.

use std::path::Path;

/// Make `to` a copy of the folder `from`, replacing whatever was at `to`.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    copy_into(from, to);
}

fn copy_into(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_into(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
