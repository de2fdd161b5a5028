//! Where the hosted lane keeps the Brain's stores when nobody says otherwise: one definition
//! for hivebuild (which starts the Brain), the Brain's own tests, and `ci/install-models`
//! (a shell script: it repeats these three lines, and says so).

extern crate std;

use std::path::PathBuf;

/// The default folder of store `name` (other than `files`, which is wherever requests are
/// asked from): `$HIVE_STORES/NAME`, else `$XDG_DATA_HOME/hive/stores/NAME`, else
/// `~/.local/share/hive/stores/NAME`.
pub fn default_folder(name: &str) -> PathBuf {
    let root = std::env::var_os("HIVE_STORES").map_or_else(
        || {
            std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
                .unwrap_or_else(|| PathBuf::from("."))
                .join("hive/stores")
        },
        PathBuf::from,
    );
    root.join(name)
}
