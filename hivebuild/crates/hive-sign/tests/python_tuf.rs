//! Interop with python-tuf (the TUF reference implementation), both ways. Needs `python3`
//! with `tuf` installed (`ci/install-deps` does it); says why when it cannot run, and fails
//! then if `HIVEBUILD_REQUIRE_TOOLS` is set.

use std::path::Path;
use std::process::Command;

use hive_sign::{Envelope, PrivateKey, Root, Signer, TargetFile, Targets, expiry_after};
use time::OffsetDateTime;

fn python_tuf(args: &[&str]) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tuf_interop.py");
    let probe = Command::new("python3")
        .args(["-c", "import tuf.api.metadata"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let message = "python_tuf: did not run: python3 with the `tuf` package is not installed (see ci/install-deps)";
        assert!(
            std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
            "{message}"
        );
        eprintln!("{message}");
        return None;
    }
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python-tuf failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

#[test]
fn python_tuf_verifies_what_hivebuild_writes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        PrivateKey::generate().unwrap(),
        PrivateKey::generate().unwrap(),
    ];
    let now = OffsetDateTime::now_utc();
    let root = Root::new(
        &[keys[0].public(), keys[1].public()],
        2,
        expiry_after(now, 86_400),
        1,
    );
    let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
    let root_path = dir.path().join("root.json");
    std::fs::write(
        &root_path,
        Envelope::new_signed(&root, &signers).unwrap().to_json(),
    )
    .unwrap();
    let targets = Targets {
        kind: "targets".into(),
        spec_version: hive_sign::metadata::SPEC_VERSION.into(),
        version: 1,
        expires: expiry_after(now, 86_400),
        targets: [(
            "demo-rpi4.img".to_owned(),
            TargetFile {
                length: 1024,
                hashes: [("sha256".to_owned(), "ab".repeat(32))].into(),
                custom: Some(serde_json::json!({"hive": "demo", "target": "rpi4", "files": [{"path": "config.txt"}]})),
            },
        )]
        .into(),
    };
    let targets_path = dir.path().join("targets.json");
    std::fs::write(
        &targets_path,
        Envelope::new_signed(&targets, &signers).unwrap().to_json(),
    )
    .unwrap();
    let Some(stdout) = python_tuf(&[
        "verify",
        root_path.to_str().unwrap(),
        targets_path.to_str().unwrap(),
    ]) else {
        return;
    };
    assert!(
        stdout.contains(&format!("target demo-rpi4.img 1024 {}", "ab".repeat(32))),
        "{stdout}"
    );
    assert!(stdout.ends_with("ok root v1 targets v1\n"), "{stdout}");

    // And python-tuf notices when a signature is missing: one of two is not enough.
    let mut weak = Envelope::parse(&std::fs::read(&targets_path).unwrap()).unwrap();
    weak.signatures.pop();
    std::fs::write(&targets_path, weak.to_json()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tuf_interop.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["verify"])
        .arg(&root_path)
        .arg(&targets_path)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn hivebuild_verifies_what_python_tuf_writes() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_) = python_tuf(&["write", dir.path().to_str().unwrap()]) else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let root_envelope =
        Envelope::parse(&std::fs::read(dir.path().join("root.json")).unwrap()).unwrap();
    let root = Root::trusted(&root_envelope, now).unwrap();
    let targets_envelope =
        Envelope::parse(&std::fs::read(dir.path().join("targets.json")).unwrap()).unwrap();
    targets_envelope.verify_role(&root, "targets").unwrap();
    let targets: Targets = targets_envelope.signed_as("targets").unwrap();
    let hello = &targets.targets["hello.txt"];
    assert_eq!(hello.length, 5);
    assert_eq!(
        hello.custom,
        Some(serde_json::json!({"from": "python-tuf"}))
    );
    // A flipped byte in what python-tuf signed is caught.
    let mut tampered = targets_envelope.clone();
    tampered.signed["version"] = serde_json::json!(7);
    assert!(tampered.verify_role(&root, "targets").is_err());
}
