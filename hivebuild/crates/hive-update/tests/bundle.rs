//! Bundles end to end: write, apply to a device folder, and a tamper corpus in which every
//! case is refused with its own error and leaves the device as it was (but for the inactive
//! slot, which an update may always scribble on).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::copy_tree;
use hive_sign::{Envelope, PrivateKey, Root, Signer};
use hive_update::format::{BLOCK, Writer};
use hive_update::metadata::{self, METADATA_MEMBER};
use hive_update::{
    BundleRequest, ComponentFile, Event, Reporter, Silent, UpdateError, apply, write_bundle,
};
use sha2::Digest as _;
use time::OffsetDateTime;

const FAR: &str = "2099-01-01T00:00:00Z";

struct Fixture {
    dir: tempfile::TempDir,
    keys: Vec<PrivateKey>,
    root: Envelope,
}

impl Fixture {
    /// Two release keys, threshold 2.
    fn new() -> Self {
        let keys = vec![
            PrivateKey::from_seed([1; 32]),
            PrivateKey::from_seed([2; 32]),
        ];
        let publics: Vec<_> = keys.iter().map(PrivateKey::public).collect();
        let root = Root::new(&publics, 2, FAR.into(), 1);
        let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
        let root = Envelope::new_signed(&root, &signers).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            keys,
            root,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn signers(&self) -> Vec<&dyn Signer> {
        self.keys.iter().map(|k| k as &dyn Signer).collect()
    }

    /// A release: components with these contents.
    fn release(&self, name: &str, files: &[(&str, &[u8])]) -> Vec<ComponentFile> {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        files
            .iter()
            .map(|(file, bytes)| {
                std::fs::write(dir.join(file), bytes).unwrap();
                ComponentFile {
                    name: (*file).into(),
                    origin: format!("step:test/{file}"),
                    path: dir.join(file),
                    release: 1,
                }
            })
            .collect()
    }

    fn request(version: u64, components: Vec<ComponentFile>) -> BundleRequest {
        BundleRequest {
            hive: "demo".into(),
            hive_version: "0.1.0".into(),
            target: "rpi4".into(),
            hardware_id: "rpi4b".into(),
            version,
            expires: FAR.into(),
            components,
            roots: Vec::new(),
            base: Vec::new(),
            from_version: None,
            only: None,
        }
    }

    fn bundle(&self, name: &str, version: u64, files: &[(&str, &[u8])]) -> PathBuf {
        let out = self.path(&format!("{name}.hivebundle"));
        let components = self.release(name, files);
        write_bundle(&Self::request(version, components), &self.signers(), &out).unwrap();
        out
    }

    fn device(&self) -> PathBuf {
        self.path("device")
    }

    fn apply(&self, bundle: &Path) -> Result<hive_update::Applied, UpdateError> {
        self.apply_bytes(&std::fs::read(bundle).unwrap())
    }

    fn apply_bytes(&self, bytes: &[u8]) -> Result<hive_update::Applied, UpdateError> {
        apply(
            bytes,
            &self.device(),
            Some(&self.root),
            OffsetDateTime::now_utc(),
            &Silent,
        )
    }
}

/// Keeps what applying reported, one line per event.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl Reporter for Recorder {
    fn report(&self, event: &Event<'_>) {
        let line = match event {
            Event::Verified {
                version,
                kind,
                components,
            } => format!(
                "verified {version} {} ({components} components)",
                kind.as_str()
            ),
            Event::Staged {
                slot,
                component,
                how,
                ..
            } => format!("staged {component} in {slot} ({how})"),
            Event::Switched { slot, version } => format!("switched to {slot} (version {version})"),
        };
        self.0.lock().unwrap().push(line);
    }
}

/// Bytes that compress somewhat, different for each seed.
fn big(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let [low, .., high] = (i as u64).to_le_bytes();
            low.wrapping_mul(seed)
                .wrapping_add(high ^ (i / 251).to_le_bytes()[0])
        })
        .collect()
}

/// Every file of the device folder but the inactive slot's, with its bytes.
fn outside_inactive(device: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let active = std::fs::read_to_string(device.join("active")).unwrap_or_default();
    let inactive = match active.trim() {
        "a" => "slot-b",
        _ => "slot-a",
    };
    let mut files = BTreeMap::new();
    if !device.exists() {
        return files;
    }
    for entry in walkdir(device) {
        let relative = entry.strip_prefix(device).unwrap().to_owned();
        if relative.starts_with(inactive) {
            continue;
        }
        files.insert(relative, std::fs::read(&entry).unwrap());
    }
    files
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_full_bundle_installs_and_the_next_goes_to_the_other_slot() {
    let f = Fixture::new();
    let loader = big(7, 300_000);
    let first = f.bundle(
        "v1",
        1,
        &[("loader.img", &loader), ("config.txt", b"arm_64bit=1\n")],
    );
    let applied = f.apply(&first).unwrap();
    assert!(applied.provisioned);
    assert_eq!((applied.slot, applied.version), ('a', 1));
    assert_eq!(
        std::fs::read(f.device().join("slot-a/loader.img")).unwrap(),
        loader
    );
    assert_eq!(
        std::fs::read_to_string(f.device().join("active")).unwrap(),
        "a\n"
    );

    let loader2 = big(9, 310_000);
    let second = f.bundle(
        "v2",
        2,
        &[("loader.img", &loader2), ("config.txt", b"arm_64bit=1\n")],
    );
    let events = Recorder::default();
    let applied = apply(
        std::fs::read(&second).unwrap().as_slice(),
        &f.device(),
        None,
        OffsetDateTime::now_utc(),
        &events,
    )
    .unwrap();
    assert_eq!((applied.slot, applied.version), ('b', 2));
    // Progress: verified before anything is written, each component, then the switch.
    assert_eq!(
        *events.0.lock().unwrap(),
        [
            "verified 2 full (2 components)",
            "staged config.txt in b (full)",
            "staged loader.img in b (full)",
            "switched to b (version 2)"
        ]
    );
    assert_eq!(
        std::fs::read(f.device().join("slot-b/loader.img")).unwrap(),
        loader2
    );
    // The first is a replay now.
    assert!(matches!(
        f.apply(&first),
        Err(UpdateError::NotNewer {
            installed: 2,
            bundle: 1
        })
    ));
}

#[test]
fn a_delta_carries_only_changes_and_yields_what_a_full_install_does() {
    let f = Fixture::new();
    let mut loader2 = big(7, 400_000);
    let v1_files: [(&str, &[u8]); 3] = [
        ("loader.img", &big(7, 400_000)),
        ("config.txt", b"arm_64bit=1\n"),
        ("old.dtb", b"gone in v2"),
    ];
    loader2[1000..1100].fill(0xaa); // a small change
    loader2.extend_from_slice(b"appended");
    let v2_files: [(&str, &[u8]); 3] = [
        ("loader.img", &loader2),
        ("config.txt", b"arm_64bit=1\n"),
        ("new.bin", b"new in v2"),
    ];
    let full1 = f.bundle("v1", 1, &v1_files);
    let v1 = f.release("v1", &v1_files);
    let v2 = f.release("v2", &v2_files);
    let mut request = Fixture::request(2, v2);
    request.base = v1;
    request.from_version = Some(1);
    let delta = f.path("delta.hivebundle");
    let signed = write_bundle(&request, &f.signers(), &delta).unwrap();
    let carried: Vec<(&str, &str)> = signed
        .custom
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.carried.as_str()))
        .collect();
    assert_eq!(
        carried,
        [
            ("config.txt", "unchanged"),
            ("loader.img", "delta"),
            ("new.bin", "full")
        ]
    );
    let delta_size = std::fs::metadata(&delta).unwrap().len();
    assert!(
        delta_size < 8_000,
        "a 100-byte change made a {delta_size}-byte bundle"
    );

    // The delta needs the version it was made against.
    assert!(matches!(f.apply(&delta), Err(UpdateError::NeedsFull)));
    f.apply(&full1).unwrap();
    let applied = f.apply(&delta).unwrap();
    assert_eq!((applied.slot, applied.kept.len()), ('b', 1));
    let full2 = f.bundle("v2full", 2, &v2_files);
    let other = Fixture::new();
    other.apply(&full2).unwrap();
    for name in ["loader.img", "config.txt", "new.bin"] {
        assert_eq!(
            std::fs::read(f.device().join("slot-b").join(name)).unwrap(),
            std::fs::read(other.device().join("slot-a").join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(!f.device().join("slot-b/old.dtb").exists());
}

/// A delta that is signed but does not make what the metadata says (a writer's bug, or a
/// hostile signer): each corruption is refused, and the device is as it was.
#[test]
fn a_signed_delta_that_does_not_apply_changes_nothing() {
    let f = Fixture::new();
    let v1 = big(7, 60_000);
    let mut v2 = v1.clone();
    v2[20_000..20_050].fill(0x55);
    f.apply(&f.bundle("v1", 1, &[("loader.img", &v1)])).unwrap();
    let mut request = Fixture::request(2, f.release("v2", &[("loader.img", &v2)]));
    request.base = f.release("v1", &[("loader.img", &v1)]);
    request.from_version = Some(1);
    let path = f.path("delta.hivebundle");
    write_bundle(&request, &f.signers(), &path).unwrap();
    let bundle = std::fs::read(&path).unwrap();
    let before = outside_inactive(&f.device());
    let pristine = f.path("pristine");
    copy_tree(&f.device(), &pristine);
    let list = members(&bundle);
    let payload = list
        .iter()
        .position(|(name, _)| name == "payloads/loader.img.delta")
        .unwrap();
    let original = list[payload].1.clone();
    let mut refused = 0;
    for offset in (0..original.len()).step_by(3) {
        let mut corrupt = original.clone();
        corrupt[offset] ^= 1 << (offset % 8);
        let mut list = list.clone();
        list[payload].1 = corrupt.clone();
        let resigned = resigned(&assemble(&list), &f.signers(), |s| {
            let target = s.targets.get_mut("payloads/loader.img.delta").unwrap();
            target.length = corrupt.len() as u64;
            let hash = sha2::Sha256::digest(&corrupt);
            target.hashes.insert("sha256".into(), format!("{hash:x}"));
        });
        match f.apply_bytes(&resigned) {
            Err(UpdateError::Delta { .. } | UpdateError::Hash { .. }) => refused += 1,
            Err(error) => panic!("a flip at byte {offset} of the delta: {error}"),
            // A flip zstd does not depend on (a frame's window size, say) may still make
            // the right bytes: that is all a device asks of it.
            Ok(_) => {
                let made = std::fs::read(f.device().join("slot-b/loader.img")).unwrap();
                assert_eq!(made, v2, "a flip at byte {offset} made other bytes");
                copy_tree(&pristine, &f.device());
            }
        }
    }
    assert!(refused * 10 > original.len() / 3 * 9, "{refused} refused");
    assert_eq!(outside_inactive(&f.device()), before);
    f.apply_bytes(&bundle).unwrap();
    assert_eq!(
        std::fs::read(f.device().join("slot-b/loader.img")).unwrap(),
        v2
    );
    let slot: Vec<_> = walkdir(&f.device().join("slot-b"));
    assert_eq!(
        slot.len(),
        2,
        "the component and slot.json, no delta left: {slot:?}"
    );
}

#[test]
fn a_delta_against_another_base_is_refused() {
    let f = Fixture::new();
    let a: [(&str, &[u8]); 1] = [("loader.img", &big(3, 50_000))];
    let b: [(&str, &[u8]); 1] = [("loader.img", &big(4, 50_000))];
    let c: [(&str, &[u8]); 1] = [("loader.img", &big(5, 50_000))];
    f.apply(&f.bundle("a", 1, &a)).unwrap();
    let mut request = Fixture::request(3, f.release("c", &c));
    request.base = f.release("b", &b);
    request.from_version = Some(1);
    let delta = f.path("wrong-base.hivebundle");
    write_bundle(&request, &f.signers(), &delta).unwrap();
    assert!(matches!(
        f.apply(&delta),
        Err(UpdateError::BaseMismatch { .. })
    ));
}

#[test]
fn an_unprovisioned_device_needs_a_trust_root() {
    let f = Fixture::new();
    let bundle = f.bundle("v1", 1, &[("a.bin", b"a")]);
    let error = apply(
        std::fs::File::open(&bundle).unwrap(),
        &f.device(),
        None,
        OffsetDateTime::now_utc(),
        &Silent,
    )
    .unwrap_err();
    assert!(matches!(error, UpdateError::NotProvisioned), "{error}");
}

/// Every single-bit flip in the headers, the metadata and the padding, and a sample of the
/// payload bytes, is refused, and nothing outside the inactive slot changes.
#[test]
fn bit_flips_anywhere_are_refused() {
    let f = Fixture::new();
    let installed = f.bundle("v1", 1, &[("loader.img", &big(3, 5000))]);
    f.apply(&installed).unwrap();
    let bundle = std::fs::read(f.bundle("v2", 2, &[("loader.img", &big(5, 5000))])).unwrap();
    let before = outside_inactive(&f.device());
    let mut tried = 0;
    for offset in 0..bundle.len() {
        // Payload bytes are covered by hashes like their neighbours: one in 7 is enough.
        let in_header_or_metadata = offset < 4096 || offset >= bundle.len() - 2048;
        if !in_header_or_metadata && offset % 7 != 0 {
            continue;
        }
        let mut copy = bundle.clone();
        copy[offset] ^= 1 << (offset % 8);
        let result = f.apply_bytes(&copy);
        assert!(result.is_err(), "a flip at byte {offset} was accepted");
        tried += 1;
    }
    assert!(tried > 1000);
    assert_eq!(
        outside_inactive(&f.device()),
        before,
        "a refused bundle changed the device"
    );
    // And the untouched bundle still applies.
    f.apply_bytes(&bundle).unwrap();
}

#[test]
fn truncation_anywhere_is_refused() {
    let f = Fixture::new();
    let bundle = std::fs::read(f.bundle("v1", 1, &[("loader.img", &big(3, 20_000))])).unwrap();
    for cut in (0..bundle.len())
        .step_by(97)
        .chain([bundle.len() - 1, bundle.len() - 512])
    {
        let error = f.apply_bytes(&bundle[..cut]).unwrap_err();
        assert!(
            matches!(
                error,
                UpdateError::Truncated { .. } | UpdateError::Empty | UpdateError::Payload { .. }
            ),
            "cut at {cut}: {error}"
        );
        assert!(!f.device().join("active").exists());
    }
    let mut longer = bundle.clone();
    longer.push(0);
    assert!(matches!(
        f.apply_bytes(&longer).unwrap_err(),
        UpdateError::TrailingData { .. }
    ));
}

/// Re-sign the metadata of `bundle` after `change`, with `signers`, keeping the payloads.
fn resigned(
    bundle: &[u8],
    signers: &[&dyn Signer],
    change: impl FnOnce(&mut hive_update::BundleSigned),
) -> Vec<u8> {
    let members = members(bundle);
    let (_, mut signed) = metadata::parse(&members[0].1).unwrap();
    change(&mut signed);
    let envelope = Envelope::new_signed(&signed, signers).unwrap();
    let mut list = members;
    list[0].1 = metadata::to_bytes(&envelope);
    assemble(&list)
}

fn members(bundle: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut reader = hive_update::format::Reader::new(bundle);
    let mut out = Vec::new();
    while let Some(member) = reader.next_member().unwrap() {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut reader.data(member.size), &mut data).unwrap();
        reader.end_member(member.size).unwrap();
        out.push((member.name, data));
    }
    out
}

fn assemble(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    for (name, data) in members {
        writer
            .member(name, data.len() as u64, |w| {
                std::io::Write::write_all(w, data)?;
                Ok(data.len() as u64)
            })
            .unwrap();
    }
    writer.finish().unwrap()
}

#[test]
fn signatures_keys_and_thresholds() {
    let f = Fixture::new();
    let bundle = std::fs::read(f.bundle("v1", 1, &[("a.bin", b"aaaa")])).unwrap();
    let stranger = PrivateKey::from_seed([9; 32]);
    let cases: Vec<(&str, Vec<&dyn Signer>)> = vec![
        ("a wrong key", vec![&f.keys[0], &stranger]),
        ("below threshold", vec![&f.keys[0]]),
        ("one key twice", vec![&f.keys[0], &f.keys[0]]),
    ];
    for (case, signers) in cases {
        let copy = resigned(&bundle, &signers, |_| {});
        let error = f.apply_bytes(&copy).unwrap_err();
        assert!(
            matches!(error, UpdateError::Signatures(_)),
            "{case}: {error}"
        );
    }
}

#[test]
fn expiry_device_identity_and_release_counters() {
    let f = Fixture::new();
    let bundle = std::fs::read(f.bundle("v1", 1, &[("a.bin", b"aaaa")])).unwrap();
    let signers = f.signers();
    let expired = resigned(&bundle, &signers, |s| {
        s.expires = "2001-01-01T00:00:00Z".into();
    });
    assert!(matches!(
        f.apply_bytes(&expired).unwrap_err(),
        UpdateError::Expired(_)
    ));

    f.apply_bytes(&bundle).unwrap();
    let other_board = resigned(&bundle, &signers, |s| {
        s.version = 5;
        s.custom.hardware_id = "rpi5".into();
    });
    assert!(matches!(
        f.apply_bytes(&other_board).unwrap_err(),
        UpdateError::WrongDevice {
            what: "hardware id",
            ..
        }
    ));
    let higher = resigned(&bundle, &signers, |s| {
        s.version = 3;
        s.custom.components[0].release = 7;
    });
    f.apply_bytes(&higher).unwrap();
    let lower = resigned(&bundle, &signers, |s| {
        s.version = 4;
        s.custom.components[0].release = 6;
    });
    assert!(matches!(
        f.apply_bytes(&lower).unwrap_err(),
        UpdateError::ReleaseBack {
            installed: 7,
            bundle: 6,
            ..
        }
    ));
}

#[test]
fn a_payload_that_decompresses_past_its_declared_size() {
    let f = Fixture::new();
    let bundle = std::fs::read(f.bundle("v1", 1, &[("a.bin", &big(3, 10_000))])).unwrap();
    let copy = resigned(&bundle, &f.signers(), |s| {
        s.custom.components[0].length = 9_000;
    });
    assert!(matches!(
        f.apply_bytes(&copy).unwrap_err(),
        UpdateError::TooLarge {
            declared: 9_000,
            ..
        }
    ));
}

/// Sizes a stranger can claim (docs/fuzzing.md, "Bounds"): a metadata member of 2^63 bytes
/// or of 8 GiB, a payload of 2^63 bytes, a component whose result is 2^63 bytes. Each is
/// refused from the header or the signed metadata, before anything of that size is read or
/// held.
#[test]
fn claimed_sizes_are_refused_before_they_are_read() {
    let f = Fixture::new();
    let bundle = std::fs::read(f.bundle("v1", 1, &[("a.bin", &big(3, 10_000))])).unwrap();
    let claiming = |member: usize, size: u64| {
        let mut copy = bundle.clone();
        let at = members(&bundle)[..member]
            .iter()
            .map(|(_, data)| BLOCK + data.len().div_ceil(BLOCK) * BLOCK)
            .sum::<usize>();
        let name = &members(&bundle)[member].0;
        // The header the writer would make for that size.
        let header = hive_update::format::header(name, size).unwrap();
        copy[at..at + BLOCK].copy_from_slice(&header);
        copy
    };
    // 2^63 does not fit the header's octal field: not a size the reader takes.
    let error = f.apply_bytes(&claiming(0, 1 << 63)).unwrap_err();
    assert!(matches!(error, UpdateError::NonCanonical { .. }), "{error}");
    let error = f.apply_bytes(&claiming(1, 1 << 63)).unwrap_err();
    assert!(matches!(error, UpdateError::NonCanonical { .. }), "{error}");
    // 8 GiB - 1 of metadata: more than it may have.
    let error = f.apply_bytes(&claiming(0, (1 << 33) - 1)).unwrap_err();
    assert!(error.to_string().contains("at most 1048576"), "{error}");
    // A payload member longer than its signed length.
    let error = f.apply_bytes(&claiming(1, (1 << 33) - 1)).unwrap_err();
    assert!(!matches!(error, UpdateError::Io(_)), "{error}");
    // A signed result of 2^63 bytes: the payload ends long before; nothing that large is held.
    let copy = resigned(&bundle, &f.signers(), |s| {
        s.custom.components[0].length = 1 << 63;
    });
    assert!(f.apply_bytes(&copy).is_err());
    assert!(!f.device().join("active").exists());
}

/// A corpus case: its name, the bundle, and the error it must get.
type Case = (&'static str, Vec<u8>, fn(&UpdateError) -> bool);

/// Raw headers a canonical writer never makes: traversal, absolute names, links, devices.
#[test]
fn hostile_members_are_named() {
    let f = Fixture::new();
    let bundle = std::fs::read(f.bundle("v1", 1, &[("a.bin", b"aaaa")])).unwrap();
    let with_header = |edit: &dyn Fn(&mut tar::Header)| {
        let mut copy = bundle.clone();
        let mut header = tar::Header::new_ustar();
        header.set_path("metadata.json").unwrap();
        header.set_size(0);
        edit(&mut header);
        header.set_cksum();
        copy[..BLOCK].copy_from_slice(header.as_bytes());
        copy
    };
    let set_name = |name: &'static str| {
        move |h: &mut tar::Header| {
            h.as_old_mut().name = [0; 100];
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        }
    };
    let cases: Vec<Case> = vec![
        ("../", with_header(&set_name("../etc/passwd")), |e| {
            matches!(e, UpdateError::TraversingMember(_))
        }),
        ("absolute", with_header(&set_name("/etc/passwd")), |e| {
            matches!(e, UpdateError::AbsoluteMember(_))
        }),
        (
            "symlink",
            with_header(&|h| h.set_entry_type(tar::EntryType::Symlink)),
            |e| matches!(e, UpdateError::LinkMember(_)),
        ),
        (
            "device",
            with_header(&|h| h.set_entry_type(tar::EntryType::Char)),
            |e| matches!(e, UpdateError::DeviceMember(_)),
        ),
        (
            "hard link",
            with_header(&|h| h.set_entry_type(tar::EntryType::Link)),
            |e| matches!(e, UpdateError::LinkMember(_)),
        ),
    ];
    for (case, bytes, expected) in cases {
        let error = f.apply_bytes(&bytes).unwrap_err();
        assert!(expected(&error), "{case}: {error}");
        assert!(!f.device().join("active").exists(), "{case}");
    }
    // Members out of order, duplicated or unknown.
    let list = members(&bundle);
    let swapped = assemble(&[list[1].clone(), list[0].clone()]);
    assert!(matches!(
        f.apply_bytes(&swapped).unwrap_err(),
        UpdateError::UnexpectedMember { .. }
    ));
    let doubled = assemble(&[list[0].clone(), list[1].clone(), list[1].clone()]);
    assert!(matches!(
        f.apply_bytes(&doubled).unwrap_err(),
        UpdateError::UnexpectedMember { .. }
    ));
    assert_eq!(list[0].0, METADATA_MEMBER);
}

/// Incompressible bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Not a test by itself: the child that `killed_during_apply_the_device_boots_the_old_slot`
/// runs (with `--ignored`) and kills.
#[test]
#[ignore = "the child process of killed_during_apply_the_device_boots_the_old_slot"]
fn child_apply() {
    let bundle = std::env::var("HIVE_UPDATE_TEST_BUNDLE").expect("run by its parent test");
    let device = std::env::var("HIVE_UPDATE_TEST_DEVICE").expect("run by its parent test");
    let file = std::fs::File::open(bundle).unwrap();
    apply(
        file,
        Path::new(&device),
        None,
        OffsetDateTime::now_utc(),
        &Silent,
    )
    .unwrap();
}

#[test]
fn killed_during_apply_the_device_boots_the_old_slot() {
    killed_during_apply(&noise(1, 1 << 20), &noise(2, 24 << 20), false);
}

#[test]
fn killed_during_a_delta_the_device_boots_the_old_slot() {
    let old = noise(3, 24 << 20);
    let mut new = old.clone();
    for at in (0..new.len()).step_by(4096) {
        new[at] = new[at].wrapping_add(1);
    }
    new.splice(1000..1000, noise(4, 5000));
    killed_during_apply(&old, &new, true);
}

/// SIGKILL an apply of `old` → `new` (a delta or a full bundle) at ten points: the device
/// must boot the old slot, intact, or the new one, whole.
fn killed_during_apply(old: &[u8], new: &[u8], delta: bool) {
    let f = Fixture::new();
    f.apply(&f.bundle("v1", 1, &[("loader.img", old)])).unwrap();
    let provisioned = f.path("provisioned");
    copy_tree(&f.device(), &provisioned);
    let bundle = if delta {
        let mut request = Fixture::request(2, f.release("v2", &[("loader.img", new)]));
        request.base = f.release("v1", &[("loader.img", old)]);
        request.from_version = Some(1);
        let path = f.path("v2.hivebundle");
        write_bundle(&request, &f.signers(), &path).unwrap();
        path
    } else {
        f.bundle("v2", 2, &[("loader.img", new)])
    };

    let run = |device: &Path, kill_after: Option<std::time::Duration>| -> bool {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "child_apply",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("HIVE_UPDATE_TEST_BUNDLE", &bundle)
            .env("HIVE_UPDATE_TEST_DEVICE", device)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if let Some(delay) = kill_after {
            std::thread::sleep(delay);
            let _ = child.kill(); // SIGKILL
        }
        child.wait().unwrap().success()
    };
    // How long an apply takes, uninterrupted.
    let timing = f.path("timing");
    copy_tree(&provisioned, &timing);
    let started = std::time::Instant::now();
    assert!(run(&timing, None));
    let whole = started.elapsed();

    let mut interrupted = 0;
    for i in 0..10u32 {
        let device = f.path(&format!("killed-{i}"));
        copy_tree(&provisioned, &device);
        // Whether the child finished first does not matter: the state must be one of the two.
        run(&device, Some(whole * i / 9));
        let active = std::fs::read_to_string(device.join("active")).unwrap();
        match active.trim() {
            "a" => {
                interrupted += 1;
                assert_eq!(
                    std::fs::read(device.join("slot-a/loader.img")).unwrap(),
                    old
                );
                // The next apply, uninterrupted, completes the update.
                let again = apply(
                    std::fs::File::open(&bundle).unwrap(),
                    &device,
                    None,
                    OffsetDateTime::now_utc(),
                    &Silent,
                )
                .unwrap();
                assert_eq!(again.slot, 'b');
            }
            // The kill came after the switch: the new slot is whole.
            "b" => {}
            other => panic!("`active` is `{other}` after a kill at step {i}"),
        }
        assert_eq!(
            std::fs::read(device.join("slot-b/loader.img")).unwrap(),
            new
        );
    }
    assert!(
        interrupted >= 3,
        "too few kills landed inside the apply ({interrupted})"
    );
}

/// A bundle carries a newer root (signed by the old threshold and the new); the device walks
/// to it, and from then on bundles signed by the old keys alone are refused.
#[test]
fn a_bundle_rotates_the_trust_root() {
    let f = Fixture::new();
    f.apply(&f.bundle("v1", 1, &[("a.bin", b"one")])).unwrap();
    let new_keys = [
        PrivateKey::from_seed([5; 32]),
        PrivateKey::from_seed([6; 32]),
    ];
    let publics: Vec<_> = new_keys.iter().map(PrivateKey::public).collect();
    let both: Vec<&dyn Signer> = f
        .keys
        .iter()
        .chain(&new_keys)
        .map(|k| k as &dyn Signer)
        .collect();
    let root2 = Envelope::new_signed(&Root::new(&publics, 2, FAR.into(), 2), &both).unwrap();
    let new_signers: Vec<&dyn Signer> = new_keys.iter().map(|k| k as &dyn Signer).collect();

    // Signed by the new keys, with the new root: accepted, and recorded with the slot.
    let mut request = Fixture::request(2, f.release("v2", &[("a.bin", b"two")]));
    request.roots = vec![root2.clone()];
    let rotated = f.path("rotated.hivebundle");
    write_bundle(&request, &new_signers, &rotated).unwrap();
    assert_eq!(f.apply(&rotated).unwrap().root_version, 2);

    // The old keys no longer suffice.
    let old = f.bundle("v3", 3, &[("a.bin", b"three")]);
    assert!(matches!(f.apply(&old), Err(UpdateError::Signatures(_))));

    // A root signed by the new keys only does not follow from the old one.
    let other = Fixture::new();
    other
        .apply(&other.bundle("v1", 1, &[("a.bin", b"one")]))
        .unwrap();
    let unendorsed =
        Envelope::new_signed(&Root::new(&publics, 2, FAR.into(), 2), &new_signers).unwrap();
    let mut request = Fixture::request(2, other.release("v2", &[("a.bin", b"two")]));
    request.roots = vec![unendorsed];
    let bad = other.path("bad-rotation.hivebundle");
    write_bundle(&request, &new_signers, &bad).unwrap();
    assert!(matches!(other.apply(&bad), Err(UpdateError::Rotation(_))));
}

/// A single-component bundle swaps that component and keeps every other as it runs.
#[test]
fn a_single_component_bundle_changes_only_that_component() {
    let f = Fixture::new();
    let v1: [(&str, &[u8]); 3] = [
        ("kernel.elf", b"kernel one"),
        ("skill-net.elf", b"net one"),
        ("skill-pdf.elf", b"pdf one"),
    ];
    f.apply(&f.bundle("v1", 1, &v1)).unwrap();
    let v2: [(&str, &[u8]); 3] = [
        ("kernel.elf", b"kernel TWO (not in the bundle)"),
        ("skill-net.elf", b"net two"),
        ("skill-pdf.elf", b"pdf one"),
    ];
    let mut request = Fixture::request(2, f.release("v2", &v2));
    request.only = Some("skill-net.elf".into());
    let out = f.path("net.hivebundle");
    let signed = write_bundle(&request, &f.signers(), &out).unwrap();
    assert_eq!(signed.custom.components.len(), 1);
    let applied = f.apply(&out).unwrap();
    assert_eq!(applied.written, ["skill-net.elf"]);
    assert_eq!(applied.kept.len(), 2);
    let slot = f.device().join("slot-b");
    assert_eq!(
        std::fs::read(slot.join("skill-net.elf")).unwrap(),
        b"net two"
    );
    assert_eq!(
        std::fs::read(slot.join("kernel.elf")).unwrap(),
        b"kernel one"
    );
    assert_eq!(
        std::fs::read(slot.join("skill-pdf.elf")).unwrap(),
        b"pdf one"
    );
    // An empty device cannot start from one component.
    let other = Fixture::new();
    assert!(matches!(other.apply(&out), Err(UpdateError::NeedsFull)));
}

#[test]
fn verify_checks_a_bundle_without_a_device() {
    let f = Fixture::new();
    let bundle = std::fs::read(f.bundle("v1", 1, &[("a.bin", &big(3, 50_000))])).unwrap();
    let now = OffsetDateTime::now_utc();
    let signed = hive_update::verify(bundle.as_slice(), &f.root, now).unwrap();
    assert_eq!(signed.version, 1);
    let mut flipped = bundle.clone();
    let at = bundle.len() - 1500;
    flipped[at] ^= 0x10;
    assert!(hive_update::verify(flipped.as_slice(), &f.root, now).is_err());
    assert!(!f.device().exists(), "verify wrote nothing");
}
