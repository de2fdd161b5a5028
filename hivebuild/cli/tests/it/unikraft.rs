//! Skills as Unikraft unikernels (`[platform.unikraft]`, the `x86_64` lane of
//! `manifests/demo.toml`). Without the upstream sources these check the plan and the
//! manifest's errors; with them (`HIVEBUILD_UNIKRAFT_SRC`, `HIVEBUILD_LIB_LWIP_SRC`,
//! `HIVEBUILD_FORK_LWIP_SRC`: local clones at the commits `hive.lock` pins) `unikraft_real_*`
//! builds the skills, checks what is linked, boots them and talks to `net` over UDP.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use brain::protocol::Message;
use hive_qemu::channel::ChannelError;
use hive_qemu::skillvm::SkillVm;
use hive_qemu::{Accel, peer};

use crate::support::{BUILD_TOOLS, Project, have, ok, plan_json, repo, step};

const SOURCES: [&str; 4] = ["unikraft", "lib-lwip", "fork-lwip", "monocypher"];

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
    // `net` has `peers`: it links ed25519 too.
    assert_eq!(libraries, ["hiveskill", "lwip", "monocypher"]);
    assert_eq!(
        net["kind"]["libraries"][1]["origin"],
        serde_json::json!({
            "source": "fork-lwip",
            "archive": "STABLE-2_1_2_RELEASE.zip",
            "unpack": "fork-lwip-STABLE-2_1_2_RELEASE",
        })
    );
    assert!(net["deps"].as_array().unwrap().contains(&"app-net".into()));
    // The app is rendered knowing its machine: microvm's virtio-mmio transport and the
    // address on QEMU's user network (hive_manifest::guest; hive-qemu starts it so).
    let context = &step(&plan, "app-net")["kind"]["context"];
    assert_eq!(
        context["target"]["virtio_mmio"],
        serde_json::json!({ "base": "0xfeb02e00", "size": 512, "irq": 39 })
    );
    assert_eq!(
        context["skill"]["ipv4"],
        serde_json::json!({
            "address": [10, 0, 2, 15],
            "netmask": [255, 255, 255, 0],
            "gateway": [10, 0, 2, 2],
        })
    );
    // virt's devices are in its device tree; a skill without `net:` has no address.
    let virt = plan_json(&project, "standins-virt-aarch64", &sources);
    let context = &step(&virt, "app-net")["kind"]["context"];
    assert!(context["target"]["virtio_mmio"].is_null(), "{context}");
    assert_eq!(
        context["skill"]["ipv4"]["address"],
        serde_json::json!([10, 0, 2, 15])
    );
    let context = &step(&plan, "app-pdf")["kind"]["context"];
    assert!(context["skill"]["ipv4"].is_null(), "{context}");

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
pub(crate) fn real(test: &str) -> Option<Vec<(String, PathBuf)>> {
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
        "{test}: did not run: set HIVEBUILD_UNIKRAFT_SRC, HIVEBUILD_LIB_LWIP_SRC, \
         HIVEBUILD_FORK_LWIP_SRC and HIVEBUILD_MONOCYPHER_SRC to local clones of unikraft, \
         lib-lwip, fork-lwip and monocypher at the commits hive.lock pins (docs/unikraft.md)"
    );
    None
}

pub(crate) fn with_upstream(
    project: &Project,
    args: &[&str],
    sources: &[(String, PathBuf)],
) -> String {
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

pub(crate) fn store_output(project: &Project, step: &str) -> PathBuf {
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
    // `net` has `peers`: it checks their signatures; `pdf` has no such code.
    let ed25519 = |s: &String| s == "crypto_ed25519_check";
    assert!(net.iter().any(ed25519), "net cannot check signatures");
    assert!(!pdf.iter().any(ed25519), "pdf links ed25519");

    // Only the app changes: make compiles the app alone (the warm folder in the store's
    // cache kept the rest), and the image is still the one a clean build gives (below).
    let main = project.root().join("components/skills/pdf/main.c");
    let source = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        source.replace("text extraction", "text extraction v2"),
    )
    .unwrap();
    with_upstream(&project, &[&["build"][..], &demo].concat(), &sources);
    let newest = std::fs::read_dir(project.store.join(".cache/logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-skill-pdf.log"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    let log = std::fs::read_to_string(newest).unwrap();
    let compiled: Vec<&str> = log.lines().filter(|l| l.starts_with("  CC ")).collect();
    assert_eq!(compiled, ["  CC      appskill: main.o"], "{log}");

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

/// A skill of the demo booted on its own under TCG, as `test` boots it, its channel to the
/// Brain listened on by the test.
fn boot_skill(target: &str, name: &str, image: &Path) -> SkillVm {
    let root = repo();
    let manifest = hive_manifest::load_manifest(&root.join("manifests/demo.toml")).unwrap();
    let target = hive_manifest::load_target(&manifest, target).unwrap();
    let machine = hive_qemu::machine_for(&target, Accel::Tcg).unwrap();
    let vm = hive_qemu::skillvm::SkillBoot {
        machine: &machine,
        accel: Accel::Tcg,
        target: &target,
        skill: &manifest.skills[name],
        image,
        listened: None,
    }
    .boot(Duration::from_mins(1))
    .unwrap();
    let ready = regex::Regex::new(&format!("{name}: ready")).unwrap();
    assert!(
        vm.wait_for(&ready, Duration::from_secs(30)).is_some(),
        "{name} is not ready:\n{}",
        vm.console()
    );
    vm
}

/// The secret key of the demo's test peer `alice` (`manifests/demo.toml`, `[peers.alice]`).
pub(crate) const DEMO_PEER_SECRET: &[u8; 32] = b"hive demo peer: never trust me!!";
/// The secret key of the demo's other test peer, `bob`.
pub(crate) const DEMO_BOB_SECRET: &[u8; 32] = b"hive demo peer bob: never trust!";

/// A MESSAGE signed by `key`.
pub(crate) fn signed_message(key: &ed25519_dalek::SigningKey, body: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer as _;
    peer::message(&key.verifying_key().to_bytes(), body, |bytes| {
        key.sign(bytes).to_bytes()
    })
}

/// A `keys` store under `dir` whose hive key is `secret` (as `hivebuild key generate` writes
/// one: hex, mode 0600).
pub(crate) fn keys_store(dir: &Path, secret: &[u8; 32]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let store = dir.join("keys");
    std::fs::create_dir_all(&store).unwrap();
    let path = store.join(hive_ops::hive::HIVE_KEY);
    std::fs::write(&path, hive_sign::hex(secret) + "\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    store
}

/// A signed datagram of `opcode` (a MESSAGE or an answer to one) by `key`.
fn signed(key: &ed25519_dalek::SigningKey, opcode: u8, body: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer as _;
    peer::signed(opcode, &key.verifying_key().to_bytes(), body, |bytes| {
        key.sign(bytes).to_bytes()
    })
}

/// A MESSAGE signed by the demo's test peer.
pub(crate) fn demo_peer_message(body: &[u8]) -> Vec<u8> {
    signed_message(
        &ed25519_dalek::SigningKey::from_bytes(DEMO_PEER_SECRET),
        body,
    )
}

/// What the Brain gets of the demo peer's message after where it came from (the endpoint):
/// its key, then the body.
pub(crate) fn demo_peer_delivery(body: &[u8]) -> Vec<u8> {
    let key = ed25519_dalek::SigningKey::from_bytes(DEMO_PEER_SECRET).verifying_key();
    [&key.to_bytes()[..], body].concat()
}

/// The `net` skill, with a UDP socket to its forwarded port.
struct NetSkill {
    vm: SkillVm,
    socket: UdpSocket,
}

impl NetSkill {
    fn boot(target: &str, image: &Path) -> Self {
        let vm = boot_skill(target, "net", image);
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(vm.forwards[0].host).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        Self { vm, socket }
    }

    /// Send a datagram; the reply, if one comes.
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
        panic!("no reply to {datagram:?}; console:\n{}", self.vm.console());
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

    /// The Brain's side: send `message` over the skill's channel.
    fn brain_sends(&mut self, message: &Message) {
        self.vm
            .channel()
            .unwrap()
            .send(message, Duration::from_secs(5))
            .unwrap();
    }

    /// The next datagram the socket receives, if one comes.
    fn receive(&self) -> Option<Vec<u8>> {
        let mut buffer = [0u8; 2048];
        let n = self.socket.recv(&mut buffer).ok()?;
        Some(buffer[..n].to_vec())
    }

    /// A peer's message reaches the Brain (where it came from: this socket; its key and
    /// body) and the Brain's answer reaches the peer; a message the Brain sends reaches this
    /// socket, and the peer's signed answer (not a stranger's) comes back to the Brain.
    fn converses(&mut self, wait: Duration) {
        self.socket
            .send(&demo_peer_message(b"hello brain"))
            .unwrap();
        let Some(Message::Deliver(bytes)) = self.brain_receives(wait) else {
            panic!("no delivery; console:\n{}", self.vm.console());
        };
        let delivery = peer::Delivery::decode(&bytes).unwrap();
        assert_eq!(delivery.opcode, peer::MESSAGE);
        let alice = ed25519_dalek::SigningKey::from_bytes(DEMO_PEER_SECRET);
        let bob = ed25519_dalek::SigningKey::from_bytes(DEMO_BOB_SECRET);
        assert_eq!(delivery.key, alice.verifying_key().to_bytes());
        assert_eq!(delivery.body, b"hello brain");
        assert_eq!(delivery.from.ip(), &hive_qemu::skill::HOST_FROM_GUEST);
        assert_eq!(
            delivery.from.port(),
            self.socket.local_addr().unwrap().port()
        );
        let answer = signed(&bob, peer::REPLY | peer::MESSAGE, b"hello alice");
        self.brain_sends(&Message::Job(peer::send_job(delivery.from, &answer)));
        assert_eq!(self.brain_receives(wait), Some(Message::Done(Vec::new())));
        assert_eq!(self.receive(), Some(answer));

        let message = signed(&bob, peer::MESSAGE, b"how are you?");
        self.brain_sends(&Message::Job(peer::send_job(delivery.from, &message)));
        assert_eq!(self.brain_receives(wait), Some(Message::Done(Vec::new())));
        assert_eq!(self.receive(), Some(message));
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        self.socket
            .send(&signed(&stranger, peer::REPLY | peer::MESSAGE, b"me!"))
            .unwrap();
        self.socket
            .send(&signed(&alice, peer::REPLY | peer::MESSAGE, b"fine"))
            .unwrap();
        let Some(Message::Deliver(bytes)) = self.brain_receives(wait) else {
            panic!(
                "alice's answer was not delivered; console:\n{}",
                self.vm.console()
            );
        };
        assert_eq!(
            peer::Delivery::decode(&bytes),
            Some(peer::Delivery {
                from: delivery.from,
                opcode: peer::REPLY | peer::MESSAGE,
                key: alice.verifying_key().to_bytes(),
                body: b"fine".to_vec(),
            })
        );
    }

    /// What the Brain's end of the channel receives next, if anything within `wait`.
    fn brain_receives(&mut self, wait: Duration) -> Option<Message> {
        match self.vm.channel().unwrap().recv(wait) {
            Ok(message) => Some(message),
            Err(ChannelError::Timeout(_)) => None,
            Err(error) => panic!("the channel: {error}"),
        }
    }

    /// Wait for the guest to stop by itself; how it ended.
    fn ended(self) -> hive_qemu::Boot {
        self.vm.ended(Duration::from_secs(30)).unwrap()
    }
}

#[test]
fn unikraft_real_net_skill_answers_peers_hands_messages_to_the_brain_drops_broken_datagrams_and_faults()
 {
    let test = "unikraft_real_net_skill_answers_peers_hands_messages_to_the_brain_drops_broken_datagrams_and_faults";
    let Some(sources) = real(test) else {
        return;
    };
    let project = Project::new();
    let demo = ["manifests/demo.toml", "--target", "x86_64"];
    with_upstream(&project, &[&["build"][..], &demo].concat(), &sources);
    let image = store_output(&project, "skill-net").join("skill.elf");

    let mut net = NetSkill::boot("x86_64", &image);
    let second = Duration::from_secs(1);
    assert_eq!(net.brain_receives(second), Some(Message::Ready));
    let hello = net.ask_until_answered(&peer::datagram(peer::HELLO, b""));
    assert_eq!(hello, peer::datagram(peer::REPLY | peer::HELLO, b"net"));
    let ping = net.ask_until_answered(&peer::datagram(peer::PING, b"are you there"));
    assert_eq!(
        ping,
        peer::datagram(peer::REPLY | peer::PING, b"are you there")
    );
    // A message signed by the demo's peer reaches the Brain over the channel (where from, the
    // sender's key and the body, nothing else of the datagram), the Brain's answer goes back;
    // and the other way round.
    net.converses(Duration::from_secs(5));
    let before = net.stats();

    // Messages that are not the peer's: dropped, counted, nothing for the Brain.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let mut forged = demo_peer_message(b"hello brain");
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let not_signed = [
        peer::datagram(peer::MESSAGE, b"hello brain"),
        signed_message(&stranger, b"let me in"),
        forged,
        peer::datagram(peer::MESSAGE, &[0; peer::KEY + peer::SIGNATURE - 1]),
    ];
    for datagram in &not_signed {
        assert_eq!(net.ask(datagram), None, "{datagram:?} was answered");
    }
    // An answer nobody waits for: dropped too.
    let alice = ed25519_dalek::SigningKey::from_bytes(DEMO_PEER_SECRET);
    assert_eq!(
        net.ask(&signed(&alice, peer::REPLY | peer::MESSAGE, b"unasked")),
        None
    );
    let after = net.stats();
    assert_eq!(after[1] - before[1], 5, "dropped: {before:?} -> {after:?}");
    assert_eq!(net.brain_receives(Duration::from_millis(300)), None);
    let before = after;

    // Broken: no answer, each counted, nothing for the Brain.
    let mut wrong_length = peer::datagram(peer::MESSAGE, b"abc");
    wrong_length.pop();
    let broken: [Vec<u8>; 5] = [
        b"HV".to_vec(),
        b"XX\x01\x03\x00\x00".to_vec(),
        b"HV\x09\x03\x00\x00".to_vec(),
        peer::datagram(0x42, b""),
        wrong_length,
    ];
    for datagram in &broken {
        assert_eq!(net.ask(datagram), None, "{datagram:?} was answered");
    }
    let after = net.stats();
    assert_eq!(after[1] - before[1], 5, "dropped: {before:?} -> {after:?}");
    assert_eq!(after[2], 1);
    assert_eq!(net.brain_receives(Duration::from_millis(300)), None);

    // Past the bounds: the skill stops itself.
    let mut too_long = b"HV\x01\x03".to_vec();
    too_long.extend_from_slice(&u16::try_from(peer::MAX_PAYLOAD + 1).unwrap().to_be_bytes());
    too_long.extend(std::iter::repeat_n(0u8, peer::MAX_PAYLOAD + 1));
    assert_eq!(net.ask(&too_long), None);
    let ended = net.ended();
    assert!(
        ended.console.contains("net: bounds check") && ended.status.is_some(),
        "{}",
        ended.console
    );

    // The declared fault opcode, in a fresh boot.
    let net = NetSkill::boot("x86_64", &image);
    let _ = net.ask_until_answered(&peer::datagram(peer::HELLO, b""));
    assert_eq!(net.ask(&peer::datagram(peer::FAULT, b"")), None);
    let ended = net.ended();
    assert!(
        ended.console.contains("net: fault requested by a peer") && ended.status.is_some(),
        "{}",
        ended.console
    );

    // `test faults`: faulted through the network up to its restart limit, back each time.
    let faults = with_upstream(
        &project,
        &[&["test", "faults"][..], &demo].concat(),
        &sources,
    );
    assert!(faults.contains("faults: 1 passed, 0 failed"), "{faults}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.root().join("test-reports/demo-x86_64/faults.json")).unwrap(),
    )
    .unwrap();
    let restarts = report["scenarios"][0]["outcome"]["restarts_ms"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(restarts, 3, "restart-limit = 3: {report}");
}

/// A one-page PDF showing `content`, its content stream Flate-compressed when `flate`.
pub(crate) fn pdf(content: &[u8], flate: bool) -> Vec<u8> {
    use std::io::Write as _;
    let (data, filter) = if flate {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(content).unwrap();
        (encoder.finish().unwrap(), "/Filter /FlateDecode ")
    } else {
        (content.to_vec(), "")
    };
    let mut stream = format!("<< /Length {} {filter}>>\nstream\n", data.len()).into_bytes();
    stream.extend_from_slice(&data);
    stream.extend_from_slice(b"\nendstream");
    let objects: [Vec<u8>; 5] = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        stream,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    for (number, object) in objects.iter().enumerate() {
        out.extend_from_slice(format!("{} 0 obj\n", number + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    out.extend_from_slice(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n");
    out
}

/// The PDFs the `pdf` skill is sent: a name, the file, and the text it must answer or the
/// start of its error.
type PdfCase = (&'static str, Vec<u8>, Result<&'static str, &'static str>);

fn pdf_cases() -> Vec<PdfCase> {
    let content: &[u8] = b"BT /F1 12 Tf 72 720 Td (Hello from Hive) Tj 0 -14 Td \
        [(The PDF) -300 (skill) 20 (s)] TJ T* (esc\\(aped\\) \\101\\102) Tj (next) ' ET";
    let shown = "Hello from Hive\nThe PDF skills\nesc(aped) AB\nnext\n";
    let flate = pdf(content, true);
    let mut truncated = flate.clone();
    truncated.truncate(flate.len() / 2 + 40);
    let mut corrupt = flate.clone();
    let data = corrupt.windows(7).position(|w| w == b"stream\n").unwrap() + 7;
    corrupt[data + 5..data + 15].fill(0xff);
    let mut bomb_content = b"BT (".to_vec();
    bomb_content.extend(std::iter::repeat_n(b'A', 600_000));
    bomb_content.extend_from_slice(b") Tj ET");
    let mut unbalanced = b"BT ".to_vec();
    unbalanced.extend(std::iter::repeat_n(b'(', 5000));
    vec![
        ("plain", pdf(content, false), Ok(shown)),
        ("flate", flate, Ok(shown)),
        (
            "truncated",
            truncated,
            Err("truncated: a stream without endstream"),
        ),
        ("corrupt", corrupt, Err("corrupt: a Flate stream: ")),
        (
            "bomb",
            pdf(&bomb_content, true),
            Err("corrupt: a Flate stream: it inflates past the skill's limit"),
        ),
        ("unbalanced", pdf(&unbalanced, false), Ok("")),
        (
            "not a pdf",
            b"hello, not a pdf".to_vec(),
            Err("not a PDF: it does not start with %PDF-"),
        ),
        ("empty", Vec::new(), Err("not a PDF")),
        (
            "largest job",
            vec![b'%'; brain::protocol::FRAME_MAX - 1],
            Err("not a PDF"),
        ),
        (
            "no content",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF".to_vec(),
            Err("no text: "),
        ),
    ]
}

#[test]
fn unikraft_real_pdf_skill_answers_text_or_an_error_for_every_pdf_and_faults_on_request() {
    let test =
        "unikraft_real_pdf_skill_answers_text_or_an_error_for_every_pdf_and_faults_on_request";
    let Some(sources) = real(test) else {
        return;
    };
    let project = Project::new();
    let demo = ["manifests/demo.toml", "--target", "x86_64"];
    with_upstream(&project, &[&["build"][..], &demo].concat(), &sources);
    let image = store_output(&project, "skill-pdf").join("skill.elf");

    pdf_skill_answers("x86_64", &image);
}

/// Send every case of [`pdf_cases`] to the `pdf` skill booted on `target`, check each answer,
/// then crash it through its channel and have it restarted twice.
fn pdf_skill_answers(target: &str, image: &Path) {
    let cases = pdf_cases();
    let mut vm = boot_skill(target, "pdf", image);
    let channel = vm.channel().unwrap();
    let wait = Duration::from_secs(20);
    assert_eq!(channel.recv(wait).unwrap(), Message::Ready);
    for (name, file, expected) in &cases {
        let started = Instant::now();
        channel.send(&Message::Job(file.clone()), wait).unwrap();
        let answer = channel.recv(wait).unwrap();
        let took = started.elapsed();
        match (expected, &answer) {
            (Ok(expected_text), Message::Done(got)) => {
                assert_eq!(String::from_utf8_lossy(got), *expected_text, "{name}");
            }
            (Err(prefix), Message::Error(got)) => {
                assert!(got.starts_with(prefix), "{name}: {got}");
            }
            _ => panic!("{name}: expected {expected:?}, answered {answer:?}"),
        }
        eprintln!("{name}: {} bytes answered in {took:?}", file.len());
    }
    channel.send(&Message::Ping(41), wait).unwrap();
    assert_eq!(channel.recv(wait).unwrap(), Message::Pong(41));
    channel
        .send(&Message::Done(b"not a request".to_vec()), wait)
        .unwrap();
    assert!(matches!(channel.recv(wait).unwrap(), Message::Error(_)));

    // Crash on request: the guest ends, and a fresh boot serves again.
    channel.send(&Message::Crash, wait).unwrap();
    let ended = vm.ended(Duration::from_secs(30)).unwrap();
    assert!(
        ended.console.contains("pdf: crashing on request") && ended.status.is_some(),
        "{}",
        ended.console
    );
    let root = repo();
    let manifest = hive_manifest::load_manifest(&root.join("manifests/demo.toml")).unwrap();
    let target = hive_manifest::load_target(&manifest, target).unwrap();
    let machine = hive_qemu::machine_for(&target, Accel::Tcg).unwrap();
    let outcome = hive_qemu::skillfaults::run(
        &hive_qemu::skillfaults::SkillBoot {
            machine: &machine,
            accel: Accel::Tcg,
            target: &target,
            skill: &manifest.skills["pdf"],
            image,
            listened: None,
        },
        hive_qemu::skillfaults::Fault::Channel,
        &hive_qemu::skillfaults::SkillScenario {
            ready: regex::Regex::new("pdf: ready").unwrap(),
            faults: 2,
            boot_within: Duration::from_secs(30),
            restart_within: Duration::from_secs(5),
        },
    )
    .unwrap();
    assert_eq!(outcome.failure, None, "{}", outcome.console);
    assert_eq!(outcome.restarts_ms.len(), 2);
}

#[test]
fn unikraft_real_arm64_virt_skills_boot_answer_and_come_back_after_faults() {
    let test = "unikraft_real_arm64_virt_skills_boot_answer_and_come_back_after_faults";
    let Some(sources) = real(test) else {
        return;
    };
    if !have(test, &["qemu-system-aarch64", "aarch64-linux-gnu-gcc"]) {
        return;
    }
    let project = Project::new();
    let demo = ["manifests/demo.toml", "--target", "standins-virt-aarch64"];
    with_upstream(&project, &[&["build"][..], &demo].concat(), &sources);
    let net = symbols(&store_output(&project, "skill-net"));
    assert!(net.iter().any(|s| s.starts_with("lwip_")));
    let smoke = with_upstream(
        &project,
        &[&["test", "smoke"][..], &demo].concat(),
        &sources,
    );
    assert!(smoke.contains("smoke: 3 passed, 0 failed"), "{smoke}");
    let faults = with_upstream(
        &project,
        &[&["test", "faults"][..], &demo].concat(),
        &sources,
    );
    assert!(faults.contains("faults: 1 passed, 0 failed"), "{faults}");

    let mut net = NetSkill::boot(
        "standins-virt-aarch64",
        &store_output(&project, "skill-net").join("skill.elf"),
    );
    assert_eq!(
        net.brain_receives(Duration::from_secs(5)),
        Some(Message::Ready)
    );
    let _ = net.ask_until_answered(&peer::datagram(peer::HELLO, b""));
    net.converses(Duration::from_secs(5));
    drop(net);
    pdf_skill_answers(
        "standins-virt-aarch64",
        &store_output(&project, "skill-pdf").join("skill.elf"),
    );
}

/// The demo hive on `x86_64` (real Unikraft skills, the Brain with its mind) through the Nix
/// engine: every step's output has the native engine's bytes. Runs only with the upstream
/// clones given (and Nix installed).
#[test]
fn the_nix_engine_builds_the_demo_with_the_native_engines_bytes() {
    let test = "the_nix_engine_builds_the_demo_with_the_native_engines_bytes";
    let Some(sources) = real(test) else {
        return;
    };
    if !have(test, &["nix-store", "nix-hash"]) {
        return;
    }
    let project = Project::new();
    let demo = [
        "--json",
        "build",
        "manifests/demo.toml",
        "--target",
        "x86_64",
    ];
    let (native, _) = crate::nix::outputs(&with_upstream(&project, &demo, &sources));
    let nix_store = project.root().join("nix");
    let nix_store = nix_store.to_str().unwrap();
    let (nix, built) = crate::nix::outputs(&with_upstream(
        &project,
        &[&["--engine", "nix", "--nix-store", nix_store][..], &demo].concat(),
        &sources,
    ));
    assert_eq!(built, native.len(), "Nix built every step");
    assert_eq!(nix, native, "step by step, the same NAR hashes");
}
