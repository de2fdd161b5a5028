//! `cargo bench -p hive-update --bench bundle [-- OLD NEW ...] [--gib N]`
//!
//! 1. Deltas: for each pair of files (default: rustfmt of the rustup stable and nightly
//!    toolchains, when present), hivebuild's delta (`hive_update::delta`, as bundles carry
//!    them) against `bsdiff` and `xdelta3 -9`, in the same process: size, time to make, time
//!    to apply; each the median of [`RUNS`] runs, the tools taking turns.
//! 2. Verify/apply: a full bundle of an N GiB incompressible payload (default 1) applied to a
//!    device folder in a child process (peak RSS from `getrusage`), next to `sha256sum` of
//!    the same file.
//!
//! Prints figures; asserts nothing (the targets are in docs/bundle-format.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hive_sign::{Envelope, PrivateKey, Root, Signer};
use hive_update::{BundleRequest, ComponentFile, apply, write_bundle};
use time::OffsetDateTime;

/// Runs of each delta tool per pair (the median is shown).
const RUNS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(spec) = args.iter().position(|a| a == "--child-apply") {
        child_apply(&args[spec + 1], &args[spec + 2]);
        return;
    }
    let mut gib = 1u64;
    let mut files = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--gib" {
            gib = iter.next().and_then(|n| n.parse().ok()).expect("--gib N");
        } else {
            files.push(PathBuf::from(arg));
        }
    }
    if files.is_empty() {
        let home = std::env::var("HOME").unwrap_or_default();
        let toolchains = Path::new(&home).join(".rustup/toolchains");
        let stable = toolchains.join("stable-x86_64-unknown-linux-gnu/bin/rustfmt");
        let nightly = toolchains.join("nightly-x86_64-unknown-linux-gnu/bin/rustfmt");
        if stable.is_file() && nightly.is_file() {
            files = vec![stable, nightly];
        }
    }
    let scratch = tempfile::tempdir().unwrap();
    // HIVE_BENCH_DIR keeps the files (bundles, device folder) for a look afterwards.
    let kept = std::env::var_os("HIVE_BENCH_DIR").map(PathBuf::from);
    let scratch_dir = kept.as_deref().unwrap_or(scratch.path());
    std::fs::create_dir_all(scratch_dir).unwrap();
    println!("deltas (size in bytes; make and apply in ms)");
    println!(
        "  {:<28} {:>10} | {:>10} {:>8} {:>7} | {:>10} {:>8} {:>7} | {:>10} {:>8} {:>7}",
        "pair",
        "new size",
        "hivebuild",
        "make",
        "apply",
        "bsdiff",
        "make",
        "apply",
        "xdelta3",
        "make",
        "apply"
    );
    for pair in files.chunks(2) {
        let [old, new] = pair else { break };
        delta_row(old, new, scratch_dir);
    }
    if let [.., old, new] = files.as_slice() {
        delta_on_device(old, new, scratch_dir);
    }
    if gib > 0 {
        throughput(gib, scratch_dir);
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.0}", duration.as_secs_f64() * 1000.0)
}

fn timed(command: &mut Command) -> Option<Duration> {
    let started = Instant::now();
    let status = command.status().ok()?;
    status.success().then(|| started.elapsed())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Size, make and apply times of one tool (`None`: the tool is missing or failed).
type Row = Option<(u64, Duration, Duration)>;

fn medians(mut run: impl FnMut() -> Row) -> Row {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(run()?);
    }
    let size = runs[0].0;
    Some((
        size,
        median(runs.iter().map(|r| r.1).collect()),
        median(runs.iter().map(|r| r.2).collect()),
    ))
}

fn delta_row(old: &Path, new: &Path, dir: &Path) {
    let old_bytes = std::fs::read(old).unwrap();
    let new_bytes = std::fs::read(new).unwrap();
    // hivebuild: the payload a delta bundle carries, made and applied the bundle's way.
    let mut patch = Vec::new();
    let ours = medians(|| {
        let started = Instant::now();
        patch = hive_update::delta::make(&old_bytes, &new_bytes);
        let make = started.elapsed();
        let started = Instant::now();
        let result = hive_update::delta::apply_in_memory(&old_bytes, &patch).unwrap();
        let applied = started.elapsed();
        assert_eq!(result, new_bytes);
        Some((patch.len() as u64, make, applied))
    });

    let p = |name: &str| dir.join(name).display().to_string();
    let (o, n) = (old.display().to_string(), new.display().to_string());
    // A tool's run: make the patch, apply it, the patch's size.
    let tool = |make: &[&str], apply: &[&str], patch: &str| {
        let making = timed(Command::new(make[0]).args(&make[1..]))?;
        let applying = timed(Command::new(apply[0]).args(&apply[1..]))?;
        Some((std::fs::metadata(patch).ok()?.len(), making, applying))
    };
    let (bs, xd) = (p("p.bsdiff"), p("p.xd3"));
    let bsdiff = medians(|| {
        tool(
            &["bsdiff", &o, &n, &bs],
            &["bspatch", &o, &p("out.bs"), &bs],
            &bs,
        )
    });
    let xdelta = medians(|| {
        tool(
            &["xdelta3", "-e", "-9", "-f", "-s", &o, &n, &xd],
            &["xdelta3", "-d", "-f", "-s", &o, &xd, &p("out.xd3")],
            &xd,
        )
    });
    let cell = |r: Row| match r {
        Some((size, making, applying)) => {
            format!("{size:>10} {:>8} {:>7}", ms(making), ms(applying))
        }
        None => format!("{:>10} {:>8} {:>7}", "-", "-", "-"),
    };
    let name = format!(
        "{} -> {}",
        old.file_name().unwrap().to_string_lossy(),
        new.parent()
            .and_then(|p| p.parent())
            .and_then(|p| p.file_name())
            .map_or_else(
                || new.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
    );
    println!(
        "  {:<28} {:>10} | {} | {} | {}",
        name.chars().take(28).collect::<String>(),
        new_bytes.len(),
        cell(ours),
        cell(bsdiff),
        cell(xdelta),
    );
    if let (Some(ours), Some(bsdiff)) = (ours, bsdiff) {
        #[allow(clippy::cast_precision_loss)] // sizes well under 2^52
        let size = ours.0 as f64 / bsdiff.0 as f64;
        println!(
            "  {:<28} hivebuild/bsdiff: {:.2}x the size, {:.1}x the speed to make",
            "",
            size,
            bsdiff.1.as_secs_f64() / ours.1.as_secs_f64(),
        );
    }
}

fn keys() -> (PrivateKey, Envelope) {
    let key = PrivateKey::from_seed([3; 32]);
    let root = Root::new(&[key.public()], 1, "2099-01-01T00:00:00Z".into(), 1);
    let envelope = Envelope::new_signed(&root, &[&key as &dyn Signer]).unwrap();
    (key, envelope)
}

/// The apply, in a process of its own; prints its peak RSS (`VmHWM`: its own memory since
/// exec; a parent's `wait4` would count the pages it shared with the parent before exec).
fn child_apply(bundle: &str, device: &str) {
    let (_, root) = keys();
    let file = std::fs::File::open(bundle).unwrap();
    apply(
        file,
        Path::new(device),
        Some(&root),
        OffsetDateTime::now_utc(),
        &hive_update::Silent,
    )
    .unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap_or_default()
        .trim()
        .trim_end_matches(" kB");
    println!("{peak}");
}

/// A one-component bundle of the file at `path` (a delta when `base` is given).
fn request(version: u64, path: &Path, base: Option<&Path>) -> BundleRequest {
    let component = |path: &Path| ComponentFile {
        name: "payload.bin".into(),
        origin: "bench".into(),
        path: path.to_path_buf(),
        release: 1,
    };
    BundleRequest {
        hive: "bench".into(),
        hive_version: "0.1.0".into(),
        target: "bench".into(),
        hardware_id: "bench".into(),
        version,
        expires: "2099-01-01T00:00:00Z".into(),
        components: vec![component(path)],
        roots: Vec::new(),
        base: base.map(component).into_iter().collect(),
        from_version: base.map(|_| version - 1),
        only: None,
    }
}

/// Apply `bundle` to `device` in a process of its own: the time, and its peak RSS in KiB.
fn apply_in_child(bundle: &Path, device: &Path) -> (Duration, f64) {
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--child-apply",
            &bundle.display().to_string(),
            &device.display().to_string(),
        ])
        .output()
        .unwrap();
    let applied = started.elapsed();
    assert!(output.status.success(), "the apply failed");
    let peak_kib = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    (applied, peak_kib)
}

/// The last pair as a device takes it: a full bundle of the old file, then a delta bundle to
/// the new one applied in a process of its own (time and peak RSS).
fn delta_on_device(old: &Path, new: &Path, dir: &Path) {
    let (key, _) = keys();
    let signers = [&key as &dyn Signer];
    let (full, delta) = (dir.join("old.hivebundle"), dir.join("delta.hivebundle"));
    write_bundle(&request(1, old, None), &signers, &full).unwrap();
    write_bundle(&request(2, new, Some(old)), &signers, &delta).unwrap();
    let device = dir.join("delta-device");
    let _ = std::fs::remove_dir_all(&device);
    apply_in_child(&full, &device);
    let (applied, peak_kib) = apply_in_child(&delta, &device);
    println!(
        "  delta bundle of the last pair ({} bytes) applied on a device: {} ms, peak RSS {:.1} MiB",
        std::fs::metadata(&delta).unwrap().len(),
        ms(applied),
        peak_kib / 1024.0
    );
}

fn throughput(gib: u64, dir: &Path) {
    use std::io::Write as _;
    let payload = dir.join("payload.bin");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&payload).unwrap());
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..gib * 1024 {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes());
            }
            file.write_all(&block).unwrap();
        }
    }
    let bytes = gib << 30;
    let (key, _) = keys();
    let bundle = dir.join("big.hivebundle");
    let started = Instant::now();
    write_bundle(&request(1, &payload, None), &[&key as &dyn Signer], &bundle).unwrap();
    let made = started.elapsed();
    // Verify alone, in this process: what a device checks before it writes anything.
    let (_, root) = keys();
    let started = Instant::now();
    hive_update::verify(
        std::fs::File::open(&bundle).unwrap(),
        &root,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let verified = started.elapsed();
    // sha256sum of the payload, then the apply in a child (peak RSS of that child alone).
    let hashed = timed(
        Command::new("sha256sum")
            .arg(&payload)
            .stdout(std::process::Stdio::null()),
    );
    let device = dir.join("device");
    let _ = std::fs::remove_dir_all(&device);
    let (applied, peak_kib) = apply_in_child(&bundle, &device);
    let mib = f64::from(u32::try_from(bytes >> 20).expect("a size in MiB"));
    let rate = |d: Duration| mib / d.as_secs_f64();
    println!("verify and apply, {gib} GiB incompressible payload");
    println!("  bundle made in {} ms", ms(made));
    if let Some(hashed) = hashed {
        println!(
            "  sha256sum          {:>8} ms  {:>7.0} MiB/s",
            ms(hashed),
            rate(hashed)
        );
        println!(
            "  hivebuild verify   {:>8} ms  {:>7.0} MiB/s  ({:.2}x sha256sum; the stored and the result sha256, decompressing)",
            ms(verified),
            rate(verified),
            rate(verified) / rate(hashed)
        );
        println!(
            "  hivebuild apply    {:>8} ms  {:>7.0} MiB/s  ({:.2}x sha256sum; verifies the stored and the result sha256, decompresses, writes and fsyncs)",
            ms(applied),
            rate(applied),
            rate(applied) / rate(hashed)
        );
    }
    println!("  peak RSS of the apply: {:.1} MiB", peak_kib / 1024.0);
}
