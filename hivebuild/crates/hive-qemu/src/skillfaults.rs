//! Fault injection on a skill that boots as a virtual machine of its own (Unikraft): fault
//! it the way a stranger or the Brain could — a `net` skill through a datagram with the
//! peer protocol's fault opcode, any other through `Crash` on its channel to the Brain —
//! check that the fault ends the guest (it must not go on in a state nobody checked), boot
//! the same image again as a supervisor would and time the skill back to ready and serving.
//!
//! The restart here is hivebuild's own: the hosted police that owns skill VMs, with its
//! restart limit and the Brain's heartbeat, is the runtime's (issue 14). What this measures
//! is what such a restart costs: from the fault to the new guest's ready marker.

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use brain::protocol::Message;
use hive_manifest::Skill;
use hive_manifest::caps::{self, Protocol};
use regex::Regex;

use crate::faults::Outcome;
use crate::skill::holds_brain_channel;
use crate::skillvm::SkillVm;
use crate::{QemuError, peer};

/// One skill's scenario.
#[derive(Clone, Debug)]
pub struct SkillScenario {
    /// The skill is up (at boot and after each restart).
    pub ready: Regex,
    /// How many faults, each followed by a restart.
    pub faults: u32,
    pub boot_within: Duration,
    /// From the fault to the restarted skill's ready marker, at most.
    pub restart_within: Duration,
}

/// How a skill is faulted from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The peer protocol's fault opcode, to its first UDP port.
    Datagram,
    /// `Crash` on its channel to the Brain.
    Channel,
}

impl Fault {
    /// How `skill` can be faulted: through the network when it listens there, else through
    /// its channel; `None` when it has neither.
    pub fn of(skill: &Skill) -> Option<Self> {
        if caps::net_ports(&skill.caps).any(|(protocol, _)| protocol == Protocol::Udp) {
            Some(Self::Datagram)
        } else if holds_brain_channel(skill) {
            Some(Self::Channel)
        } else {
            None
        }
    }
}

pub use crate::skillvm::SkillBoot;

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Play `scenario` on the skill of `boot`, faulting it with `fault`.
pub fn run(
    boot: &SkillBoot<'_>,
    fault: Fault,
    scenario: &SkillScenario,
) -> Result<Outcome, QemuError> {
    let started = Instant::now();
    let mut outcome = Outcome::default();
    outcome.failure = rounds(boot, fault, scenario, &mut outcome)?;
    outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(outcome)
}

/// Boot, then fault and boot again `scenario.faults` times, checking the skill serves each
/// time; what went wrong, if anything. Consoles and restart times go into `outcome`.
fn rounds(
    boot: &SkillBoot<'_>,
    fault: Fault,
    scenario: &SkillScenario,
    outcome: &mut Outcome,
) -> Result<Option<String>, QemuError> {
    // Each guest lives at most this long: its boot, serving checks, the fault.
    let lifetime = scenario.boot_within + scenario.restart_within * 2 + Duration::from_secs(10);
    let mut vm = boot.boot(lifetime)?;
    let mut failure = vm
        .wait_for(&scenario.ready, scenario.boot_within)
        .is_none()
        .then(|| {
            format!(
                "no `{}` within {} ms of the first boot",
                scenario.ready.as_str(),
                scenario.boot_within.as_millis()
            )
        });
    let mut round = 0;
    while failure.is_none() {
        if let Err(why) = serves(&mut vm, fault) {
            failure = Some(format!("after {round} restarts: {why}"));
            break;
        }
        if round == scenario.faults {
            break;
        }
        round += 1;
        let faulted_at = Instant::now();
        if let Err(why) = inject(&mut vm, fault) {
            failure = Some(why);
            break;
        }
        let ended = vm.ended(scenario.restart_within)?;
        outcome.console.push_str(&ended.console);
        if ended.status.is_none() {
            return Ok(Some(format!(
                "fault {round}: the guest still ran {} ms after the fault",
                scenario.restart_within.as_millis()
            )));
        }
        let _ = writeln!(outcome.console, "--- restarted after fault {round} ---");
        vm = boot.boot(lifetime)?;
        let left = scenario.restart_within.saturating_sub(faulted_at.elapsed());
        match vm.wait_for(&scenario.ready, left) {
            Some(_) => outcome.restarts_ms.push(ms(faulted_at.elapsed())),
            None => {
                failure = Some(format!(
                    "fault {round}: no `{}` within {} ms of the fault",
                    scenario.ready.as_str(),
                    scenario.restart_within.as_millis()
                ));
            }
        }
    }
    let last = vm.stop()?;
    outcome.console.push_str(&last.console);
    Ok(failure)
}

/// The skill answers: a `net` skill a peer's hello, any other the Brain's ping.
fn serves(vm: &mut SkillVm, fault: Fault) -> Result<(), String> {
    match fault {
        Fault::Datagram => {
            let socket = udp(vm)?;
            let hello = peer::datagram(peer::HELLO, b"");
            let mut buffer = [0_u8; 512];
            // The first datagrams after a boot may meet ARP on the way: ask a few times.
            for _ in 0..20 {
                socket
                    .send(&hello)
                    .map_err(|e| format!("send a hello: {e}"))?;
                if let Ok(read) = socket.recv(&mut buffer)
                    && buffer[..read].starts_with(&[
                        b'H',
                        b'V',
                        peer::VERSION,
                        peer::REPLY | peer::HELLO,
                    ])
                {
                    return Ok(());
                }
            }
            Err("no answer to a peer's hello".to_owned())
        }
        Fault::Channel => {
            let channel = vm
                .channel()
                .ok_or("the skill holds no channel to the Brain")?;
            let second = Duration::from_secs(5);
            channel
                .send(&Message::Ping(7), second)
                .map_err(|e| e.to_string())?;
            loop {
                match channel.recv(second).map_err(|e| e.to_string())? {
                    Message::Pong(7) => return Ok(()),
                    Message::Ready | Message::Deliver(_) => {}
                    other => return Err(format!("answered a ping with {other:?}")),
                }
            }
        }
    }
}

fn inject(vm: &mut SkillVm, fault: Fault) -> Result<(), String> {
    match fault {
        Fault::Datagram => {
            let socket = udp(vm)?;
            socket
                .send(&peer::datagram(peer::FAULT, b""))
                .map(drop)
                .map_err(|e| format!("send the fault datagram: {e}"))
        }
        Fault::Channel => vm
            .channel()
            .ok_or("the skill holds no channel to the Brain")?
            .send(&Message::Crash, Duration::from_secs(5))
            .map_err(|e| e.to_string()),
    }
}

/// A socket connected to the host end of the skill's first UDP port.
fn udp(vm: &SkillVm) -> Result<UdpSocket, String> {
    let forward = vm
        .forwards
        .iter()
        .find(|f| f.protocol == Protocol::Udp)
        .ok_or("the skill has no UDP port")?;
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket.connect(forward.host).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    Ok(socket)
}
