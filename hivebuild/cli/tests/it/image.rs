//! `hivebuild image`, `sign`, `verify`, `inspect`, `key` and `root`: reproducible images and
//! the trust around them.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{BUILD_TOOLS, Project, have, ok, repo};

fn sha256(path: &Path) -> String {
    use std::fmt::Write as _;
    let bytes = std::fs::read(path).unwrap();
    hive_plan::Digest::of(&bytes)
        .0
        .iter()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// `hivebuild image manifests/standins.toml --target x86_64 -o DIR EXTRA...`
fn image(project: &Project, dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "image",
        "manifests/standins.toml",
        "--target",
        "x86_64",
        "-o",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    project.hivebuild(&args).output().unwrap()
}

fn key(project: &Project, name: &str) -> (PathBuf, PathBuf) {
    let prefix = project.root().join("keys").join(name);
    ok(&mut project.hivebuild(&["key", "generate", "--out", prefix.to_str().unwrap()]));
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

/// `hivebuild root init` with these public keys and threshold, signed by these keys.
fn root_init(project: &Project, publics: &[&Path], threshold: u32, signers: &[&Path], out: &Path) {
    let mut args = vec![
        "root".to_owned(),
        "init".into(),
        "--threshold".into(),
        threshold.to_string(),
        "-o".into(),
        out.display().to_string(),
    ];
    for public in publics {
        args.extend(["--key".into(), public.display().to_string()]);
    }
    for signer in signers {
        args.extend(["--sign-key".into(), signer.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&mut project.hivebuild(&args));
}

fn verify(project: &Project, dir: &Path, root: &Path) -> std::process::Output {
    project
        .hivebuild(&[
            "verify",
            dir.to_str().unwrap(),
            "--trust-root",
            root.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn image_is_bit_reproducible_across_folders_tz_and_umask() {
    if !have(
        "image_is_bit_reproducible_across_folders_tz_and_umask",
        BUILD_TOOLS,
    ) {
        return;
    }
    let (one, two) = (Project::new(), Project::new());
    let out_one = one.root().join("out");
    crate::support::assert_success(&image(&one, &out_one, &[]));
    let out_two = two.root().join("elsewhere/release");
    let output = Command::new("sh")
        .arg("-c")
        .arg("umask 077; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_hivebuild"))
        .args([
            "--store",
            two.store.to_str().unwrap(),
            "image",
            "manifests/standins.toml",
            "--target",
            "x86_64",
            "-o",
        ])
        .arg(&out_two)
        .current_dir(two.root())
        .env("TZ", "America/St_Johns")
        .output()
        .unwrap();
    crate::support::assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(": 256.0 MiB, ") && stdout.contains(" MiB used on disk"),
        "{stdout}"
    );
    for file in [
        "demo-x86_64.img",
        "demo-x86_64.manifest.json",
        "demo-x86_64.sbom.json",
    ] {
        assert_eq!(
            sha256(&out_one.join(file)),
            sha256(&out_two.join(file)),
            "{file} differs between two builds"
        );
    }
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_one.join("demo-x86_64.sbom.json")).unwrap())
            .unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let names: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"kernel") && names.contains(&"boot/kernel.elf") && names.contains(&"brain"),
        "{names:?}"
    );
}

#[expect(
    clippy::too_many_lines,
    reason = "a scenario test: each refusal in turn on one release folder"
)]
#[test]
fn image_signatures_threshold_expiry_and_keys_are_enforced() {
    if !have(
        "image_signatures_threshold_expiry_and_keys_are_enforced",
        BUILD_TOOLS,
    ) {
        return;
    }
    let project = Project::new();
    let (a_key, a_pub) = key(&project, "a");
    let (b_key, b_pub) = key(&project, "b");
    let root = project.root().join("root.json");
    let root_arg = root.to_str().unwrap();
    root_init(&project, &[&a_pub, &b_pub], 2, &[&a_key, &b_key], &root);

    // One of two signatures: below the threshold.
    let out = project.root().join("out");
    crate::support::assert_success(&image(
        &project,
        &out,
        &["--sign-key", a_key.to_str().unwrap()],
    ));
    let output = verify(&project, &out, &root);
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("role `targets` needs 2 signature(s) by distinct keys, found 1"),
        "{}",
        stderr(&output)
    );

    // The second key signs: verified.
    ok(&mut project.hivebuild(&[
        "sign",
        out.to_str().unwrap(),
        "--sign-key",
        b_key.to_str().unwrap(),
    ]));
    let verified =
        ok(&mut project.hivebuild(&["verify", out.to_str().unwrap(), "--trust-root", root_arg]));
    assert!(
        verified.contains("2 signatures (threshold 2)")
            && verified.contains("files match the image's file list"),
        "{verified}"
    );

    // The same key twice counts once.
    let targets = out.join("targets.json");
    let good = std::fs::read_to_string(&targets).unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&good).unwrap();
    let first = document["signatures"][0].clone();
    document["signatures"] = serde_json::json!([first.clone(), first]);
    std::fs::write(&targets, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let output = verify(&project, &out, &root);
    assert_eq!(output.status.code(), Some(10));
    assert!(
        stderr(&output).contains("found 1 (1 more by a key that already signed)"),
        "{}",
        stderr(&output)
    );
    std::fs::write(&targets, &good).unwrap();

    // A root of other keys: refused.
    let (c_key, c_pub) = key(&project, "c");
    let other_root = project.root().join("other-root.json");
    root_init(&project, &[&c_pub], 1, &[&c_key], &other_root);
    let output = verify(&project, &out, &other_root);
    assert_eq!(output.status.code(), Some(10));
    assert!(
        stderr(&output)
            .contains("needs 1 signature(s) by distinct keys, found 0 (2 not valid for this role)"),
        "{}",
        stderr(&output)
    );

    // Expired metadata: refused.
    let expired = project.root().join("expired");
    let signers = [
        "--sign-key",
        a_key.to_str().unwrap(),
        "--sign-key",
        b_key.to_str().unwrap(),
    ];
    crate::support::assert_success(&image(
        &project,
        &expired,
        &[&signers[..], &["--expires", "0s"]].concat(),
    ));
    let output = verify(&project, &expired, &root);
    assert_eq!(output.status.code(), Some(10));
    assert!(
        stderr(&output).contains("`targets` metadata expired at"),
        "{}",
        stderr(&output)
    );

    // A key file others can read is refused before anything is signed.
    std::fs::set_permissions(&a_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = image(
        &project,
        &project.root().join("never"),
        &["--sign-key", a_key.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(11));
    assert!(
        stderr(&output).contains("can be read by others (mode 644); refusing to use it"),
        "{}",
        stderr(&output)
    );
    assert!(
        !project.root().join("never").exists(),
        "nothing was written"
    );
    // Refusing to overwrite a key.
    let output = project
        .hivebuild(&[
            "key",
            "generate",
            "--out",
            project.root().join("keys/a").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(11));
    assert!(stderr(&output).contains("already exists; refusing to overwrite a key"));
}

#[test]
fn image_root_rotation_needs_the_old_threshold_and_the_new() {
    let project = Project::new();
    let (a_key, a_pub) = key(&project, "a");
    let (b_key, b_pub) = key(&project, "b");
    let (c_key, c_pub) = key(&project, "c");
    let root = project.root().join("root.json");
    root_init(&project, &[&a_pub, &b_pub], 2, &[&a_key, &b_key], &root);
    let rotate = |signers: &[&Path]| {
        let mut args = vec![
            "root".to_owned(),
            "rotate".into(),
            "--root".into(),
            root.display().to_string(),
        ];
        args.extend([
            "--key".into(),
            c_pub.display().to_string(),
            "-o".into(),
            project.root().join("root-2.json").display().to_string(),
        ]);
        for signer in signers {
            args.extend(["--sign-key".into(), signer.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        project.hivebuild(&args).output().unwrap()
    };
    let output = rotate(&[&a_key, &c_key]);
    assert_eq!(
        output.status.code(),
        Some(10),
        "one old key of two is not enough: {}",
        stderr(&output)
    );
    assert!(!project.root().join("root-2.json").exists());
    let output = rotate(&[&a_key, &b_key]);
    assert_eq!(
        output.status.code(),
        Some(10),
        "the new key must sign too: {}",
        stderr(&output)
    );
    let output = rotate(&[&a_key, &b_key, &c_key]);
    crate::support::assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("root version 2, 1 key, threshold 1"));
}

#[test]
fn image_inspect_and_verify_name_a_flipped_byte() {
    if !have("image_inspect_and_verify_name_a_flipped_byte", BUILD_TOOLS) {
        return;
    }
    let project = Project::new();
    let out = project.root().join("out");
    crate::support::assert_success(&image(&project, &out, &[]));
    let image_path = out.join("demo-x86_64.img");
    let manifest = out.join("demo-x86_64.manifest.json");
    let listing = ok(&mut project.hivebuild(&[
        "inspect",
        image_path.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
    ]));
    assert!(
        listing.contains("gpt table")
            && listing.contains("kernel.elf")
            && listing.contains("every file (2) and partition matches"),
        "{listing}"
    );
    ok(&mut project.hivebuild(&["verify", out.to_str().unwrap()]));

    // Flip one byte of the kernel inside the image.
    let store_kernel = ok(&mut project.hivebuild(&[
        "store",
        "path",
        "manifests/standins.toml",
        "--target",
        "x86_64",
        "kernel",
    ]));
    let kernel = std::fs::read(Path::new(store_kernel.trim()).join("kernel.elf")).unwrap();
    let mut bytes = std::fs::read(&image_path).unwrap();
    let at = bytes
        .windows(kernel.len())
        .position(|w| w == kernel.as_slice())
        .expect("the kernel is in the image");
    bytes[at + kernel.len() / 2] ^= 0x40;
    std::fs::write(&image_path, bytes).unwrap();
    let output = project
        .hivebuild(&[
            "inspect",
            image_path.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10));
    assert!(
        stderr(&output).contains("partition `boot`: `kernel.elf` differs"),
        "{}",
        stderr(&output)
    );
    let output = project
        .hivebuild(&["verify", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10));
    assert!(
        stderr(&output).contains("artefact `demo-x86_64.img` does not match the signed metadata"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn image_external_signer_and_python_tuf_accept_the_release() {
    let python = Command::new("python3")
        .args(["-c", "import tuf.api.metadata, cryptography"])
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        assert!(have(
            "image_external_signer_and_python_tuf_accept_the_release",
            &["python3-with-tuf"]
        ));
        return;
    }
    if !have(
        "image_external_signer_and_python_tuf_accept_the_release",
        BUILD_TOOLS,
    ) {
        return;
    }
    let project = Project::new();
    let (a_key, a_pub) = key(&project, "a");
    let root = project.root().join("root.json");
    root_init(&project, &[&a_pub], 1, &[&a_key], &root);
    let script = repo().join("hivebuild/cli/tests/it/ed25519_signer.py");
    let signer = format!("python3 {} {}", script.display(), a_key.display());
    let out = project.root().join("out");
    crate::support::assert_success(&image(
        &project,
        &out,
        &["--signer", &signer, "--signer-pub", a_pub.to_str().unwrap()],
    ));
    ok(&mut project.hivebuild(&[
        "verify",
        out.to_str().unwrap(),
        "--trust-root",
        root.to_str().unwrap(),
    ]));
    let stdout = ok(Command::new("python3")
        .arg(repo().join("hivebuild/crates/hive-sign/tests/tuf_interop.py"))
        .arg("verify")
        .arg(&root)
        .arg(out.join("targets.json")));
    assert!(
        stdout.contains("target demo-x86_64.img 268435456 "),
        "{stdout}"
    );
    assert!(stdout.ends_with("ok root v1 targets v1\n"), "{stdout}");

    // A signer that returns garbage is refused.
    let output = image(
        &project,
        &project.root().join("bad"),
        &[
            "--signer",
            "echo nope",
            "--signer-pub",
            a_pub.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(11));
    assert!(
        stderr(&output).contains("returned no valid signature"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn image_verify_walks_rotated_roots_and_refuses_a_bad_rotation() {
    if !have(
        "image_verify_walks_rotated_roots_and_refuses_a_bad_rotation",
        BUILD_TOOLS,
    ) {
        return;
    }
    let project = Project::new();
    let (a_key, a_pub) = key(&project, "a");
    let (b_key, b_pub) = key(&project, "b");
    let (c_key, c_pub) = key(&project, "c");
    let (root_1, root_2) = (
        project.root().join("root.json"),
        project.root().join("root-2.json"),
    );
    root_init(&project, &[&a_pub, &b_pub], 2, &[&a_key, &b_key], &root_1);
    ok(&mut project.hivebuild(&[
        "root",
        "rotate",
        "--root",
        root_1.to_str().unwrap(),
        "--key",
        c_pub.to_str().unwrap(),
        "--sign-key",
        a_key.to_str().unwrap(),
        "--sign-key",
        b_key.to_str().unwrap(),
        "--sign-key",
        c_key.to_str().unwrap(),
        "-o",
        root_2.to_str().unwrap(),
    ]));
    // A release signed by the new key, carrying the new root: a device that trusts version 1
    // walks to version 2 and accepts it.
    let out = project.root().join("out");
    crate::support::assert_success(&image(
        &project,
        &out,
        &["--sign-key", c_key.to_str().unwrap()],
    ));
    let output = verify(&project, &out, &root_1);
    assert_eq!(
        output.status.code(),
        Some(10),
        "without the new root, the new key is unknown"
    );
    std::fs::copy(&root_2, out.join("2.root.json")).unwrap();
    crate::support::assert_success(&verify(&project, &out, &root_1));

    // The same rotation with only the new key's signature: refused, the old threshold is missing.
    let mut rotated = hive_sign::Envelope::parse(&std::fs::read(&root_2).unwrap()).unwrap();
    let c_id = hive_sign::PublicKey::load(&c_pub).unwrap().keyid();
    rotated.signatures.retain(|s| s.keyid == c_id);
    std::fs::write(out.join("2.root.json"), rotated.to_json()).unwrap();
    let output = verify(&project, &out, &root_1);
    assert_eq!(output.status.code(), Some(10));
    assert!(
        stderr(&output).contains("role `root` needs 2 signature(s) by distinct keys, found 0"),
        "{}",
        stderr(&output)
    );
}

/// Two releases of the demo, a full bundle of the first and a delta to the second, applied
/// to a device folder through the CLI; the same bundle again is refused with exit code 14.
#[expect(
    clippy::too_many_lines,
    reason = "a scenario test: full, delta and one-skill bundles made and applied in turn to one device"
)]
#[test]
fn image_bundles_full_and_delta_apply_to_a_device() {
    if !have(
        "image_bundles_full_and_delta_apply_to_a_device",
        BUILD_TOOLS,
    ) {
        return;
    }
    let project = Project::new();
    let (v1, v2) = (project.root().join("v1"), project.root().join("v2"));
    crate::support::assert_success(&image(&project, &v1, &[]));
    let pdf = project.root().join("components/skills/pdf/main.c");
    let text = std::fs::read_to_string(&pdf).unwrap();
    std::fs::write(&pdf, text.replace("text extraction", "text extraction, v2")).unwrap();
    crate::support::assert_success(&image(&project, &v2, &[]));

    let path = |name: &str| project.root().join(name).display().to_string();
    let bundle = |args: &[&str]| ok(&mut project.hivebuild(args));
    let full = bundle(&[
        "bundle",
        "--to",
        &path("v1"),
        "-o",
        &path("v1.hivebundle"),
        "--bundle-version",
        "1",
    ]);
    assert!(full.contains("full bundle, version 1"), "{full}");
    let delta = bundle(&[
        "bundle",
        "--from",
        &path("v1"),
        "--from-version",
        "1",
        "--to",
        &path("v2"),
        "-o",
        &path("v2.hivebundle"),
        "--bundle-version",
        "2",
    ]);
    assert!(
        delta.contains("delta bundle, version 2") && delta.contains("2 as deltas"),
        "{delta}"
    );
    let inspected = bundle(&["bundle", "inspect", &path("v2.hivebundle")]);
    assert!(
        inspected.contains("system.img") && inspected.contains("delta"),
        "{inspected}"
    );

    let root = path(".hive/dev-keys/root.json");
    let device = path("device");
    let first = bundle(&[
        "apply",
        &path("v1.hivebundle"),
        "--device",
        &device,
        "--trust-root",
        &root,
    ]);
    assert!(
        first.contains("version 1 in slot a (provisioned)"),
        "{first}"
    );
    let second = bundle(&["apply", &path("v2.hivebundle"), "--device", &device]);
    assert!(
        second.contains("version 2 in slot b; 2 components written"),
        "{second}"
    );
    assert_eq!(
        sha256(&project.root().join("device/slot-b/system.img")),
        sha256(&crate::support::extracted(&v2, "system.img")),
    );
    let again = project
        .hivebuild(&["apply", &path("v2.hivebundle"), "--device", &device])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(14));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("is not newer than the installed version 2")
    );

    // One skill only: a device on v1 takes v2's pdf skill and keeps everything else.
    let single = bundle(&[
        "bundle",
        "--component",
        "skill-pdf.elf",
        "--to",
        &path("v2"),
        "-o",
        &path("pdf.hivebundle"),
        "--bundle-version",
        "2",
    ]);
    assert!(single.contains("single-component bundle"), "{single}");
    let skill_device = path("skill-device");
    bundle(&[
        "apply",
        &path("v1.hivebundle"),
        "--device",
        &skill_device,
        "--trust-root",
        &root,
    ]);
    let swapped = bundle(&["apply", &path("pdf.hivebundle"), "--device", &skill_device]);
    assert!(swapped.contains("1 component written"), "{swapped}");
    let slot = project.root().join("skill-device/slot-b");
    assert_eq!(
        sha256(&slot.join("skill-pdf.elf")),
        sha256(&v2.join("demo-x86_64.skill-pdf.elf"))
    );
    for kept in ["system.img", "skill-net.elf"] {
        assert_eq!(
            sha256(&slot.join(kept)),
            sha256(&project.root().join("skill-device/slot-a").join(kept)),
            "{kept}"
        );
    }

    // The same two bundles through a TUF repository served over HTTP on loopback: an empty
    // device takes the newest full bundle, then the delta from its version.
    let repo = path("repo");
    bundle(&[
        "publish",
        &path("v1.hivebundle"),
        "--repo",
        &repo,
        "--trust-root",
        &root,
    ]);
    bundle(&["publish", &path("v2.hivebundle"), "--repo", &repo]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(project.root().join("repo"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("http://127.0.0.1:{port}");
    let fleet_device = path("fleet-device");
    let fetch = |extra: &[&str]| {
        let mut args = vec!["fetch-update", "--repo", &url, "--device", &fleet_device];
        args.extend_from_slice(extra);
        project.hivebuild(&args).output().unwrap()
    };
    let first = fetch(&["--trust-root", &root, "--hardware-id", "x86_64-microvm"]);
    let second = fetch(&[]);
    let third = fetch(&[]);
    let _ = server.kill();
    let _ = server.wait();
    let said = |o: &std::process::Output| {
        crate::support::assert_success(o);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (first, second, third) = (said(&first), said(&second), said(&third));
    assert!(
        first.contains("`demo/x86_64/1.full.hivebundle`: version 1"),
        "{first}"
    );
    assert!(
        second.contains("`demo/x86_64/2.delta-from-1.hivebundle`: version 2"),
        "{second}"
    );
    assert!(third.contains("up to date"), "{third}");
}
