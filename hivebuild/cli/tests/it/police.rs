//! The hosted police (`components/police-hosted`) owning the demo's real Unikraft skills
//! (`x86_64`, TCG): runs when the upstream sources are given, like `unikraft_real_*`.

use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::Duration;

use brain::protocol::Message;
use hive_manifest::caps::Capability;
use hive_police::{Config, Event, Police, Refusal, SkillImage};
use hive_qemu::{Accel, peer};

use crate::support::{Project, repo};
use crate::unikraft::{pdf, real, store_output, with_upstream};

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

fn qemu_processes_of(image: &std::path::Path) -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-f", &image.display().to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
#[allow(clippy::too_many_lines)] // one hive's life, in order
fn police_starts_skills_from_its_pool_refuses_ungranted_requests_and_restarts_faulted_skills() {
    let test =
        "police_starts_skills_from_its_pool_refuses_ungranted_requests_and_restarts_faulted_skills";
    let Some(sources) = real(test) else {
        return;
    };
    let project = Project::new();
    let demo = ["manifests/demo.toml", "--target", "x86_64"];
    with_upstream(&project, &[&["build"][..], &demo].concat(), &sources);
    let root = repo();
    let manifest = hive_manifest::load_manifest(&root.join("manifests/demo.toml")).unwrap();
    let target = hive_manifest::load_target(&manifest, "x86_64").unwrap();
    let images: Vec<SkillImage> = ["net", "pdf"]
        .into_iter()
        .map(|name| SkillImage {
            skill: manifest.skills[name].clone(),
            image: store_output(&project, &format!("skill-{name}")).join("skill.elf"),
        })
        .collect();
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
        assert_eq!(
            qemu_processes_of(&image.image),
            0,
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
