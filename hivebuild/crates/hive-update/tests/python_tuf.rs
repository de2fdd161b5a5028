//! python-tuf's client (the reference implementation) refreshes a repository hivebuild
//! published and downloads a bundle from it, over HTTP on loopback. Needs `python3` with
//! `tuf` (`ci/install-deps`); says why when it cannot run, and fails then under
//! `HIVEBUILD_REQUIRE_TOOLS`.

use std::path::Path;
use std::process::{Command, Stdio};

use hive_sign::{Envelope, PrivateKey, Root, Signer};
use hive_update::repo::publish;
use hive_update::{BundleRequest, ComponentFile, write_bundle};

fn have_python_tuf() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import tuf.ngclient"])
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        return true;
    }
    let message = "python_tuf: did not run: python3 with the `tuf` package is not installed (see ci/install-deps)";
    assert!(
        std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
        "{message}"
    );
    eprintln!("{message}");
    false
}

/// A free port on loopback.
fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn python_tuf_downloads_a_bundle_from_a_repository_hivebuild_wrote() {
    if !have_python_tuf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::from_seed([8; 32]);
    let root = Root::new(&[key.public()], 1, "2099-01-01T00:00:00Z".into(), 1);
    let root = Envelope::new_signed(&root, &[&key as &dyn Signer]).unwrap();
    let root_path = dir.path().join("root.json");
    std::fs::write(&root_path, root.to_json()).unwrap();
    let payload = dir.path().join("loader.img");
    std::fs::write(&payload, vec![7u8; 100_000]).unwrap();
    let bundle = dir.path().join("b.hivebundle");
    write_bundle(
        &BundleRequest {
            hive: "demo".into(),
            hive_version: "0.1.0".into(),
            target: "rpi4".into(),
            hardware_id: "rpi4b".into(),
            version: 4,
            expires: "2099-01-01T00:00:00Z".into(),
            components: vec![ComponentFile {
                name: "loader.img".into(),
                origin: "step:system/loader.img".into(),
                path: payload,
                release: 4,
            }],
            roots: Vec::new(),
            base: Vec::new(),
            from_version: None,
            only: None,
        },
        &[&key as &dyn Signer],
        &bundle,
    )
    .unwrap();
    let repo = dir.path().join("repo");
    let name = publish(
        &repo,
        &bundle,
        Some(&root),
        &[&key as &dyn Signer],
        "2099-01-01T00:00:00Z",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap()
    .name;

    let port = port();
    let server = Server(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(&repo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    // Wait for the server.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = dir.path().join("downloaded");
    std::fs::create_dir_all(&out).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tuf_client.py");
    let output = Command::new("python3")
        .arg(script)
        .args([
            root_path.to_str().unwrap(),
            &base,
            &name,
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    drop(server);
    assert!(
        output.status.success(),
        "python-tuf failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("4 full rpi4b"), "{stdout}");
    let downloaded = out.join("4.full.hivebundle");
    assert_eq!(
        std::fs::read(downloaded).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}
