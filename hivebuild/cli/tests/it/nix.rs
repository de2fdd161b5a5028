//! The store's NAR hashes are the ones Nix computes for the same trees.

use std::process::Command;

use crate::support::{BUILD_TOOLS, Project, have, ok};

#[test]
fn nix_nar_hashes_match_nix_hash() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("nix-hash");
    if !have("nix_nar_hashes_match_nix_hash", &tools) {
        return;
    }
    let project = Project::new();
    ok(&mut project.hivebuild(&[
        "-q",
        "build",
        "manifests/standins.toml",
        "--target",
        "x86_64",
    ]));
    let listing: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&mut project.hivebuild(&["--json", "store", "ls"]))).unwrap();
    assert_eq!(listing.len(), 7);
    for entry in listing {
        let path = entry["path"].as_str().unwrap();
        let nix = ok(Command::new("nix-hash").args(["--type", "sha256", "--base32", path]));
        assert_eq!(
            format!("sha256:{}", nix.trim()),
            entry["nar-hash"].as_str().unwrap(),
            "{path}"
        );
    }
}
