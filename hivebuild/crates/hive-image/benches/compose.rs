//! Image composition: time and throughput for a 1 GiB Raspberry Pi-shaped image (MBR, a
//! 256 MiB FAT32 boot partition with firmware-sized files, two 64 MiB skill slots), written
//! sparse and dense, next to `dd` and `cp` of 1 GiB on the same disk in the same run (the
//! physical floor of writing that many bytes).
//!
//! Run: `cargo bench -p hive-image --bench compose` (`-- --runs N`).

#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "a benchmark: byte patterns and MiB/s figures"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hive_image::files::HiveInfo;
use hive_image::{ComposeOptions, Inputs, Silent, compose};
use hive_manifest::image::{
    FileLayout, FileSource, ImageLayout, PartitionKind, PartitionLayout, TableKind,
};

const GIB: u64 = 1 << 30;

fn layout() -> ImageLayout {
    let file = |path: &str, name: &str| FileLayout {
        path: path.into(),
        source: FileSource::Step {
            step: "inputs".into(),
            file: name.into(),
        },
    };
    let raw = |name: &str, content: Option<&str>| PartitionLayout {
        name: name.into(),
        kind: PartitionKind::Raw,
        size: 64 << 20,
        bootable: false,
        files: Vec::new(),
        content: content.map(|f| FileSource::Step {
            step: "inputs".into(),
            file: f.into(),
        }),
    };
    ImageLayout {
        table: TableKind::Mbr,
        size: GIB,
        hardware_id: "bench".into(),
        partitions: vec![
            PartitionLayout {
                name: "boot".into(),
                kind: PartitionKind::Fat32 {
                    label: "HIVEBOOT".into(),
                },
                size: 256 << 20,
                bootable: true,
                files: vec![
                    file("start4.elf", "start4.elf"),
                    file("kernel8.img", "kernel8.img"),
                    file("fixup4.dat", "fixup4.dat"),
                ],
                content: None,
            },
            raw("skills-a", Some("system.img")),
            raw("skills-b", None),
        ],
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn rate(bytes: u64, time: Duration) -> String {
    format!(
        "{:>8.1} ms  {:>7.0} MiB/s",
        time.as_secs_f64() * 1e3,
        bytes as f64 / f64::from(1 << 20) / time.as_secs_f64()
    )
}

fn shell(command: &str, dir: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .status()
        .expect("sh");
    assert!(status.success(), "`{command}` failed");
    started.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    // On the disk the images go to (not a tmpfs), like a real output folder.
    let dir = tempfile::Builder::new()
        .prefix("hive-image-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("scratch folder");
    let inputs_dir = dir.path().join("inputs");
    std::fs::create_dir_all(&inputs_dir).unwrap();
    let noise = |len: usize, seed: u8| {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<u8>>()
    };
    for (name, len) in [
        ("start4.elf", 2_249_280),
        ("fixup4.dat", 5_399),
        ("kernel8.img", 8 << 20),
        ("system.img", 24 << 20),
    ] {
        std::fs::write(inputs_dir.join(name), noise(len, name.len() as u8)).unwrap();
    }
    let inputs = Inputs {
        steps: BTreeMap::from([("inputs".to_owned(), inputs_dir.clone())]),
        assets: BTreeMap::new(),
        root: dir.path().to_owned(),
        context: serde_json::json!({}),
    };
    let options = |sparse| ComposeOptions {
        hive: HiveInfo {
            name: "bench".into(),
            version: "1.0.0".into(),
        },
        target: "rpi4".into(),
        file_name: "bench.img".into(),
        mtime: 315_532_800,
        sparse,
    };
    let image = dir.path().join("bench.img");
    let mut report = Vec::new();
    for (label, sparse) in [("compose, sparse", true), ("compose, dense", false)] {
        let mut used = 0;
        let times: Vec<Duration> = (0..runs)
            .map(|_| {
                let started = Instant::now();
                used = compose(&layout(), &inputs, &image, &options(sparse), &Silent)
                    .expect("compose")
                    .used;
                started.elapsed()
            })
            .collect();
        report.push(format!(
            "{label:<28} {}   ({} MiB on disk)",
            rate(GIB, median(times)),
            used >> 20
        ));
    }
    let dd: Vec<Duration> = (0..runs)
        .map(|_| {
            shell(
                "dd if=/dev/zero of=dd.img bs=1M count=1024 conv=fsync status=none",
                dir.path(),
            )
        })
        .collect();
    report.push(format!(
        "{:<28} {}",
        "dd 1 GiB of zeros (fsync)",
        rate(GIB, median(dd))
    ));
    let cp: Vec<Duration> = (0..runs)
        .map(|_| shell("cp --sparse=never dd.img cp.img && sync cp.img", dir.path()))
        .collect();
    report.push(format!(
        "{:<28} {}",
        "cp 1 GiB, dense (sync)",
        rate(GIB, median(cp))
    ));
    println!(
        "1 GiB rpi4-shaped image, median of {runs} runs (compose includes reading inputs, hashing, fsync):"
    );
    for line in report {
        println!("  {line}");
    }
}
