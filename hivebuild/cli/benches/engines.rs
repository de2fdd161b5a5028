//! The build engines side by side, in one run, on the stand-ins hive (`manifests/standins.toml
//! --target x86_64`): a cold build (empty stores) and the no-op rebuild (median of `--runs`)
//! with the native engine, the Nix engine on this machine, and the Nix engine on a "remote"
//! builder (a local sshd of the bench's own with a second Nix store, `--max-jobs 0`).
//! Targets: Nix engine no-op at most 1 s, native at most 50 ms.
//!
//! Run: `cargo bench -p hivebuild --bench engines` (`-- --runs N` to change). Needs Nix, and
//! root with openssh-server for the remote row (which is left out, saying why, otherwise).

#[path = "../tests/it/sshd.rs"]
#[allow(dead_code, unreachable_pub)]
mod sshd;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const NATIVE_NOOP_MS: f64 = 50.0;
const NIX_NOOP_MS: f64 = 1000.0;

/// A copy of what the stand-ins hive is built from, so that nothing in the repository is
/// touched.
fn project() -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::Builder::new()
        .prefix("hivebuild-bench-")
        .tempdir()
        .expect("a temporary folder");
    for folder in [
        "targets",
        "components",
        "unikraft-templates",
        "manifests",
        "sel4-platform",
    ] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo.join(folder))
            .arg(dir.path())
            .status()
            .expect("cp runs");
        assert!(status.success());
    }
    std::fs::copy(repo.join("hive.lock"), dir.path().join("hive.lock")).expect("hive.lock");
    dir
}

struct Engine {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

fn build(project: &Path, store: &Path, engine: &Engine) -> Duration {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_hivebuild"))
        .current_dir(project)
        .arg("--store")
        .arg(store)
        .args(&engine.args)
        .args([
            "-q",
            "build",
            "manifests/standins.toml",
            "--target",
            "x86_64",
        ])
        .envs(engine.env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run hivebuild");
    assert!(
        output.status.success(),
        "{}: hivebuild failed:\n{}",
        engine.name,
        String::from_utf8_lossy(&output.stderr)
    );
    started.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let project = project();
    let root = project.path();
    let nix_store = |name: &str| -> PathBuf { root.join(name) };
    let mut engines = vec![
        Engine {
            name: "native",
            args: vec![],
            env: vec![],
        },
        Engine {
            name: "nix, this machine",
            args: vec![
                "--engine".into(),
                "nix".into(),
                "--nix-store".into(),
                nix_store("nix-local").display().to_string(),
            ],
            env: vec![],
        },
    ];
    let sshd = match sshd::Sshd::missing() {
        Some(why) => {
            println!("nix on a remote builder: not measured: {why}");
            None
        }
        None => Some(sshd::Sshd::start()),
    };
    if let Some(sshd) = &sshd {
        let output = Command::new(env!("CARGO_BIN_EXE_hivebuild"))
            .current_dir(root)
            .arg("--store")
            .arg(root.join("store-conf"))
            .args([
                "--json",
                "builder-conf",
                "manifests/standins.toml",
                "--target",
                "x86_64",
            ])
            .output()
            .expect("builder-conf");
        let needs: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("builder-conf prints JSON");
        engines.push(Engine {
            name: "nix, remote builder",
            args: vec![
                "--engine".into(),
                "nix".into(),
                "--nix-store".into(),
                nix_store("nix-remote-client").display().to_string(),
                "--max-jobs".into(),
                "0".into(),
                "--builders".into(),
                sshd.builder(&needs),
            ],
            env: vec![("NIX_SSHOPTS".into(), sshd.ssh_opts())],
        });
    }
    println!(
        "stand-ins hive (7 steps), x86_64; cold = empty stores; no-op = median of {runs} runs"
    );
    println!(
        "{:<22} {:>10} {:>12} {:>8}",
        "engine", "cold", "no-op", "target"
    );
    for (i, engine) in engines.iter().enumerate() {
        let store = root.join(format!("store-{i}"));
        let cold = build(root, &store, engine);
        let mut noop: Vec<Duration> = (0..runs).map(|_| build(root, &store, engine)).collect();
        noop.sort();
        let median = noop[noop.len() / 2].as_secs_f64() * 1000.0;
        let target = if engine.name == "native" {
            NATIVE_NOOP_MS
        } else {
            NIX_NOOP_MS
        };
        println!(
            "{:<22} {:>8.2} s {:>9.1} ms {:>8} {}",
            engine.name,
            cold.as_secs_f64(),
            median,
            format!("<= {target} ms"),
            if median <= target { "met" } else { "MISSED" }
        );
    }
}
