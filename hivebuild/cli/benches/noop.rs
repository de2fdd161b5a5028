//! No-op rebuild time of `manifests/demo.toml`: the time `hivebuild build` takes when every
//! step is already in the store (process start, manifest, plan with source hashing and
//! toolchain identity, store look-ups). Target: at most 50 ms.
//!
//! Run: `cargo bench -p hivebuild --bench noop` (`-- --runs N --target T` to change).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TARGET_MS: f64 = 50.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = value("--runs").and_then(|n| n.parse().ok()).unwrap_or(50);
    let target = value("--target").unwrap_or_else(|| "x86_64".into());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let store = tempfile::tempdir().expect("temporary store");
    let build = || {
        let output = Command::new(env!("CARGO_BIN_EXE_hivebuild"))
            .current_dir(&repo)
            .arg("--store")
            .arg(store.path())
            .args(["-q", "build", "manifests/demo.toml", "--target", &target])
            .output()
            .expect("run hivebuild");
        assert!(
            output.status.success(),
            "hivebuild failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    eprintln!("filling a fresh store with the demo for `{target}`...");
    build();
    build(); // the toolchain cache is written by the first run
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            build();
            started.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // Nearest-rank percentile, in whole percent.
    let at = |percent: usize| times[(times.len() - 1) * percent / 100];
    let median = ms(at(50));
    println!(
        "no-op rebuild of manifests/demo.toml --target {target}, {runs} runs: min {:.1} ms, median {median:.1} ms, p90 {:.1} ms, max {:.1} ms (target <= {TARGET_MS} ms: {})",
        ms(times[0]),
        ms(at(90)),
        ms(times[times.len() - 1]),
        if median <= TARGET_MS { "met" } else { "MISSED" }
    );
}
