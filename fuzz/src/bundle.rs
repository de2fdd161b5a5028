//! The bundle reader and the device-side verifier, from the fixed trust root
//! ([`crate::fixture`]). Every member the reader walks lies inside the input; a bundle the
//! verifier accepts installs on a device (a fresh one for a full bundle; one running the base
//! release for a delta), and every component in the new slot has the length and sha256 its
//! signed metadata names.

use std::path::Path;

use hive_update::metadata::{BundleKind, BundleSigned, Carried};
use hive_update::{Silent, UpdateError};
use sha2::Digest as _;

use crate::fixture;

pub fn check(data: &[u8]) -> bool {
    walk_members(data);
    let Ok(signed) = hive_update::verify(data, fixture::trusted_root(), fixture::now()) else {
        return false;
    };
    let device = tempfile::tempdir().expect("a device folder");
    // A bundle that carries less than every component (a delta, a single component) needs
    // the release it was made against.
    if signed.custom.kind != BundleKind::Full
        || signed
            .custom
            .components
            .iter()
            .any(|c| c.carried != Carried::Full)
    {
        install(fixture::base_bundle(), device.path()).expect("the base release installs");
    }
    let applied = install(data, device.path())
        .unwrap_or_else(|e| panic!("verified, but a device refuses it: {e}"));
    assert_eq!(applied.version, signed.version);
    check_slot(
        &device.path().join(format!("slot-{}", applied.slot)),
        &signed,
    );
    true
}

fn install(bundle: &[u8], device: &Path) -> Result<hive_update::Applied, UpdateError> {
    hive_update::apply(
        bundle,
        device,
        Some(fixture::trusted_root()),
        fixture::now(),
        &Silent,
    )
}

/// Every component of the result, as the signed metadata says it is.
fn check_slot(slot: &Path, signed: &BundleSigned) {
    for component in &signed.custom.components {
        let bytes = std::fs::read(slot.join(&component.name)).unwrap_or_else(|e| {
            panic!(
                "installed, but `{}` is not in the slot: {e}",
                component.name
            )
        });
        assert_eq!(
            bytes.len() as u64,
            component.length,
            "`{}`'s length",
            component.name
        );
        assert_eq!(
            hive_sign::hex(&sha2::Sha256::digest(&bytes)),
            component.sha256,
            "`{}`'s sha256",
            component.name
        );
    }
}

/// The reader alone: members one after another, each header where the last member ended,
/// each member's data exactly its declared size, never past the input.
fn walk_members(data: &[u8]) {
    let mut reader = hive_update::format::Reader::new(data);
    loop {
        let at = reader.offset();
        let Ok(Some(member)) = reader.next_member() else {
            return;
        };
        assert_eq!(member.offset, at, "member `{}`'s header", member.name);
        match std::io::copy(&mut reader.data(member.size), &mut std::io::sink()) {
            Ok(n) => assert_eq!(n, member.size, "member `{}`'s data", member.name),
            Err(_) => return,
        }
        if reader.end_member(member.size).is_err() {
            return;
        }
        assert!(reader.offset() <= data.len() as u64, "read past the input");
    }
}
