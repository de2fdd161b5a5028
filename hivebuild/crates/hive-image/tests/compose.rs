//! Compose images from small inputs, read them back, check reproducibility and tampering.

use std::collections::BTreeMap;
use std::path::Path;

use hive_image::files::HiveInfo;
use hive_image::{ComposeOptions, Event, Inputs, Reporter, Silent, compose, inspect, verify};
use hive_manifest::image::{
    FileLayout, FileSource, ImageLayout, PartitionKind, PartitionLayout, TableKind,
};

fn layout(table: TableKind) -> ImageLayout {
    let step = |step: &str, file: &str| FileSource::Step {
        step: step.into(),
        file: file.into(),
    };
    ImageLayout {
        table,
        size: 100 << 20,
        hardware_id: "test-board".into(),
        partitions: vec![
            PartitionLayout {
                name: "boot".into(),
                kind: PartitionKind::Fat32 {
                    label: "HIVEBOOT".into(),
                },
                size: 64 << 20,
                bootable: true,
                files: vec![
                    FileLayout {
                        path: "config.txt".into(),
                        source: FileSource::Template {
                            path: "config.txt.j2".into(),
                        },
                    },
                    FileLayout {
                        path: "kernel.elf".into(),
                        source: step("kernel", "kernel.elf"),
                    },
                    FileLayout {
                        path: "net.elf".into(),
                        source: step("skill-net", "skill.elf"),
                    },
                ],
                content: None,
            },
            PartitionLayout {
                name: "skills-a".into(),
                kind: PartitionKind::Raw,
                size: 16 << 20,
                bootable: false,
                files: Vec::new(),
                content: Some(step("system", "system.img")),
            },
            PartitionLayout {
                name: "skills-b".into(),
                kind: PartitionKind::Raw,
                size: 16 << 20,
                bootable: false,
                files: Vec::new(),
                content: None,
            },
        ],
    }
}

fn inputs(dir: &Path) -> Inputs {
    let mut steps = BTreeMap::new();
    for (step, file, bytes) in [
        (
            "kernel",
            "kernel.elf",
            vec![0x7f, b'E', b'L', b'F', 1, 2, 3],
        ),
        ("skill-net", "skill.elf", b"net skill".to_vec()),
        ("system", "system.img", vec![0xab; 70_000]),
    ] {
        let folder = dir.join(step);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(file), bytes).unwrap();
        steps.insert(step.to_owned(), folder);
    }
    std::fs::write(
        dir.join("config.txt.j2"),
        "# {{ hive.name }} {{ hive.version }}\narm_64bit=1\n",
    )
    .unwrap();
    Inputs {
        steps,
        assets: BTreeMap::new(),
        root: dir.to_owned(),
        context: serde_json::json!({"hive": {"name": "demo", "version": "1.0.0"}}),
    }
}

fn options() -> ComposeOptions {
    ComposeOptions {
        hive: HiveInfo {
            name: "demo".into(),
            version: "1.0.0".into(),
        },
        target: "test".into(),
        file_name: "demo-test.img".into(),
        mtime: 1_700_000_000,
        sparse: true,
    }
}

fn sha256(path: &Path) -> String {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Keeps what a composition reported, one line per event.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl Reporter for Recorder {
    fn report(&self, event: &Event<'_>) {
        let line = match event {
            Event::Resolved { partitions, .. } => format!("resolved {partitions}"),
            Event::Partition { index, count, info } => {
                format!("partition {index}/{count} {}", info.name)
            }
        };
        self.0.lock().unwrap().push(line);
    }
}

#[test]
fn mbr_and_gpt_images_read_back_as_written() {
    for table in [TableKind::Mbr, TableKind::Gpt] {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("demo.img");
        let events = Recorder::default();
        let composed = compose(
            &layout(table),
            &inputs(dir.path()),
            &image,
            &options(),
            &events,
        )
        .unwrap();
        // Progress: the inputs once, then each partition in disk order.
        assert_eq!(
            *events.0.lock().unwrap(),
            [
                "resolved 3",
                "partition 1/3 boot",
                "partition 2/3 skills-a",
                "partition 3/3 skills-b"
            ]
        );
        let manifest = &composed.files;
        assert_eq!(manifest.image.table, table.as_str());
        assert!(
            composed.used < 8 << 20,
            "written sparse: {} bytes used of 100 MiB",
            composed.used
        );
        let boot = &manifest.partitions[0];
        assert_eq!((boot.index, boot.offset, boot.size), (1, 1 << 20, 64 << 20));
        let paths: Vec<&str> = boot.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["config.txt", "kernel.elf", "net.elf"]);
        assert_eq!(boot.files[0].source, "template:config.txt.j2");
        assert_eq!(
            manifest.partitions[1].content.as_ref().unwrap().size,
            70_000
        );

        let found = inspect(&image).unwrap();
        assert_eq!(found.table, table.as_str());
        assert_eq!(found.partitions.len(), 3);
        assert_eq!(found.partitions[0].kind, "fat32");
        let config = found.partitions[0]
            .files
            .iter()
            .find(|f| f.path == "config.txt")
            .unwrap();
        assert_eq!(config.size, "# demo 1.0.0\narm_64bit=1\n".len() as u64);
        assert_eq!(found.partitions[1].kind, "raw");
        assert!(
            verify(&image, manifest).unwrap().is_empty(),
            "{:?}",
            verify(&image, manifest)
        );
    }
}

#[test]
fn same_inputs_same_image_wherever_it_is_made() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (image_a, image_b) = (a.path().join("x.img"), b.path().join("nested-y.img"));
    let first = compose(
        &layout(TableKind::Mbr),
        &inputs(a.path()),
        &image_a,
        &options(),
        &Silent,
    )
    .unwrap();
    let second = compose(
        &layout(TableKind::Mbr),
        &inputs(b.path()),
        &image_b,
        &options(),
        &Silent,
    )
    .unwrap();
    assert_eq!(sha256(&image_a), sha256(&image_b));
    assert_eq!(first.files, second.files);
    // Written densely, the bytes are the same; only the space taken differs.
    let dense = b.path().join("dense.img");
    let full = compose(
        &layout(TableKind::Mbr),
        &inputs(b.path()),
        &dense,
        &ComposeOptions {
            sparse: false,
            ..options()
        },
        &Silent,
    )
    .unwrap();
    assert_eq!(sha256(&image_a), sha256(&dense));
    assert!(full.used >= 100 << 20, "dense: {} bytes used", full.used);
    // Other content: other identifiers too.
    let mut other = inputs(b.path());
    std::fs::write(other.steps["kernel"].join("kernel.elf"), b"other kernel").unwrap();
    other.context = serde_json::json!({"hive": {"name": "demo", "version": "1.0.0"}});
    let third = compose(
        &layout(TableKind::Mbr),
        &other,
        &image_b,
        &options(),
        &Silent,
    )
    .unwrap();
    assert_ne!(third.files.image.disk_id, first.files.image.disk_id);
    assert_ne!(third.files.partitions[0].id, first.files.partitions[0].id);
}

#[test]
fn a_flipped_byte_in_any_file_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("demo.img");
    let manifest = compose(
        &layout(TableKind::Gpt),
        &inputs(dir.path()),
        &image,
        &options(),
        &Silent,
    )
    .unwrap()
    .files;
    let bytes = std::fs::read(&image).unwrap();
    for (needle, named) in [
        (&b"net skill"[..], "`net.elf` differs"),
        (&b"arm_64bit"[..], "`config.txt` differs"),
        (&[0xab; 64][..], "its content differs"),
    ] {
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("file bytes are in the image");
        let mut flipped = bytes.clone();
        flipped[at + 1] ^= 0x01;
        let copy = dir.path().join("flipped.img");
        std::fs::write(&copy, &flipped).unwrap();
        let differences = verify(&copy, &manifest).unwrap();
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert!(differences[0].contains(named), "{differences:?}");
    }
}

#[test]
fn a_failed_composition_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("demo.img");
    let mut inputs = inputs(dir.path());
    inputs.steps.remove("system");
    let error = compose(
        &layout(TableKind::Mbr),
        &inputs,
        &image,
        &options(),
        &Silent,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("from step `system`, which this build does not have"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "img"))
            .count(),
        0
    );
}

#[test]
fn fsck_and_mtools_read_the_fat_partition() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let have = |tool: &str| {
        std::env::split_paths(&path).any(|d| d.join(tool).is_file())
            || Path::new("/usr/sbin").join(tool).is_file()
    };
    if !(have("fsck.vfat") && have("mdir")) {
        let message = "fsck_and_mtools_read_the_fat_partition: did not run: dosfstools and mtools are not installed (see ci/install-deps)";
        assert!(
            std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
            "{message}"
        );
        eprintln!("{message}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("demo.img");
    let manifest = compose(
        &layout(TableKind::Mbr),
        &inputs(dir.path()),
        &image,
        &options(),
        &Silent,
    )
    .unwrap()
    .files;
    let boot = &manifest.partitions[0];
    let bytes = std::fs::read(&image).unwrap();
    let partition = dir.path().join("boot.vfat");
    std::fs::write(
        &partition,
        &bytes[usize::try_from(boot.offset).unwrap()
            ..usize::try_from(boot.offset + boot.size).unwrap()],
    )
    .unwrap();
    let fsck = std::process::Command::new("/usr/sbin/fsck.vfat")
        .args(["-n", "-v"])
        .arg(&partition)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&fsck.stdout);
    assert!(
        fsck.status.success(),
        "fsck.vfat found problems:\n{report}{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert!(
        report.contains("32 bit entries"),
        "a FAT32 file system: {report}"
    );
    let listing = std::process::Command::new("mdir")
        .args(["-b", "-/", "-i"])
        .arg(format!("{}@@{}", image.display(), boot.offset))
        .arg("::")
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("::/config.txt") && listing.contains("::/net.elf"),
        "{listing}"
    );
}
