//! The police: the one owner of the skills' virtual machines on the hosted lane. It starts the
//! skills that are not lazy, starts a lazy one when the Brain first sends to it, passes the
//! Brain's messages only to skills the Brain holds a channel to, watches each guest (its end,
//! a fault line on its console), restarts it as its manifest entry says, and tells what
//! happened as [`Event`]s.
//!
//! Each running skill has a thread that owns its VM: it serves the Brain's requests one at a
//! time over the skill's channel, hands on what the skill delivers, and on a fault takes a
//! paused VM from the skill's pool and resumes it.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brain::protocol::Message;
use hive_manifest::caps::{self, Capability};
use hive_manifest::{Skill, Target};
use hive_qemu::channel::ChannelError;
use hive_qemu::skill::Forward;
use hive_qemu::skillvm::SkillVm;
use hive_qemu::{Accel, Machine, QemuError};
use regex::Regex;

use crate::grants::Grants;
use crate::policy::{Decision, Ending, Restarts, StopReason};
use crate::pool::{Launch, Pool};

/// A skill and its built image.
#[derive(Clone, Debug)]
pub struct SkillImage {
    pub skill: Skill,
    pub image: PathBuf,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub machine: Machine,
    pub accel: Accel,
    pub target: Target,
    /// The Brain's capabilities: its `channel:NAME` grants.
    pub brain_caps: Vec<Capability>,
    pub skills: Vec<SkillImage>,
    /// Paused VMs kept per skill.
    pub pool: usize,
    /// A console line that says the guest faulted (it is stopped and counted as a fault).
    pub fault_line: Regex,
    /// How long a skill may take from resume to ready.
    pub ready_within: Duration,
    /// Skills reached at a fixed host address (the hive's own `[peers]` entry): whichever VM
    /// runs the skill, its first UDP port is forwarded from there too.
    pub listen: BTreeMap<String, SocketAddrV4>,
}

/// What the police did, for its log and its callers.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `skill` is ready, `ms` after its VM was resumed (`restart`: 0 for its first start).
    Ready {
        skill: String,
        ms: f64,
        restart: u32,
    },
    /// `skill`'s guest ended by a fault.
    Faulted { skill: String, why: String },
    /// `skill` is stopped for good.
    Stopped { skill: String, why: String },
    /// A request for `skill` was refused.
    Refused { skill: String, why: String },
    /// `skill` delivered bytes for the Brain.
    Delivered { skill: String, payload: Vec<u8> },
}

/// Why a skill could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Qemu(#[from] QemuError),
    #[error("`{skill}` was not ready within {within:?}{}", fault.as_ref().map_or_else(String::new, |f| format!(" ({f})")))]
    NotReady {
        skill: String,
        within: Duration,
        /// The console's fault line, if it printed one.
        fault: Option<String>,
    },
}

/// Why a request got no answer from its skill.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("{0}")]
    NotGranted(String),
    #[error("`{0}` is stopped")]
    Stopped(String),
    #[error("`{skill}` did not answer: {why}")]
    NoAnswer { skill: String, why: String },
}

struct Request {
    message: Message,
    answer: Sender<Result<Message, String>>,
}

/// Where a skill is.
enum Slot {
    /// Lazy and not asked for yet.
    Idle,
    Running(Sender<Request>),
    Stopped(String),
}

struct Supervised {
    name: String,
    pool: Pool,
    restarts: Mutex<Restarts>,
    slot: Mutex<Slot>,
    uses_channel: bool,
    lazy: bool,
    /// The host ends of the running VM's `net:` ports.
    forwards: Mutex<Vec<Forward>>,
    /// A fixed host address forwarded to its first UDP port, and that port.
    listen: Option<(SocketAddrV4, u16)>,
}

pub struct Police {
    grants: Grants,
    skills: BTreeMap<String, Arc<Supervised>>,
    events: Sender<Event>,
    fault_line: Regex,
    ready_within: Duration,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Police {
    /// Fill each skill's pool and start the skills that are not lazy. Events go to `events`.
    pub fn start(config: Config, events: Sender<Event>) -> Result<Self, StartError> {
        let grants = Grants::new(
            &config.brain_caps,
            config.skills.iter().map(|s| s.skill.name.clone()),
        );
        let mut skills = BTreeMap::new();
        for SkillImage { skill, image } in config.skills {
            let listen = config.listen.get(&skill.name).and_then(|address| {
                let (_, port) = caps::net_ports(&skill.caps)
                    .find(|(protocol, _)| *protocol == caps::Protocol::Udp)?;
                Some((*address, port))
            });
            let launch = Launch {
                machine: config.machine.clone(),
                accel: config.accel,
                target: config.target.clone(),
                skill: skill.clone(),
                image,
                listened: listen.map(|(_, port)| port),
            };
            let supervised = Arc::new(Supervised {
                name: skill.name.clone(),
                pool: Pool::new(launch, config.pool),
                restarts: Mutex::new(Restarts::new(skill.restart, skill.restart_limit)),
                slot: Mutex::new(Slot::Idle),
                uses_channel: caps::has_channel(&skill.caps, "brain"),
                lazy: skill.lazy,
                forwards: Mutex::new(Vec::new()),
                listen,
            });
            skills.insert(skill.name.clone(), supervised);
        }
        let police = Self {
            grants,
            skills,
            events,
            fault_line: config.fault_line,
            ready_within: config.ready_within,
            threads: Mutex::new(Vec::new()),
        };
        let eager: Vec<String> = police
            .skills
            .values()
            .filter(|s| !s.lazy)
            .map(|s| s.name.clone())
            .collect();
        for name in eager {
            police.running(&name)?;
        }
        Ok(police)
    }

    /// The pool of `skill` (for tests and benchmarks).
    pub fn pool_ready(&self, skill: &str, n: usize, timeout: Duration) -> bool {
        self.skills
            .get(skill)
            .is_some_and(|s| s.pool.wait_ready(n, timeout))
    }

    /// Send `message` to `skill` for the Brain and wait up to `timeout` for the skill's
    /// answer.
    pub fn request(
        &self,
        skill: &str,
        message: Message,
        timeout: Duration,
    ) -> Result<Message, Refusal> {
        if let Err(why) = self.grants.check(skill) {
            let _ = self.events.send(Event::Refused {
                skill: skill.to_owned(),
                why: why.clone(),
            });
            return Err(Refusal::NotGranted(why));
        }
        let sender = self.running(skill).map_err(|e| Refusal::NoAnswer {
            skill: skill.to_owned(),
            why: e.to_string(),
        })?;
        let Some(sender) = sender else {
            return Err(Refusal::Stopped(skill.to_owned()));
        };
        let (answer, answered) = mpsc::channel();
        if sender.send(Request { message, answer }).is_err() {
            return Err(Refusal::Stopped(skill.to_owned()));
        }
        match answered.recv_timeout(timeout) {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(why)) => Err(Refusal::NoAnswer {
                skill: skill.to_owned(),
                why,
            }),
            Err(RecvTimeoutError::Timeout) => Err(Refusal::NoAnswer {
                skill: skill.to_owned(),
                why: format!("no answer within {timeout:?}"),
            }),
            Err(RecvTimeoutError::Disconnected) => Err(Refusal::Stopped(skill.to_owned())),
        }
    }

    /// The running skill's request queue, starting it if it is idle; `None` once stopped.
    fn running(&self, name: &str) -> Result<Option<Sender<Request>>, StartError> {
        let supervised = &self.skills[name];
        let mut slot = supervised.slot.lock().expect("slot");
        match &*slot {
            Slot::Running(sender) => return Ok(Some(sender.clone())),
            Slot::Stopped(_) => return Ok(None),
            Slot::Idle => {}
        }
        let (vm, ms) = start(supervised, &self.fault_line, self.ready_within)?;
        let _ = self.events.send(Event::Ready {
            skill: name.to_owned(),
            ms,
            restart: 0,
        });
        let (sender, requests) = mpsc::channel();
        *slot = Slot::Running(sender.clone());
        let supervised = Arc::clone(supervised);
        let events = self.events.clone();
        let fault_line = self.fault_line.clone();
        let ready_within = self.ready_within;
        let thread = std::thread::spawn(move || {
            supervise(
                &supervised,
                vm,
                &requests,
                &events,
                &fault_line,
                ready_within,
            );
        });
        self.threads.lock().expect("threads").push(thread);
        Ok(Some(sender))
    }

    /// Stop `skill`'s running VM and leave the skill idle, as if never asked for: its next
    /// request starts it again from its pool (the spawn benchmark measures with this).
    pub fn retire(&self, skill: &str) {
        if let Some(supervised) = self.skills.get(skill) {
            let mut slot = supervised.slot.lock().expect("slot");
            if matches!(*slot, Slot::Running(_)) {
                // Its thread sees its queue closed and drops the VM.
                *slot = Slot::Idle;
            }
        }
    }

    /// Where the host reaches `skill`'s `net:` ports now (they change when it restarts).
    pub fn forwards(&self, skill: &str) -> Vec<Forward> {
        self.skills
            .get(skill)
            .map(|s| s.forwards.lock().expect("forwards").clone())
            .unwrap_or_default()
    }

    /// Whether `skill` is stopped for good, and why.
    pub fn stopped(&self, skill: &str) -> Option<String> {
        match &*self.skills.get(skill)?.slot.lock().expect("slot") {
            Slot::Stopped(why) => Some(why.clone()),
            _ => None,
        }
    }
}

/// A VM of the skill from its pool, resumed and ready: how long ready took.
fn start(
    supervised: &Supervised,
    fault_line: &Regex,
    within: Duration,
) -> Result<(SkillVm, f64), StartError> {
    let mut vm = supervised.pool.take()?;
    if let Some((address, port)) = supervised.listen {
        listen(&mut vm, address, port)?;
    }
    let ready = if supervised.uses_channel {
        wait_ready_message(&mut vm, within)
    } else {
        let marker = Regex::new(&format!("{}: ready", regex::escape(&supervised.name)))
            .expect("an escaped name is a pattern");
        vm.wait_for(&marker, within).map(|_| ())
    };
    if ready.is_none() {
        return Err(StartError::NotReady {
            skill: supervised.name.clone(),
            within,
            fault: vm.find(fault_line),
        });
    }
    let ms = vm.started.elapsed().as_secs_f64() * 1000.0;
    supervised
        .forwards
        .lock()
        .expect("forwards")
        .clone_from(&vm.forwards);
    Ok((vm, ms))
}

/// Forward `address` to the VM's UDP `port`. The VM before it (faulted, killed) held the
/// address until its QEMU exited: that takes a moment, so the address is tried for a while.
fn listen(vm: &mut SkillVm, address: SocketAddrV4, port: u16) -> Result<(), QemuError> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match vm.forward_udp(address, port) {
            Ok(()) => return Ok(()),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => return Err(error),
        }
    }
}

/// Wait for the skill's `READY` on its channel.
fn wait_ready_message(vm: &mut SkillVm, within: Duration) -> Option<()> {
    let deadline = Instant::now() + within;
    let channel = vm.channel()?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match channel.recv(left) {
            Ok(Message::Ready) => return Some(()),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// Serve one skill until it is stopped for good.
fn supervise(
    supervised: &Supervised,
    mut vm: SkillVm,
    requests: &Receiver<Request>,
    events: &Sender<Event>,
    fault_line: &Regex,
    ready_within: Duration,
) {
    let name = &supervised.name;
    let stop = |why: String| {
        *supervised.slot.lock().expect("slot") = Slot::Stopped(why.clone());
        let _ = events.send(Event::Stopped {
            skill: name.clone(),
            why,
        });
    };
    loop {
        let Some(mut why) = serve(&mut vm, requests, events, name, fault_line) else {
            return; // the police stopped: the VM goes with `vm`
        };
        // Clean only when QEMU exited by itself with status 0 (a power-off); a guest the
        // police stopped after a fault line, or one that crashed, is a fault.
        let mut ending = match vm.ended(Duration::from_millis(200)) {
            Ok(boot) if boot.status == Some(0) => Ending::Clean,
            _ => Ending::Fault,
        };
        // Until a restart is ready or the policy says stop: a restart whose VM dies before
        // it is ready (killed, or faulting at boot) is one more fault, not the end.
        vm = loop {
            if ending == Ending::Fault {
                let _ = events.send(Event::Faulted {
                    skill: name.clone(),
                    why: why.clone(),
                });
            }
            if !matches!(*supervised.slot.lock().expect("slot"), Slot::Running(_)) {
                return; // stopped or retired meanwhile: no restart
            }
            let decision = supervised.restarts.lock().expect("restarts").after(ending);
            match decision {
                Decision::Restart(n) => match start(supervised, fault_line, ready_within) {
                    Ok((next, ms)) => {
                        let _ = events.send(Event::Ready {
                            skill: name.clone(),
                            ms,
                            restart: n,
                        });
                        break next;
                    }
                    Err(error) => {
                        why = format!("its restart failed: {error}");
                        ending = Ending::Fault;
                    }
                },
                Decision::Stop(StopReason::Policy) => {
                    return stop(format!(
                        "it ended ({why}) and its restart policy keeps it down"
                    ));
                }
                Decision::Stop(StopReason::Limit(limit)) => {
                    return stop(format!("it faulted after {limit} restarts (restart-limit)"));
                }
            }
        };
    }
}

/// Serve requests until the guest ends or shows a fault line: why, in words (the console's
/// fault line when it printed one); `None` when the police stops.
fn serve(
    vm: &mut SkillVm,
    requests: &Receiver<Request>,
    events: &Sender<Event>,
    name: &str,
    fault_line: &Regex,
) -> Option<String> {
    let mut pending: Option<Sender<Result<Message, String>>> = None;
    let mut looked = Instant::now();
    let ended = |pending: &mut Option<Sender<Result<Message, String>>>, why: String| {
        if let Some(answer) = pending.take() {
            let _ = answer.send(Err(why.clone()));
        }
        Some(why)
    };
    loop {
        if vm.has_ended() {
            let why = vm
                .find(fault_line)
                .unwrap_or_else(|| "its guest ended".to_owned());
            return ended(&mut pending, why);
        }
        if looked.elapsed() > Duration::from_millis(50) {
            looked = Instant::now();
            if let Some(line) = vm.find(fault_line) {
                return ended(&mut pending, line);
            }
        }
        if pending.is_none() {
            match requests.try_recv() {
                Ok(Request { message, answer }) => {
                    let sent = vm
                        .channel()
                        .ok_or(ChannelError::Closed)
                        .and_then(|c| c.send(&message, Duration::from_secs(5)));
                    match sent {
                        Ok(()) => pending = Some(answer),
                        Err(error) => {
                            let _ = answer.send(Err(error.to_string()));
                        }
                    }
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => return None,
            }
        }
        let Some(channel) = vm.channel() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        match channel.recv(Duration::from_millis(5)) {
            Ok(Message::Deliver(payload)) => {
                let _ = events.send(Event::Delivered {
                    skill: name.to_owned(),
                    payload,
                });
            }
            Ok(Message::Ready) | Err(ChannelError::Timeout(_)) => {}
            Ok(message) => {
                if let Some(answer) = pending.take() {
                    let _ = answer.send(Ok(message));
                }
            }
            Err(error) => {
                // The channel closes as the guest ends: give QEMU a moment to exit, and say
                // why from the console's fault line when there is one.
                let deadline = Instant::now() + Duration::from_millis(500);
                while !vm.has_ended() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let why = vm
                    .find(fault_line)
                    .unwrap_or_else(|| format!("its channel failed: {error}"));
                return ended(&mut pending, why);
            }
        }
    }
}

impl Drop for Police {
    /// Stop every skill and wait for its VM to be gone: no QEMU outlives the police.
    fn drop(&mut self) {
        for supervised in self.skills.values() {
            *supervised.slot.lock().expect("slot") = Slot::Stopped("the police stopped".into());
        }
        for thread in self.threads.lock().expect("threads").drain(..) {
            let _ = thread.join();
        }
    }
}
