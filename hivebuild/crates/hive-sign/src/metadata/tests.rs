use time::macros::datetime;

use super::*;
use crate::keys::PrivateKey;

const NOW: OffsetDateTime = datetime!(2026-11-26 0:00 UTC);

fn keys(n: u8) -> Vec<PrivateKey> {
    (1..=n).map(|i| PrivateKey::from_seed([i; 32])).collect()
}

fn root_of(keys: &[PrivateKey], threshold: u32, version: u64, signers: &[&PrivateKey]) -> Envelope {
    let publics: Vec<PublicKey> = keys.iter().map(PrivateKey::public).collect();
    let root = Root::new(&publics, threshold, "2030-01-01T00:00:00Z".into(), version);
    let signers: Vec<&dyn Signer> = signers.iter().map(|k| *k as &dyn Signer).collect();
    Envelope::new_signed(&root, &signers).unwrap()
}

#[test]
fn a_root_signed_by_its_threshold_is_trusted() {
    let keys = keys(3);
    let envelope = root_of(&keys, 2, 1, &[&keys[0], &keys[2]]);
    let root = Root::trusted(
        &Envelope::parse(envelope.to_json().as_bytes()).unwrap(),
        NOW,
    )
    .unwrap();
    assert_eq!(root.roles["targets"].threshold, 2);
    assert_eq!(root.keys.len(), 3);
}

#[test]
fn below_threshold_duplicates_and_wrong_keys_are_refused() {
    let keys = keys(3);
    let below = root_of(&keys, 2, 1, &[&keys[0]]);
    let error = Root::trusted(&below, NOW).unwrap_err();
    assert_eq!(
        error.to_string(),
        "role `root` needs 2 signature(s) by distinct keys, found 1"
    );

    let mut duplicate = below.clone();
    let copy = duplicate.signatures[0].clone();
    duplicate.signatures.push(copy);
    let error = Root::trusted(&duplicate, NOW).unwrap_err();
    assert_eq!(
        error.to_string(),
        "role `root` needs 2 signature(s) by distinct keys, found 1 (1 more by a key that already signed)"
    );

    let stranger = PrivateKey::from_seed([9; 32]);
    let wrong = root_of(&keys, 1, 1, &[&stranger]);
    assert!(matches!(
        Root::trusted(&wrong, NOW),
        Err(VerifyError::Threshold {
            valid: 0,
            invalid: 1,
            ..
        })
    ));
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    let keys = keys(1);
    let mut envelope = root_of(&keys, 1, 1, &[&keys[0]]);
    envelope.signed["version"] = serde_json::json!(2);
    assert!(Root::trusted(&envelope, NOW).is_err());
}

#[test]
fn expired_metadata_is_refused() {
    let keys = keys(1);
    let envelope = root_of(&keys, 1, 1, &[&keys[0]]);
    let later = datetime!(2031-01-01 0:00 UTC);
    let error = Root::trusted(&envelope, later).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`root` metadata expired at 2030-01-01T00:00:00Z"
    );
    assert_eq!(expiry_after(NOW, 86_400), "2026-11-27T00:00:00Z");
}

#[test]
fn rotation_needs_the_old_threshold_and_the_new() {
    let old = keys(2);
    let trusted = Root::trusted(&root_of(&old, 2, 1, &[&old[0], &old[1]]), NOW).unwrap();
    let new = vec![
        PrivateKey::from_seed([5; 32]),
        PrivateKey::from_seed([6; 32]),
    ];
    // Signed by the new keys only: refused.
    let only_new = root_of(&new, 1, 2, &[&new[0]]);
    assert!(matches!(
        trusted.update(&only_new),
        Err(VerifyError::Threshold { .. })
    ));
    // Signed by one old key (threshold 2) and the new: refused.
    let one_old = root_of(&new, 1, 2, &[&old[0], &new[0]]);
    assert!(trusted.update(&one_old).is_err());
    // Both old keys and the new key: accepted, and only as the next version.
    let good = root_of(&new, 1, 2, &[&old[0], &old[1], &new[0]]);
    assert_eq!(trusted.update(&good).unwrap().version, 2);
    let skipped = root_of(&new, 1, 3, &[&old[0], &old[1], &new[0]]);
    assert_eq!(
        trusted.update(&skipped).unwrap_err().to_string(),
        "new root is version 3; the next after the trusted version 1 is 2"
    );
}

#[test]
fn unknown_fields_are_kept_in_the_signed_bytes() {
    let keys = keys(1);
    let root = Root::new(&[keys[0].public()], 1, "2030-01-01T00:00:00Z".into(), 1);
    let mut value = serde_json::to_value(&root).unwrap();
    value["x-vendor"] = serde_json::json!({"b": 1, "a": 2});
    let envelope = Envelope::new_signed(&value, &[&keys[0]]).unwrap();
    let reread = Envelope::parse(envelope.to_json().as_bytes()).unwrap();
    assert!(Root::trusted(&reread, NOW).is_ok());
}

#[test]
fn targets_are_typed() {
    let keys = keys(1);
    let envelope = root_of(&keys, 1, 1, &[&keys[0]]);
    let error = envelope.signed_as::<Targets>("targets").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected `targets` metadata, found `root`"
    );
}

#[test]
fn a_number_canonical_json_cannot_hold_is_refused_with_its_place() {
    for (document, place) in [
        (
            r#"{"signatures":[],"signed":{"a":[1,{"b":1.5}]}}"#,
            "signed.a[1].b",
        ),
        (
            r#"{"signatures":[],"signed":{"version":1e3}}"#,
            "signed.version",
        ),
        (
            r#"{"signatures":[{"keyid":"k","sig":"s"}],"signed":{"n":18446744073709551616}}"#,
            "signed.n",
        ),
    ] {
        let error = Envelope::parse(document.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("`{place}` is the number"))
                && error.ends_with("canonical JSON has integers only"),
            "{document}: {error}"
        );
    }
    // Integers at either end of 64 bits are fine.
    let envelope = Envelope::parse(
        br#"{"signatures":[],"signed":{"a":18446744073709551615,"b":-9223372036854775808}}"#,
    )
    .unwrap();
    assert_eq!(
        envelope.signed_bytes(),
        br#"{"a":18446744073709551615,"b":-9223372036854775808}"#
    );
}
