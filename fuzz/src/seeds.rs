//! The seed corpora in `seeds/TARGET/`, made from the fixture (fixed keys, clock and
//! releases) so that they can be written again and checked (`cargo run --example seeds`; the
//! replay test fails when the committed ones differ). The manifest and target seeds are the
//! repository's own files and test cases, read where they are ([`EXTRA`]).

use std::collections::BTreeMap;
use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};

use crate::fixture::{self, BundleOptions};
use crate::image::Sparse;
use crate::tuf::Files;

/// Seed folders of the repository's own, by target (relative to its root).
pub const EXTRA: &[(&str, &[&str])] = &[
    (
        "manifest",
        &["manifests", "hivebuild/crates/hive-manifest/tests/invalid"],
    ),
    (
        "target",
        &[
            "targets",
            "hivebuild/crates/hive-manifest/tests/invalid-targets",
        ],
    ),
    ("pdf", &["samples"]),
];

/// Every folder of seeds for `target`: `seeds/TARGET` (when there is one), then [`EXTRA`]'s.
pub fn folders(target: &str) -> Vec<PathBuf> {
    let own = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let extra = EXTRA
        .iter()
        .filter(|(t, _)| *t == target)
        .flat_map(|(_, dirs)| dirs.iter().map(|d| crate::repo_root().join(d)));
    own.is_dir()
        .then_some(own)
        .into_iter()
        .chain(extra)
        .collect()
}

pub type Seeds = Vec<(&'static str, Vec<(&'static str, Vec<u8>)>)>;

/// The made seeds, by target: file name → bytes.
pub fn made() -> Seeds {
    vec![
        ("bundle", bundles()),
        ("delta", deltas()),
        ("tuf", repositories()),
        ("image", images()),
        ("protocol", messages()),
        ("pdf", pdfs()),
        ("net", datagrams()),
    ]
}

fn bundles() -> Vec<(&'static str, Vec<u8>)> {
    let delta = BundleOptions {
        delta: true,
        ..BundleOptions::default()
    };
    let only = BundleOptions {
        only: Some("loader.img".into()),
        delta: true,
        ..BundleOptions::default()
    };
    let rotate = BundleOptions {
        rotate: true,
        ..BundleOptions::default()
    };
    vec![
        ("full-v1", fixture::base_bundle().to_vec()),
        ("delta-v2", fixture::bundle(2, 2, &delta)),
        ("only-v2", fixture::bundle(2, 2, &only)),
        ("rotated-v3", fixture::bundle(2, 3, &rotate)),
    ]
}

fn deltas() -> Vec<(&'static str, Vec<u8>)> {
    let release = fixture::release(2);
    let new = &release[1].1;
    let applied = [
        &[0u8][..],
        &hive_update::delta::make(fixture::delta_base(), new),
    ]
    .concat();
    let old = b"the quick brown fox jumps over the lazy dog".repeat(3);
    let mut changed = old.clone();
    changed[40..50].copy_from_slice(b"0123456789");
    changed.extend_from_slice(b"and more");
    let split = u16::try_from(old.len()).unwrap().to_le_bytes();
    let made = [&[1u8][..], &split, &old, &changed].concat();
    vec![("applied", applied), ("made", made)]
}

/// Repositories `publish` wrote: one release, then a key rotation.
fn repositories() -> Vec<(&'static str, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("a folder");
    let repo = dir.path().join("repo");
    let keys = fixture::keys();
    let publish = |bundle: &[u8], keys: &[hive_sign::PrivateKey]| {
        let path = dir.path().join("bundle.hivebundle");
        std::fs::write(&path, bundle).expect("a bundle written");
        hive_update::repo::publish(
            &repo,
            &path,
            Some(fixture::trusted_root()),
            &fixture::signers(keys),
            fixture::EXPIRES,
            fixture::now(),
        )
        .expect("published");
    };
    publish(fixture::base_bundle(), &keys);
    let first = files(&repo);
    let rotate = BundleOptions {
        rotate: true,
        ..BundleOptions::default()
    };
    publish(&fixture::bundle(2, 3, &rotate), &fixture::rotated_keys());
    vec![("one-release", first), ("rotated", files(&repo))]
}

fn files(repo: &Path) -> Vec<u8> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(repo.join("metadata")).expect("the metadata folder") {
        let path = entry.expect("an entry").path();
        let name = format!("metadata/{}", path.file_name().unwrap().to_string_lossy());
        files.insert(name, std::fs::read(&path).expect("metadata read"));
    }
    Files(files).print()
}

/// An MBR disk with one FAT32 partition holding two files and a folder.
fn images() -> Vec<(&'static str, Vec<u8>)> {
    const START: u64 = 2048 * 512;
    const PARTITION: u64 = 40 << 20;
    let mut image = vec![0u8; usize::try_from(START + PARTITION).unwrap()];
    {
        let mut disk = Cursor::new(&mut image[..]);
        let mut mbr =
            mbrman::MBR::new_from(&mut disk, 512, [0x48, 0x49, 0x56, 0x45]).expect("an MBR");
        mbr[1] = mbrman::MBRPartitionEntry {
            boot: mbrman::BOOT_INACTIVE,
            first_chs: mbrman::CHS::empty(),
            sys: 0x0c,
            last_chs: mbrman::CHS::empty(),
            starting_lba: u32::try_from(START / 512).unwrap(),
            sectors: u32::try_from(PARTITION / 512).unwrap(),
        };
        mbr.write_into(&mut disk).expect("the MBR written");
    }
    {
        let partition = &mut image[usize::try_from(START).unwrap()..];
        let options = fatfs::FormatVolumeOptions::new()
            .fat_type(fatfs::FatType::Fat32)
            .volume_id(0x4849_5645);
        fatfs::format_volume(Cursor::new(&mut *partition), options).expect("FAT32 formatted");
        let fs = fatfs::FileSystem::new(Cursor::new(&mut *partition), fatfs::FsOptions::new())
            .expect("FAT32 opened");
        let root = fs.root_dir();
        root.create_file("config.txt")
            .and_then(|mut f| f.write_all(b"arm_64bit=1\n"))
            .expect("a file");
        let boot = root.create_dir("overlays").expect("a folder");
        let mut file = boot.create_file("loader.img").expect("a file");
        file.write_all(&fixture::noise(3, 3000)).expect("written");
        drop((file, boot, root));
        fs.unmount().expect("unmounted");
    }
    vec![("mbr-fat32", Sparse::of(&image).encode())]
}

/// One of each message, delivery and a stream, after the byte that chooses what they are.
fn messages() -> Vec<(&'static str, Vec<u8>)> {
    use brain::protocol::{Message, Routed, SkillState};
    let message = |m: Message| [&[0u8][..], &m.encode()].concat();
    let routed = |r: Routed| [&[1u8][..], &r.encode()].concat();
    let delivery = [
        &[2u8][..],
        &[10, 0, 2, 2, 0x10, 0x05, 0x03],
        &[7u8; 32],
        b"hello from a peer",
    ]
    .concat();
    let stream: Vec<u8> = [
        Message::Ready,
        Message::Pong(7),
        Message::Done(b"text".to_vec()),
    ]
    .iter()
    .flat_map(|m| m.frame().expect("a frame"))
    .collect();
    vec![
        ("ping", message(Message::Ping(1))),
        (
            "job",
            message(Message::Job(b"extract samples/report.pdf".to_vec())),
        ),
        ("error", message(Message::Error("no such file".into()))),
        (
            "routed-skill",
            routed(Routed::Skill {
                skill: "pdf".into(),
                message: Message::Ready,
            }),
        ),
        (
            "routed-notice",
            routed(Routed::Notice {
                skill: "net".into(),
                state: SkillState::Faulted,
            }),
        ),
        (
            "routed-ask",
            routed(Routed::Ask {
                id: 3,
                text: "what is in the report?".into(),
            }),
        ),
        ("delivery", delivery),
        ("stream", [&[3u8][..], &stream].concat()),
    ]
}

/// A PDF whose content stream is plain, one whose stream is Flate-compressed, and that
/// stream's zlib data alone (for the inflater).
fn pdfs() -> Vec<(&'static str, Vec<u8>)> {
    let content =
        b"BT /F1 12 Tf 72 720 Td (Hello from a seed) Tj 0 -14 Td [(Kerned) -120 (text)] TJ ET\n";
    let pdf = |filter: &str, stream: &[u8]| {
        let mut out = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n".to_vec();
        out.extend_from_slice(
            format!("4 0 obj << /Length {}{filter} >>\nstream\n", stream.len()).as_bytes(),
        );
        out.extend_from_slice(stream);
        out.extend_from_slice(b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        out
    };
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&content.repeat(4)).expect("compressed");
    let zlib = zlib.finish().expect("compressed");
    vec![
        ("plain.pdf", pdf("", content)),
        ("flate.pdf", pdf(" /Filter /FlateDecode", &zlib)),
        ("stream.zlib", zlib),
    ]
}

/// One datagram of each opcode, a signed MESSAGE's layout, and one too long.
fn datagrams() -> Vec<(&'static str, Vec<u8>)> {
    use brain::peer;
    let message = [
        &[7u8; peer::KEY][..],
        &[9u8; peer::SIGNATURE],
        b"hello, hive",
    ]
    .concat();
    let mut too_long = peer::datagram(peer::PING, b"x");
    too_long[4..6].copy_from_slice(&300u16.to_be_bytes());
    vec![
        ("hello", peer::datagram(peer::HELLO, b"")),
        ("ping", peer::datagram(peer::PING, b"are you there")),
        ("message", peer::datagram(peer::MESSAGE, &message)),
        (
            "answer",
            peer::datagram(peer::REPLY | peer::MESSAGE, &message),
        ),
        ("stats", peer::datagram(peer::STATS, b"")),
        ("too-long", too_long),
    ]
}
