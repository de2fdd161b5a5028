//! The bodies of the fuzz targets: each takes what a stranger could hand hivebuild or a
//! device, runs it through the real code, and asserts an invariant of what comes out, not
//! only that nothing panicked. `fuzz_targets/` wraps them for libFuzzer (`ci/fuzz`);
//! `tests/replay.rs` runs the seeds and every kept reproducer through them without it.
//!
//! Every target refuses nothing itself: an input the code under test refuses must be
//! refused with an error (never a panic, a hang, or unbounded memory; `ci/fuzz` sets the
//! limits), and an input it accepts must satisfy the target's invariant.

pub mod bundle;
pub mod delta;
pub mod image;
pub mod manifest;
pub mod protocol;
pub mod target;
pub mod tuf;

use std::path::Path;

pub mod fixture;
pub mod seeds;

/// A target's body: whether the code under test accepted the input.
pub type Check = fn(&[u8]) -> bool;

/// The targets, by name: what `ci/fuzz` runs and the replay test replays. Each returns
/// whether the code under test accepted the input (the replay test checks that the seeds
/// reach past the refusals).
pub const TARGETS: &[(&str, Check)] = &[
    ("manifest", manifest::check),
    ("target", target::check),
    ("bundle", bundle::check),
    ("delta", delta::check),
    ("tuf", tuf::check),
    ("image", image::check),
    ("protocol", protocol::check),
];

/// A target in C: a skill's parser, built for the host with its `c/NAME.c` harness (clang's
/// libFuzzer in `ci/fuzz`; any C compiler with the replay driver `c/replay.c` in the tests).
pub struct CTarget {
    pub name: &'static str,
    /// The skill's sources, relative to the repository's root.
    pub sources: &'static [&'static str],
    /// Include folders, relative to the repository's root.
    pub include: &'static [&'static str],
}

pub const C_TARGETS: &[CTarget] = &[
    CTarget {
        name: "pdf",
        sources: &[
            "components/skills/pdf/pdf.c",
            "components/skills/pdf/inflate.c",
        ],
        include: &["components/skills/pdf", "components/skill-runtime/include"],
    },
    CTarget {
        name: "net",
        sources: &[],
        include: &["components/skill-runtime/include"],
    },
];

impl CTarget {
    /// The compiler's arguments besides its flags: the harness, the sources, `-I` folders.
    pub fn arguments(&self) -> Vec<String> {
        let root = repo_root();
        let harness = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("c")
            .join(format!("{}.c", self.name));
        std::iter::once(harness.display().to_string())
            .chain(
                self.sources
                    .iter()
                    .map(|s| root.join(s).display().to_string()),
            )
            .chain(
                self.include
                    .iter()
                    .map(|i| format!("-I{}", root.join(i).display())),
            )
            .collect()
    }
}

/// The repository's root (the manifests' relative paths start there).
pub fn repo_root() -> &'static Path {
    static ROOT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .canonicalize()
            .expect("the repository root")
    })
}
