//! Skills as Unikraft unikernels (`[platform.unikraft]`, the `x86_64` lane of
//! `manifests/demo.toml`). Without the upstream sources these check the plan and the
//! manifest's errors; with them (`HIVEBUILD_UNIKRAFT_SRC`, `HIVEBUILD_LIB_LWIP_SRC`,
//! `HIVEBUILD_FORK_LWIP_SRC`: local clones at the commits `hive.lock` pins) `unikraft_real_*`
//! builds the skills, checks what is linked, boots them and talks to `net` over UDP.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{BUILD_TOOLS, Project, have, ok, plan_json, repo, step};

const SOURCES: [&str; 3] = ["unikraft", "lib-lwip", "fork-lwip"];

fn unikraft_tools(test: &str) -> bool {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["flex", "bison", "patch", "nm"]);
    have(test, &tools)
}

#[test]
fn unikraft_plan_links_lwip_only_into_skills_with_net_capabilities() {
    if !unikraft_tools("unikraft_plan_links_lwip_only_into_skills_with_net_capabilities") {
        return;
    }
    let project = Project::new();
    let sources: Vec<String> = SOURCES
        .iter()
        .flat_map(|name| {
            let dir = project.root().join("upstream").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            ["--source".to_owned(), format!("{name}={}", dir.display())]
        })
        .collect();
    let plan = plan_json(&project, "x86_64", &sources);

    let net = step(&plan, "skill-net");
    assert_eq!(net["kind"]["kind"], "unikraft");
    assert_eq!(net["kind"]["name"], "net");
    assert_eq!(net["kind"]["arch"], "x86_64");
    let libraries: Vec<&str> = net["kind"]["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(libraries, ["hiveskill", "lwip"]);
    assert_eq!(
        net["kind"]["libraries"][1]["origin"],
        serde_json::json!({
            "source": "fork-lwip",
            "archive": "STABLE-2_1_2_RELEASE.zip",
            "unpack": "fork-lwip-STABLE-2_1_2_RELEASE",
        })
    );
    assert!(net["deps"].as_array().unwrap().contains(&"app-net".into()));

    // `pdf` has no `net:` capability: no lwip, no lwip sources; its own folder is the app's C.
    let pdf = step(&plan, "skill-pdf");
    assert_eq!(pdf["kind"]["libraries"].as_array().unwrap().len(), 1);
    assert_eq!(pdf["kind"]["skill-source"], "skill-src");
    let pdf_sources: Vec<&String> = pdf["sources"].as_object().unwrap().keys().collect();
    assert_eq!(pdf_sources, ["skill-runtime", "skill-src", "unikraft"]);
    assert_eq!(
        step(&plan, "app-pdf")["sources"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["template-c-app"]
    );
    // The stand-in skill base is not used on this lane.
    assert!(
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"]["kind"] != "make" || s["name"] == "packer"),
        "{plan}"
    );
}

#[test]
fn unikraft_manifest_errors_point_at_the_library() {
    let project = Project::new();
    let demo = std::fs::read_to_string(project.root().join("manifests/demo.toml")).unwrap();
    let broken = demo.replace("archive = \"STABLE-2_1_2_RELEASE.zip\"\n", "");
    assert_ne!(broken, demo);
    project.write("manifests/broken.toml", &broken);
    let output = project
        .hivebuild(&["check", "manifests/broken.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Unikraft library `lwip`: `origin`, `archive` and `unpack` go together")
            && stderr.contains("source = \"lib-lwip\""),
        "{stderr}"
    );

    // A skill with a `net:` capability and no lwip declared: the plan says which library.
    let no_lwip = demo
        .split("[platform.unikraft.libraries.lwip]")
        .next()
        .unwrap()
        .to_owned()
        + "[brain]"
        + demo.split_once("\n[brain]").unwrap().1;
    project.write("manifests/no-lwip.toml", &no_lwip);
    let empty = project.root().join("upstream/unikraft");
    std::fs::create_dir_all(&empty).unwrap();
    let output = project
        .hivebuild(&[
            "plan",
            "manifests/no-lwip.toml",
            "--target",
            "x86_64",
            "--source",
            &format!("unikraft={}", empty.display()),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("skill `net` needs the Unikraft library `lwip` (it has a `net:` capability)"),
        "{stderr}"
    );
}

/// The local clones and the tools a real build and boot needs, or why the test did not run.
fn real(test: &str) -> Option<Vec<(String, PathBuf)>> {
    let sources = upstream(test)?;
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["flex", "bison", "patch", "nm", "qemu-system-x86_64"]);
    have(test, &tools).then_some(sources)
}

/// The local clones, or why the test did not run.
fn upstream(test: &str) -> Option<Vec<(String, PathBuf)>> {
    let found: Vec<(String, PathBuf)> = SOURCES
        .iter()
        .filter_map(|name| {
            std::env::var_os(hive_plan::source_env_var(name))
                .map(|path| ((*name).to_owned(), PathBuf::from(path)))
        })
        .collect();
    if found.len() == SOURCES.len() {
        return Some(found);
    }
    eprintln!(
        "{test}: did not run: set HIVEBUILD_UNIKRAFT_SRC, HIVEBUILD_LIB_LWIP_SRC and \
         HIVEBUILD_FORK_LWIP_SRC to local clones of unikraft, lib-lwip and fork-lwip at the \
         commits hive.lock pins (docs/unikraft.md)"
    );
    None
}

fn with_upstream(project: &Project, args: &[&str], sources: &[(String, PathBuf)]) -> String {
    let mut command = project.hivebuild(args);
    for (name, path) in sources {
        command.env(hive_plan::source_env_var(name), path);
    }
    ok(&mut command)
}

/// Symbol names of a built skill (`nm -P` lines: name first).
fn symbols(output: &Path) -> Vec<String> {
    std::fs::read_to_string(output.join("skill.symbols"))
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn store_output(project: &Project, step: &str) -> PathBuf {
    std::fs::read_dir(&project.store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with(&format!("-{step}"))
        })
        .unwrap_or_else(|| panic!("no `{step}` in the store"))
}

#[test]
fn unikraft_real_skills_build_reproducibly_link_only_what_they_use_and_boot() {
    let test = "unikraft_real_skills_build_reproducibly_link_only_what_they_use_and_boot";
    let Some(sources) = real(test) else {
        return;
    };
    let project = Project::new();
    let demo = ["manifests/demo.toml", "--target", "x86_64"];
    with_upstream(&project, &[&["build"][..], &demo].concat(), &sources);

    // No network code in a skill without `net:` capabilities; the network skill has it.
    let pdf = symbols(&store_output(&project, "skill-pdf"));
    let net = symbols(&store_output(&project, "skill-net"));
    let network = |s: &String| {
        s.starts_with("lwip_") || s.starts_with("netif_") || s.starts_with("uk_netdev")
    };
    assert!(net.iter().any(network), "net links no network stack");
    let linked: Vec<&String> = pdf.iter().filter(|s| network(s)).collect();
    assert!(linked.is_empty(), "pdf links network code: {linked:?}");
    assert!(pdf.iter().any(|s| s == "skill_main"));

    // Bit-identical in a second store and folder.
    with_upstream(
        &project,
        &[&["build", "--check"][..], &demo].concat(),
        &sources,
    );

    let smoke = with_upstream(
        &project,
        &[&["test", "smoke"][..], &demo].concat(),
        &sources,
    );
    assert!(smoke.contains("smoke: 3 passed, 0 failed"), "{smoke}");
}

/// The peer protocol as components/skill-runtime/include/hive/peer.h defines it.
mod peer {
    pub(crate) const HEADER: usize = 6;
    pub(crate) const MAX_PAYLOAD: usize = 256;
    pub(crate) const HELLO: u8 = 0x01;
    pub(crate) const PING: u8 = 0x02;
    pub(crate) const MESSAGE: u8 = 0x03;
    pub(crate) const STATS: u8 = 0x04;
    pub(crate) const FAULT: u8 = 0x7f;
    pub(crate) const REPLY: u8 = 0x80;

    pub(crate) fn datagram(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let length = u16::try_from(payload.len()).unwrap();
        let mut out = vec![b'H', b'V', 1, opcode];
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }
}

#[test]
fn the_peer_protocol_here_is_the_header_s() {
    let header =
        std::fs::read_to_string(repo().join("components/skill-runtime/include/hive/peer.h"))
            .unwrap();
    let define = |name: &str| -> usize {
        header
            .lines()
            .find_map(|line| {
                let rest = line.strip_prefix("#define ")?.strip_prefix(name)?;
                let value = rest.split_whitespace().next()?;
                Some(match value.strip_prefix("0x") {
                    Some(hex) => usize::from_str_radix(hex, 16).unwrap(),
                    None => value.parse().unwrap(),
                })
            })
            .unwrap_or_else(|| panic!("no {name} in peer.h"))
    };
    assert_eq!(define("HIVE_PEER_VERSION "), 1);
    assert_eq!(define("HIVE_PEER_HEADER "), peer::HEADER);
    assert_eq!(define("HIVE_PEER_MAX_PAYLOAD "), peer::MAX_PAYLOAD);
    for (name, value) in [
        ("HIVE_PEER_HELLO ", peer::HELLO),
        ("HIVE_PEER_PING ", peer::PING),
        ("HIVE_PEER_MESSAGE ", peer::MESSAGE),
        ("HIVE_PEER_STATS ", peer::STATS),
        ("HIVE_PEER_FAULT ", peer::FAULT),
        ("HIVE_PEER_REPLY ", peer::REPLY),
    ] {
        assert_eq!(define(name), usize::from(value), "{name}");
    }
    assert_eq!(peer::datagram(peer::PING, b"ab"), b"HV\x01\x02\x00\x02ab");
}

/// The `net` skill booted in QEMU with its port forwarded; the console collected.
struct NetSkill {
    socket: UdpSocket,
    console: Arc<Mutex<String>>,
    watcher: Option<std::thread::JoinHandle<hive_qemu::Boot>>,
    qemu: u32,
}

impl NetSkill {
    fn boot(image: &Path) -> Self {
        let root = repo();
        let manifest = hive_manifest::load_manifest(&root.join("manifests/demo.toml")).unwrap();
        let target = hive_manifest::load_target(&manifest, "x86_64").unwrap();
        let skill = &manifest.skills["net"];
        let args = hive_qemu::skill::unikraft_skill(&target, skill).unwrap();
        let mut machine = hive_qemu::machine_for(&target, hive_qemu::Accel::Tcg).unwrap();
        machine.args.extend(args.args);
        machine.args.extend(args.tcg_args);
        let guest = hive_qemu::Guest::spawn(&machine, image, &[]).unwrap();
        let qemu = guest.id();
        let console = Arc::new(Mutex::new(String::new()));
        let watcher = {
            let console = Arc::clone(&console);
            std::thread::spawn(move || {
                guest
                    .watch(Duration::from_mins(1), &mut |bytes| {
                        console
                            .lock()
                            .unwrap()
                            .push_str(&String::from_utf8_lossy(bytes));
                        hive_qemu::Flow::Continue
                    })
                    .unwrap()
            })
        };
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(args.forwards[0].host).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let skill = Self {
            socket,
            console,
            watcher: Some(watcher),
            qemu,
        };
        skill.wait_for("net: ready");
        skill
    }

    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.console.lock().unwrap().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no `{text}` on the console:\n{}",
                self.console.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send a datagram; the reply, if one comes within a few tries.
    fn ask(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let mut buffer = [0u8; 2048];
        self.socket.send(datagram).unwrap();
        match self.socket.recv(&mut buffer) {
            Ok(n) => Some(buffer[..n].to_vec()),
            Err(_) => None,
        }
    }

    /// Ask until a reply comes (the first datagrams after boot may meet ARP on the way).
    fn ask_until_answered(&self, datagram: &[u8]) -> Vec<u8> {
        for _ in 0..20 {
            if let Some(reply) = self.ask(datagram) {
                return reply;
            }
        }
        panic!(
            "no reply to {datagram:?}; console:\n{}",
            self.console.lock().unwrap()
        );
    }

    fn stats(&self) -> [u32; 3] {
        let reply = self.ask_until_answered(&peer::datagram(peer::STATS, b""));
        assert_eq!(
            reply[..6],
            peer::datagram(peer::REPLY | peer::STATS, &[0; 12])[..6]
        );
        let word = |i: usize| u32::from_be_bytes(reply[6 + 4 * i..10 + 4 * i].try_into().unwrap());
        [word(0), word(1), word(2)]
    }

    /// Wait for the guest to stop by itself; its console.
    fn ended(mut self) -> hive_qemu::Boot {
        self.watcher.take().unwrap().join().unwrap()
    }
}

impl Drop for NetSkill {
    fn drop(&mut self) {
        if let Some(watcher) = self.watcher.take() {
            // The QEMU this test started; the watcher reaps it.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &self.qemu.to_string()])
                .status();
            let _ = watcher.join();
        }
    }
}

#[test]
fn unikraft_real_net_skill_answers_peers_drops_broken_datagrams_and_faults_on_request() {
    let test = "unikraft_real_net_skill_answers_peers_drops_broken_datagrams_and_faults_on_request";
    let Some(sources) = real(test) else {
        return;
    };
    let project = Project::new();
    with_upstream(
        &project,
        &["build", "manifests/demo.toml", "--target", "x86_64"],
        &sources,
    );
    let image = store_output(&project, "skill-net").join("skill.elf");

    let net = NetSkill::boot(&image);
    let hello = net.ask_until_answered(&peer::datagram(peer::HELLO, b""));
    assert_eq!(hello, peer::datagram(peer::REPLY | peer::HELLO, b"net"));
    let ping = net.ask_until_answered(&peer::datagram(peer::PING, b"are you there"));
    assert_eq!(
        ping,
        peer::datagram(peer::REPLY | peer::PING, b"are you there")
    );
    let message = net.ask_until_answered(&peer::datagram(peer::MESSAGE, b"hello brain"));
    assert_eq!(message, peer::datagram(peer::REPLY | peer::MESSAGE, b""));
    net.wait_for("net: message 1 for the brain (11 bytes)");
    let before = net.stats();

    // Broken: no answer, each counted.
    let mut wrong_length = peer::datagram(peer::PING, b"abc");
    wrong_length.pop();
    let broken: [Vec<u8>; 5] = [
        b"HV".to_vec(),
        b"XX\x01\x02\x00\x00".to_vec(),
        b"HV\x09\x02\x00\x00".to_vec(),
        peer::datagram(0x42, b""),
        wrong_length,
    ];
    for datagram in &broken {
        assert_eq!(net.ask(datagram), None, "{datagram:?} was answered");
    }
    let after = net.stats();
    assert_eq!(after[1] - before[1], 5, "dropped: {before:?} -> {after:?}");
    assert_eq!(after[2], 1);

    // Past the bounds: the skill stops itself.
    let mut too_long = b"HV\x01\x03".to_vec();
    too_long.extend_from_slice(&u16::try_from(peer::MAX_PAYLOAD + 1).unwrap().to_be_bytes());
    too_long.extend(std::iter::repeat_n(0u8, peer::MAX_PAYLOAD + 1));
    assert_eq!(net.ask(&too_long), None);
    let ended = net.ended();
    assert!(
        ended.console.contains("net: bounds check") && !ended.timed_out,
        "{}",
        ended.console
    );

    // The declared fault opcode, in a fresh boot.
    let net = NetSkill::boot(&image);
    let _ = net.ask_until_answered(&peer::datagram(peer::HELLO, b""));
    assert_eq!(net.ask(&peer::datagram(peer::FAULT, b"")), None);
    let ended = net.ended();
    assert!(
        ended.console.contains("net: fault requested by a peer") && !ended.timed_out,
        "{}",
        ended.console
    );
}
