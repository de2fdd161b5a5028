//! The hosted police (`components/police-hosted`) owning the demo's real Unikraft skills
//! (`x86_64`, TCG): runs when the upstream sources are given, like `unikraft_real_*`.

use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::Duration;

use brain::protocol::Message;
use hive_manifest::caps::Capability;
use hive_police::{Config, Event, Police, Refusal, SkillImage};
use hive_qemu::{Accel, peer};

use crate::support::Project;
use crate::unikraft::{DEMO_BOB_SECRET, DEMO_PEER_SECRET, pdf, real, store_output, with_upstream};

/// Events until `matches` says one is the awaited one (at most `wait`); all of them.
fn until(
    events: &mpsc::Receiver<Event>,
    wait: Duration,
    matches: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match events.recv_timeout(left) {
            Ok(event) => {
                let done = matches(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("the awaited event did not come within {wait:?}; seen: {seen:?}");
}

/// The QEMUs running `image`.
fn qemu_pids_of(image: &std::path::Path) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .args(["-f", &image.display().to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// The demo's skills built for `x86_64` in a project of their own, or `None` when the Unikraft
/// sources are not given. The Brain is built without its mind: these tests need its skills
/// only (and llama.cpp takes minutes to build).
fn demo_skills(test: &str) -> Option<(Project, hive_manifest::Target, Vec<SkillImage>)> {
    let sources = real(test)?;
    let project = Project::new();
    let manifest_path = project.root().join("manifests/demo.toml");
    let demo_text = std::fs::read_to_string(&manifest_path).unwrap();
    let mindless = demo_text.replace("features = [\"mind\"]\n", "");
    assert_ne!(demo_text, mindless, "the demo's Brain has its mind");
    std::fs::write(&manifest_path, mindless).unwrap();
    let (_, target, images) = build_demo(&project, &sources);
    Some((project, target, images))
}

/// Build the project's demo for `x86_64`: its manifest, the target, the skills' images.
fn build_demo(project: &Project, sources: &[(String, std::path::PathBuf)]) -> Demo {
    let demo = ["manifests/demo.toml", "--target", "x86_64"];
    with_upstream(project, &[&["build"][..], &demo].concat(), sources);
    let manifest =
        hive_manifest::load_manifest(&project.root().join("manifests/demo.toml")).unwrap();
    let target = hive_manifest::load_target(&manifest, "x86_64").unwrap();
    let images = ["net", "pdf"]
        .into_iter()
        .map(|name| SkillImage {
            skill: manifest.skills[name].clone(),
            image: store_output(project, &format!("skill-{name}")).join("skill.elf"),
        })
        .collect();
    (manifest, target, images)
}

#[test]
#[allow(clippy::too_many_lines)] // one hive's life, in order
fn police_starts_skills_from_its_pool_refuses_ungranted_requests_and_restarts_faulted_skills() {
    let test =
        "police_starts_skills_from_its_pool_refuses_ungranted_requests_and_restarts_faulted_skills";
    let Some((_project, target, images)) = demo_skills(test) else {
        return;
    };
    let (events_in, events) = mpsc::channel();
    let police = Police::start(
        Config {
            machine: hive_qemu::machine_for(&target, Accel::Tcg).unwrap(),
            accel: Accel::Tcg,
            target: target.clone(),
            // This Brain may reach `pdf` only, not `net`.
            brain_caps: vec![Capability::Channel { peer: "pdf".into() }],
            skills: images.clone(),
            pool: 1,
            fault_line: regex::Regex::new("CRIT:.*").unwrap(),
            ready_within: Duration::from_secs(20),
            listen: std::collections::BTreeMap::new(),
        },
        events_in,
    )
    .unwrap();

    // `net` is not lazy: started at once, from its pool.
    let started = until(
        &events,
        Duration::from_secs(30),
        |e| matches!(e, Event::Ready { skill, .. } if skill == "net"),
    );
    assert!(
        !started
            .iter()
            .any(|e| matches!(e, Event::Ready { skill, .. } if skill == "pdf")),
        "pdf is lazy: {started:?}"
    );
    assert!(police.pool_ready("pdf", 1, Duration::from_secs(30)));

    // The Brain holds no channel to `net`: refused and logged.
    let refused = police.request("net", Message::Ping(1), Duration::from_secs(5));
    assert!(
        matches!(&refused, Err(Refusal::NotGranted(why)) if why.contains("no channel to `net`")),
        "{refused:?}"
    );
    until(
        &events,
        Duration::from_secs(1),
        |e| matches!(e, Event::Refused { skill, .. } if skill == "net"),
    );

    // `pdf` starts when first asked (a paused VM resumed), and answers.
    let answer = police
        .request(
            "pdf",
            Message::Job(pdf(b"BT (Hello from the police) Tj ET", true)),
            Duration::from_secs(30),
        )
        .unwrap();
    assert_eq!(answer, Message::Done(b"Hello from the police\n".to_vec()));
    let ready = until(
        &events,
        Duration::from_secs(1),
        |e| matches!(e, Event::Ready { skill, restart: 0, .. } if skill == "pdf"),
    );
    let Some(Event::Ready { ms, .. }) = ready.last() else {
        unreachable!()
    };
    eprintln!("{test}: pdf from the pool to ready: {ms:.1} ms");

    // A crash on request: the pending request is answered with the fault, and `pdf`
    // (restart = "on-failure") comes back and answers again.
    let crashed = police.request("pdf", Message::Crash, Duration::from_secs(30));
    assert!(
        matches!(&crashed, Err(Refusal::NoAnswer { why, .. }) if why.contains("crashing on request")),
        "{crashed:?}"
    );
    until(
        &events,
        Duration::from_secs(30),
        |e| matches!(e, Event::Ready { skill, restart: 1, .. } if skill == "pdf"),
    );
    let again = police
        .request("pdf", Message::Ping(9), Duration::from_secs(30))
        .unwrap();
    assert_eq!(again, Message::Pong(9));

    // `net` faulted by a peer three times is restarted three times (restart-limit = 3); the
    // fourth fault stops it for good.
    net_faults_until_stopped(&police, &events);
    assert!(police.stopped("net").is_some());
    assert_eq!(
        police
            .request("pdf", Message::Ping(10), Duration::from_secs(30))
            .unwrap(),
        Message::Pong(10),
        "pdf is untouched by net's faults"
    );
    drop(police);
    for image in &images {
        assert!(
            qemu_pids_of(&image.image).is_empty(),
            "no QEMU outlives the police"
        );
    }
}

/// Fault `net` with the peer protocol's fault datagram, sent to where the police forwards its
/// port now, until it is stopped: restarted after each of the first three faults.
fn net_faults_until_stopped(police: &Police, events: &mpsc::Receiver<Event>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let fault = peer::datagram(peer::FAULT, b"");
    for round in 1..=4_u32 {
        let host = police.forwards("net")[0].host;
        let mut seen = Vec::new();
        for _ in 0..50 {
            socket.send_to(&fault, host).unwrap();
            if let Ok(event) = events.recv_timeout(Duration::from_millis(300)) {
                let faulted = matches!(&event, Event::Faulted { skill, .. } if skill == "net");
                seen.push(event);
                if faulted {
                    break;
                }
            }
        }
        assert!(
            seen.iter()
                .any(|e| matches!(e, Event::Faulted { skill, why } if skill == "net" && why.contains("fault requested by a peer"))),
            "round {round}: {seen:?}"
        );
        if round <= 3 {
            until(
                events,
                Duration::from_secs(30),
                |e| matches!(e, Event::Ready { skill, restart, .. } if skill == "net" && *restart == round),
            );
        } else {
            until(
                events,
                Duration::from_secs(30),
                |e| matches!(e, Event::Stopped { skill, why } if skill == "net" && why.contains("3 restarts")),
            );
        }
    }
}

/// A steady stream of requests while the skill's VMs (the running one and the paused ones of
/// its pool) are killed with SIGKILL at random moments: every request is answered, by the
/// skill or with an error saying why (none waits out its timeout), the skill keeps coming
/// back, and no QEMU outlives the police.
#[test]
fn police_answers_every_request_while_its_skill_vms_are_killed_at_random() {
    let test = "police_answers_every_request_while_its_skill_vms_are_killed_at_random";
    let Some((_project, target, images)) = demo_skills(test) else {
        return;
    };
    let mut pdf = images.into_iter().find(|i| i.skill.name == "pdf").unwrap();
    // Restarted whatever the ending, as often as it takes: this test is about answers.
    pdf.skill.restart = hive_manifest::model::Restart::Always;
    pdf.skill.restart_limit = 1000;
    let (events_in, events) = mpsc::channel();
    let police = std::sync::Arc::new(
        Police::start(
            Config {
                machine: hive_qemu::machine_for(&target, Accel::Tcg).unwrap(),
                accel: Accel::Tcg,
                target: target.clone(),
                brain_caps: vec![Capability::Channel { peer: "pdf".into() }],
                skills: vec![pdf.clone()],
                pool: 2,
                fault_line: regex::Regex::new("CRIT:.*").unwrap(),
                ready_within: Duration::from_secs(20),
                listen: std::collections::BTreeMap::new(),
            },
            events_in,
        )
        .unwrap(),
    );
    assert!(police.pool_ready("pdf", 2, Duration::from_mins(1)));

    let timeout = Duration::from_mins(1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Two callers, like the Brain's request threads, each sending pings one after another.
    let callers: Vec<_> = (0..2_u32)
        .map(|caller| {
            let police = std::sync::Arc::clone(&police);
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                let mut n = caller * 1_000_000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let sent = std::time::Instant::now();
                    let answer = police.request("pdf", Message::Ping(n), timeout);
                    answers.push((n, answer, sent.elapsed()));
                }
                answers
            })
        })
        .collect();

    let kills = kill_at_random(test, &pdf.image, 25);
    // Let the skill come back, and see it answer once more.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers: Vec<_> = callers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let last = police.request("pdf", Message::Ping(7), timeout);
    assert_eq!(last, Ok(Message::Pong(7)), "pdf is back after the kills");

    let (mut answered, mut refused) = (0, 0);
    for (n, answer, took) in &answers {
        match answer {
            Ok(Message::Pong(m)) if m == n => answered += 1,
            Err(Refusal::NoAnswer { why, .. }) if !why.starts_with("no answer within") => {
                refused += 1;
            }
            other => panic!("request {n} ({took:?}): {other:?}"),
        }
        assert!(*took < timeout, "request {n} waited out its timeout");
    }
    let faults = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, Event::Faulted { skill, .. } if skill == "pdf"))
        .count();
    eprintln!(
        "{test}: {} requests: {answered} answered, {refused} refused with a reason; {kills} kills, {faults} faults seen",
        answers.len()
    );
    assert!(answered > 0 && refused > 0, "the kills met requests");
    assert!(faults > 0);
    assert!(police.stopped("pdf").is_none(), "pdf was never stopped");

    drop(
        std::sync::Arc::try_unwrap(police)
            .ok()
            .expect("the callers are done"),
    );
    assert!(
        qemu_pids_of(&pdf.image).is_empty(),
        "no QEMU outlives the police"
    );
}

/// `kills` SIGKILLs, 50-400 ms apart, each at one of the QEMUs running `image` (running or
/// pooled), from a seed printed so a failure can be replayed.
fn kill_at_random(test: &str, image: &std::path::Path, kills: u32) -> u32 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        | 1;
    eprintln!("{test}: seed {seed}");
    let mut random = seed;
    let mut next = move |below: u32| {
        random ^= random << 13;
        random ^= random >> 17;
        random ^= random << 5;
        random % below
    };
    let mut done = 0;
    while done < kills {
        std::thread::sleep(Duration::from_millis(50 + u64::from(next(350))));
        let pids = qemu_pids_of(image);
        if pids.is_empty() {
            continue;
        }
        let pid = pids[next(u32::try_from(pids.len()).unwrap()) as usize];
        if std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
        {
            done += 1;
        }
    }
    done
}

/// A built demo: its manifest, the target, the skills' images.
type Demo = (
    hive_manifest::Manifest,
    hive_manifest::Target,
    Vec<SkillImage>,
);

/// The demo built with its thinking Brain, and the models folder; `None` (and why, printed)
/// without the Unikraft sources or the models.
fn thinking_demo(test: &str) -> Option<(Project, Demo, std::path::PathBuf)> {
    let sources = real(test)?;
    let models = crate::ask::models(test)?;
    let project = Project::new();
    let built = build_demo(&project, &sources);
    Some((project, built, models))
}

/// A running demo hive of the police and the thinking Brain, started as `hivebuild run` starts
/// one: its Brain's `keys` store holds `secret`, so it is that `[peers]` entry and, when
/// `at_its_address`, `net` listens at its address (else at a free port only).
struct TestHive {
    police: std::sync::Arc<Police>,
    brain: std::sync::Arc<hive_police::Brain>,
    /// The police's events, once the Brain has seen them.
    events: mpsc::Receiver<Event>,
    /// Every byte the Brain was sent.
    transcript: std::path::PathBuf,
}

impl TestHive {
    fn start(
        project: &Project,
        (manifest, target, images): &Demo,
        models: &std::path::Path,
        name: &str,
        secret: &[u8; 32],
        at_its_address: bool,
    ) -> Self {
        use std::sync::Arc;
        let dir = project.root().join(name);
        let stores = vec![
            ("models".into(), models.to_owned()),
            ("memory".into(), dir.join("memory")),
            ("files".into(), crate::support::repo()),
            ("keys".into(), crate::unikraft::keys_store(&dir, secret)),
        ];
        let me = hive_ops::hive::identity(manifest, &stores)
            .unwrap()
            .expect("the key is one of the demo's peers");
        assert_eq!(me.name, name);
        let (events_in, events) = mpsc::channel();
        let police = Arc::new(
            Police::start(
                Config {
                    machine: hive_qemu::machine_for(target, Accel::Tcg).unwrap(),
                    accel: Accel::Tcg,
                    target: target.clone(),
                    brain_caps: manifest.brain.caps.clone(),
                    skills: images.clone(),
                    pool: 1,
                    fault_line: regex::Regex::new("CRIT:.*").unwrap(),
                    ready_within: Duration::from_secs(20),
                    listen: if at_its_address {
                        hive_ops::hive::listen(manifest, &me)
                    } else {
                        std::collections::BTreeMap::new()
                    },
                },
                events_in,
            )
            .unwrap(),
        );
        let run = dir.join("run");
        let transcript = run.join("to-brain.bin");
        let brain = Arc::new(
            hive_police::Brain::start(
                &hive_police::BrainConfig {
                    binary: store_output(project, "brain").join("bin/brain"),
                    card: hive_ops::hive::card(manifest),
                    stores,
                    run_dir: run,
                    threads: None,
                    ready_within: Duration::from_mins(2),
                    skill_timeout: Duration::from_mins(1),
                    transcript: Some(transcript.clone()),
                },
                Arc::clone(&police),
            )
            .unwrap(),
        );
        // The police's events go to the Brain, as in a running hive, and on to the checks.
        let events = brain.relay(events);
        Self {
            police,
            brain,
            events,
            transcript,
        }
    }
}

/// Two hives of the demo on this machine, alice and bob (their keys in their Brains' `keys`
/// stores), reach each other through their `net` skills only: alice's Brain is asked to send
/// bob a message; its planner picks `net` and the peer, signs the message; bob's `net` checks it
/// and hands it to bob's Brain, which words an answer, signs it and has its `net` send it back;
/// alice's `net` checks that and alice's Brain says who answered what.
#[test]
fn two_hives_talk_through_their_net_skills_only() {
    let test = "two_hives_talk_through_their_net_skills_only";
    let Some((project, built, models)) = thinking_demo(test) else {
        return;
    };
    let bob = TestHive::start(&project, &built, &models, "bob", DEMO_BOB_SECRET, true);
    let alice = TestHive::start(&project, &built, &models, "alice", DEMO_PEER_SECRET, true);
    for (hive, port) in [(&alice, 4101), (&bob, 4102)] {
        assert!(
            hive.police
                .forwards("net")
                .iter()
                .any(|f| f.host == std::net::SocketAddr::from(([127, 0, 0, 1], port))),
            "net listens on its peer address: {:?}",
            hive.police.forwards("net")
        );
    }

    let answer = alice
        .brain
        .ask(
            "send a message to the peer hive bob saying hello from alice",
            Duration::from_mins(5),
        )
        .expect("alice's Brain answered");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    eprintln!("{test}: {answer:#}");
    for name in ["alice", "bob"] {
        let log = project.root().join(name).join("run/brain.log");
        eprintln!(
            "{test}: {name}'s Brain:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    assert_eq!(answer["skill"], "net", "{answer:#}");
    assert_eq!(answer["arguments"]["peer"], "bob", "{answer:#}");
    assert_eq!(answer["error"], serde_json::Value::Null, "{answer:#}");
    let result = answer["result"].as_str().unwrap();
    let said = result
        .strip_prefix("`bob` answered: ")
        .unwrap_or_else(|| panic!("bob's signed answer: {result}"));
    assert!(!said.trim().is_empty(), "{result}");

    // Bob's Brain got alice's key and her message, nothing of a datagram; alice's got bob's
    // answer (key and body) and no header either.
    let message = answer["arguments"]["text"].as_str().unwrap();
    let alice_key = ed25519_dalek::SigningKey::from_bytes(DEMO_PEER_SECRET)
        .verifying_key()
        .to_bytes();
    let bob_key = ed25519_dalek::SigningKey::from_bytes(DEMO_BOB_SECRET)
        .verifying_key()
        .to_bytes();
    let transcripts = [&alice, &bob].map(|hive| std::fs::read(&hive.transcript).unwrap());
    let has = |received: &[u8], needle: &[u8]| received.windows(needle.len()).any(|w| w == needle);
    assert!(has(
        &transcripts[1],
        &[&alice_key[..], message.as_bytes()].concat()
    ));
    assert!(has(
        &transcripts[0],
        &[&bob_key[..], said.as_bytes()].concat()
    ));
    for received in &transcripts {
        assert!(
            !has(received, b"HV\x01"),
            "a datagram's header reached a Brain"
        );
    }
    // Neither hive's pdf was asked for anything.
    for hive in [&alice, &bob] {
        let events: Vec<Event> = hive.events.try_iter().collect();
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Ready { skill, .. } if skill == "pdf")),
            "{events:?}"
        );
    }
}

/// A hostile peer floods `net` (broken, oversize, unsigned, stranger-signed and forged
/// datagrams, and the fault opcode every 700 ms) while the thinking Brain is asked to read a
/// PDF: the police restarts `net` after each fault until its limit and then stops it, the
/// Brain answers throughout and beats at 10 Hz or more (at least 20 beats inside the fault
/// window), `pdf` is untouched, and of everything the Brain was sent, a friendly peer's signed
/// message is there and no byte of the hostile ones.
#[test]
#[allow(clippy::too_many_lines)] // one attack, in order
fn a_hostile_peer_cannot_reach_the_brain_which_answers_throughout() {
    use std::sync::Arc;

    let test = "a_hostile_peer_cannot_reach_the_brain_which_answers_throughout";
    let Some((project, built, models)) = thinking_demo(test) else {
        return;
    };
    let TestHive {
        police,
        brain,
        events: relayed,
        transcript,
    } = TestHive::start(&project, &built, &models, "bob", DEMO_BOB_SECRET, false);

    // A friendly peer first (once net answers at all: the first datagrams may meet ARP): its
    // signed message reaches the Brain, whose answer (this hive is bob) comes back.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let net_address = police.forwards("net")[0].host;
    let mut buffer = [0_u8; 512];
    let up = (0..30).any(|_| {
        socket
            .send_to(&peer::datagram(peer::HELLO, b""), net_address)
            .unwrap();
        socket.recv(&mut buffer).is_ok()
    });
    assert!(up, "net never answered hello");
    let friendly = crate::unikraft::demo_peer_message(b"friendly hello");
    socket.send_to(&friendly, net_address).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_mins(1)))
        .unwrap();
    let n = socket
        .recv(&mut buffer)
        .expect("the Brain answered the friendly peer");
    let bob = ed25519_dalek::SigningKey::from_bytes(DEMO_BOB_SECRET);
    assert_eq!(buffer[3], peer::REPLY | peer::MESSAGE);
    assert!(
        n > peer::HEADER + peer::KEY + peer::SIGNATURE,
        "an empty answer"
    );
    assert_eq!(
        buffer[peer::HEADER..peer::HEADER + peer::KEY],
        bob.verifying_key().to_bytes()
    );
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();

    // The Brain is asked while the attack runs.
    let asking = {
        let brain = Arc::clone(&brain);
        std::thread::spawn(move || {
            (0..2)
                .map(|_| {
                    brain.ask(
                        "extract the text of samples/report.pdf",
                        Duration::from_mins(5),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let marker = b"HOSTILE-7f3a";
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let mut forged = crate::unikraft::demo_peer_message(marker);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let mut oversize = peer::datagram(peer::MESSAGE, marker);
    oversize[4..6].copy_from_slice(&u16::try_from(peer::MAX_PAYLOAD + 1).unwrap().to_be_bytes());
    let hostile: Vec<Vec<u8>> = vec![
        marker.to_vec(),
        [&b"HV\x01\x03\x00\x0c"[..], &marker[..], b"trailing"].concat(),
        peer::datagram(peer::MESSAGE, marker),
        crate::unikraft::signed_message(&stranger, marker),
        forged,
        [&b"HV\x01\x2a\x00\x0c"[..], &marker[..]].concat(),
    ];
    let beats_before = brain.beats();
    let window = std::time::Instant::now();
    let mut sent = 0_u32;
    let mut last_fault = std::time::Instant::now();
    let mut faults_sent = 0_u32;
    while police.stopped("net").is_none() && window.elapsed() < Duration::from_mins(2) {
        let Some(forward) = police.forwards("net").first().copied() else {
            continue;
        };
        for datagram in &hostile {
            let _ = socket.send_to(datagram, forward.host);
            sent += 1;
        }
        if last_fault.elapsed() > Duration::from_millis(700) {
            // Alternately the fault opcode and a bounds check.
            faults_sent += 1;
            let fault = if faults_sent.is_multiple_of(2) {
                peer::datagram(peer::FAULT, marker)
            } else {
                oversize.clone()
            };
            let _ = socket.send_to(&fault, forward.host);
            last_fault = std::time::Instant::now();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = window.elapsed();
    let beats = brain.beats() - beats_before;
    let answers = asking.join().unwrap();
    let rate = f64::from(u32::try_from(beats).unwrap()) / elapsed.as_secs_f64();
    eprintln!(
        "{test}: {sent} hostile datagrams in {elapsed:?}; {beats} beats ({rate:.1} Hz); net: {:?}",
        police.stopped("net")
    );

    let why = police.stopped("net").expect("net was stopped");
    assert!(why.contains("3 restarts"), "{why}");
    assert!(beats >= 20 && rate >= 10.0, "{beats} beats in {elapsed:?}");
    for answer in &answers {
        let answer = answer.as_ref().expect("the Brain answered");
        assert!(answer.contains("Hive quarterly report"), "{answer}");
    }
    let events: Vec<Event> = relayed.try_iter().collect();
    let net_faults = events
        .iter()
        .filter(|e| matches!(e, Event::Faulted { skill, .. } if skill == "net"))
        .count();
    assert_eq!(net_faults, 4, "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Faulted { skill, .. } | Event::Stopped { skill, .. } if skill == "pdf")),
        "pdf is untouched: {events:?}"
    );

    drop(brain);
    let received = std::fs::read(&transcript).unwrap();
    let has = |needle: &[u8]| received.windows(needle.len()).any(|w| w == needle);
    assert!(
        has(&crate::unikraft::demo_peer_delivery(b"friendly hello")),
        "the friendly message reached the Brain"
    );
    assert!(!has(marker), "a hostile datagram's bytes reached the Brain");
    assert!(!has(b"HV\x01"), "a datagram's header reached the Brain");
}
