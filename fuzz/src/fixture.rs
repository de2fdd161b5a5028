//! What the bundle, delta and TUF targets hold fixed: a trust root of two keys (threshold 2)
//! and the clock, the same as the seeds in `seeds/` were written with (`src/bin/seeds.rs`).

use hive_sign::{Envelope, PrivateKey, Root, Signer};
use time::OffsetDateTime;

/// Far enough that nothing the seeds carry has expired at [`now`].
pub const EXPIRES: &str = "2099-01-01T00:00:00Z";

/// The devices' and clients' clock.
pub fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-12-01 00:00 UTC)
}

/// The release keys (`PrivateKey::from_seed`, as in the bundle tests).
pub fn keys() -> [PrivateKey; 2] {
    [
        PrivateKey::from_seed([1; 32]),
        PrivateKey::from_seed([2; 32]),
    ]
}

/// The keys a rotation moves to (root version 2).
pub fn rotated_keys() -> [PrivateKey; 2] {
    [
        PrivateKey::from_seed([3; 32]),
        PrivateKey::from_seed([4; 32]),
    ]
}

pub fn signers(keys: &[PrivateKey]) -> Vec<&dyn Signer> {
    keys.iter().map(|k| k as &dyn Signer).collect()
}

/// A root of `keys`, threshold 2, signed by `by`.
pub fn root(keys: &[PrivateKey], version: u64, by: &[PrivateKey]) -> Envelope {
    let publics: Vec<_> = keys.iter().map(PrivateKey::public).collect();
    let root = Root::new(&publics, 2, EXPIRES.into(), version);
    Envelope::new_signed(&root, &signers(by)).expect("signing with in-memory keys")
}

/// The trust root every device and client starts from (version 1).
pub fn trusted_root() -> &'static Envelope {
    static ROOT: std::sync::OnceLock<Envelope> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| root(&keys(), 1, &keys()))
}

/// Bytes that compress somewhat, different for each seed (a small LCG: no randomness in
/// the seeds).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if i % 7 < 3 {
                b'a' + (i % 13) as u8
            } else {
                (state >> 56) as u8
            }
        })
        .collect()
}

/// A release's files: version 1, or version 2 (a small change, a file gone, a file new).
pub fn release(version: u64) -> Vec<(&'static str, Vec<u8>)> {
    let mut loader = noise(7, 6000);
    if version == 1 {
        return vec![
            ("config.txt", b"arm_64bit=1\n".to_vec()),
            ("loader.img", loader),
            ("old.dtb", b"gone in v2".to_vec()),
        ];
    }
    loader[1000..1040].fill(0xaa);
    loader.extend_from_slice(b"appended");
    vec![
        ("config.txt", b"arm_64bit=1\n".to_vec()),
        ("loader.img", loader),
        ("new.bin", b"new in v2".to_vec()),
    ]
}

/// What a bundle holds besides its release.
#[derive(Default)]
pub struct BundleOptions {
    /// Patch against release 1 (bundle version 1).
    pub delta: bool,
    /// Only this component.
    pub only: Option<String>,
    /// Newer roots for the device to walk, and the keys that sign the bundle then.
    pub rotate: bool,
}

/// A bundle of release `release` as bundle `version`, signed as `options` say.
pub fn bundle(release_version: u64, version: u64, options: &BundleOptions) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a folder for the bundle");
    let files = |release_version: u64| -> Vec<hive_update::ComponentFile> {
        let folder = dir.path().join(format!("r{release_version}"));
        std::fs::create_dir_all(&folder).expect("a release folder");
        release(release_version)
            .into_iter()
            .map(|(name, bytes)| {
                std::fs::write(folder.join(name), bytes).expect("a component written");
                hive_update::ComponentFile {
                    name: name.into(),
                    origin: format!("step:fuzz/{name}"),
                    path: folder.join(name),
                    release: release_version,
                }
            })
            .collect()
    };
    let (roots, keys) = if options.rotate {
        let both: Vec<PrivateKey> = keys().into_iter().chain(rotated_keys()).collect();
        let next = root(&rotated_keys(), 2, &both);
        (vec![next], rotated_keys())
    } else {
        (Vec::new(), keys())
    };
    let request = hive_update::BundleRequest {
        hive: "demo".into(),
        hive_version: "0.1.0".into(),
        target: "rpi4".into(),
        hardware_id: "rpi4b".into(),
        version,
        expires: EXPIRES.into(),
        components: files(release_version),
        roots,
        base: if options.delta { files(1) } else { Vec::new() },
        from_version: options.delta.then_some(1),
        only: options.only.clone(),
    };
    let out = dir.path().join("out.hivebundle");
    hive_update::write_bundle(&request, &signers(&keys), &out).expect("a bundle written");
    std::fs::read(&out).expect("the bundle read back")
}

/// The release-1 full bundle: what a device runs before a delta.
pub fn base_bundle() -> &'static [u8] {
    static BASE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BASE.get_or_init(|| bundle(1, 1, &BundleOptions::default()))
}

/// What the delta target applies payloads to: release 1's loader.
pub fn delta_base() -> &'static [u8] {
    static BASE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BASE.get_or_init(|| noise(7, 6000))
}
