//! This crate's paths, `.drv` texts and export streams against the installed Nix, in a
//! store of its own (a chroot store in a temporary folder). Skipped, saying so, without Nix
//! (failed instead when `HIVEBUILD_REQUIRE_TOOLS` is set, as in CI).

use std::path::Path;
use std::process::Command;

use hive_nix::{DerivationSet, ExportedPath, export_stream, fixed_source_path};

/// `nix-store`/`nix-instantiate` on a chroot store, offline, as root without a build group.
fn nix(program: &str, store: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .arg("--store")
        .arg(store)
        .args(["--option", "build-users-group", ""])
        .args(["--option", "substituters", ""]);
    command
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("nix runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn have_nix() -> bool {
    let found = Command::new("nix-store").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
            "`nix-store` is not installed and HIVEBUILD_REQUIRE_TOOLS is set"
        );
        eprintln!("skipped: `nix-store` is not installed (ci/install-deps installs nix-bin)");
    }
    found
}

fn nar_sha256(store: &Path, path: &str) -> [u8; 32] {
    let text = run(nix("nix-store", store).args(["-q", "--hash", path]));
    let nix32 = text.trim().strip_prefix("sha256:").unwrap();
    nix_base32::from_nix_base32(nix32)
        .unwrap()
        .try_into()
        .unwrap()
}

/// A fresh chroot store in a temporary folder, with the golden source folder (one file,
/// `file`, holding `hello\n`) added to it; its store path.
fn store_with_source() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let src_dir = dir.path().join("src-x");
    std::fs::create_dir(&src_dir).unwrap();
    std::fs::write(src_dir.join("file"), "hello\n").unwrap();
    let added = run(nix("nix-store", &store)
        .args(["--add-fixed", "--recursive", "sha256"])
        .arg(&src_dir));
    (dir, store, added.trim().to_owned())
}

#[test]
fn paths_and_derivations_are_the_ones_nix_instantiate_writes() {
    if !have_nix() {
        return;
    }
    let (_dir, store, src) = store_with_source();
    let src = src.as_str();
    assert_eq!(fixed_source_path(&nar_sha256(&store, src), "src-x"), src);

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden.nix");
    let ours = hive_nix::golden::derivations(&mut DerivationSet::new(), src);
    for (attribute, planned) in &ours {
        let drv = run(nix("nix-instantiate", &store)
            .env("GOLDEN_SRC", src)
            .arg(&golden)
            .args(["-A", attribute]));
        assert_eq!(
            drv.trim(),
            planned.drv_path,
            "the .drv path of `{attribute}`"
        );
        let on_disk = store.join(planned.drv_path.trim_start_matches('/'));
        assert_eq!(
            std::fs::read_to_string(on_disk).unwrap(),
            planned.aterm,
            "the .drv text of `{attribute}`"
        );
    }
}

#[test]
fn an_export_stream_imports_with_its_references_and_builds() {
    if !have_nix() {
        return;
    }
    let (dir, store, src) = store_with_source();
    let ours = hive_nix::golden::derivations(&mut DerivationSet::new(), &src);
    // `a` and `b` (which reads `a` and the source): the fixed-output pair cannot build.
    let exported: Vec<ExportedPath<'_>> = ours[..2]
        .iter()
        .map(|(_, p)| ExportedPath {
            path: &p.drv_path,
            contents: p.aterm.as_bytes(),
            references: p.references.iter().map(String::as_str).collect(),
        })
        .collect();
    let stream = dir.path().join("stream");
    std::fs::write(&stream, export_stream(&exported)).unwrap();
    let imported = run(nix("nix-store", &store)
        .arg("--import")
        .stdin(std::fs::File::open(&stream).unwrap()));
    assert_eq!(
        imported.lines().collect::<Vec<_>>(),
        [ours[0].1.drv_path.as_str(), ours[1].1.drv_path.as_str()]
    );
    let references =
        run(nix("nix-store", &store).args(["-q", "--references", &ours[1].1.drv_path]));
    let mut references: Vec<&str> = references.lines().collect();
    references.sort_unstable();
    let mut expected = vec![ours[0].1.drv_path.as_str(), src.as_str()];
    expected.sort_unstable();
    assert_eq!(references, expected);
    // `a` builds (its builder is the host's /bin/sh, let into the sandbox).
    let out = run(nix("nix-store", &store)
        .args(["--option", "extra-sandbox-paths", "/bin /usr /lib /lib64"])
        .args(["--realise", &ours[0].1.drv_path]));
    assert_eq!(out.trim(), ours[0].1.out_path);
    let built = store.join(out.trim().trim_start_matches('/'));
    assert_eq!(std::fs::read_to_string(built).unwrap(), "hi\n");
}
