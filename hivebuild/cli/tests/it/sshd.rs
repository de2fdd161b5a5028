//! A local sshd for Nix's remote builders: the tests' and the engines benchmark's "remote".
//! Shared by `tests/it` and `benches/engines.rs` (included with `#[path]`).

use std::process::Command;

fn ok(command: &mut Command) {
    let output = command.output().expect("runs");
    assert!(output.status.success(), "{command:?}: {output:?}");
}

/// A local sshd of the test's own (own config, host key and port, key-only login), stopped
/// when dropped. Its sessions get `NIX_CONF_DIR=<dir>/remote-conf`: the "remote" builder's own
/// Nix settings.
pub(crate) struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: std::process::Child,
}

impl Sshd {
    pub(crate) fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hive-sshd-")
            .tempdir()
            .unwrap();
        let path = |name: &str| dir.path().join(name);
        for key in ["host_key", "user_key"] {
            ok(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(path(key)));
        }
        std::fs::copy(path("user_key.pub"), path("authorized_keys")).unwrap();
        std::fs::create_dir_all(path("remote-conf")).unwrap();
        // sshd's privilege separation folder (made by the service unit on a booted system).
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        std::fs::write(
            path("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n\
                 PidFile {d}/sshd.pid\nSetEnv NIX_CONF_DIR={d}/remote-conf\n"
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(path("sshd_config"))
            .arg("-E")
            .arg(path("sshd.log"))
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "sshd did not listen");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { dir, port, child }
    }

    /// `NIX_SSHOPTS` for Nix to reach it.
    pub(crate) fn ssh_opts(&self) -> String {
        format!(
            "-p {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            self.port
        )
    }
}

impl Sshd {
    /// Why no sshd of our own can run here, if it cannot.
    pub(crate) fn missing() -> Option<&'static str> {
        let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt as _;
            m.uid() == 0
        });
        if !std::path::Path::new("/usr/sbin/sshd").is_file() {
            Some("/usr/sbin/sshd is not installed (openssh-server, see ci/install-deps)")
        } else if !is_root {
            Some("an sshd of its own that logs in as root needs root")
        } else {
            None
        }
    }

    /// The remote's own store (a chroot store in the sshd's folder).
    pub(crate) fn remote_store(&self) -> std::path::PathBuf {
        self.dir.path().join("remote-store")
    }

    /// Configure the remote's `nix.conf` from `hivebuild --json builder-conf` and return the
    /// `--builders` line that reaches it.
    pub(crate) fn builder(&self, needs: &serde_json::Value) -> String {
        let list = |key: &str, separator: &str| {
            needs[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(separator)
        };
        std::fs::write(
            self.dir.path().join("remote-conf/nix.conf"),
            format!(
                "build-users-group =\nsubstituters =\nextra-sandbox-paths = {}\nextra-system-features = {}\n",
                list("sandbox-paths", " "),
                list("system-features", " ")
            ),
        )
        .unwrap();
        format!(
            "ssh-ng://root@127.0.0.1?remote-store={} {} {} 2 1 {} - -",
            encoded(&format!("local?root={}", self.remote_store().display())),
            needs["system"].as_str().unwrap(),
            self.dir.path().join("user_key").display(),
            list("system-features", ",")
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encode a store URI for the `remote-store` parameter of another.
fn encoded(uri: &str) -> String {
    uri.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
