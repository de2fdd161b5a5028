//! One Unikraft skill booted on its own, as whatever supervises it sees it: its console
//! collected as it comes, its channel to the Brain (listened on here when it holds one), the
//! host ports forwarded to its `net:` capabilities. The guest is stopped when this is dropped.
//! It may start paused (QEMU loaded, no instruction run) and be resumed later: what a pool of
//! ready skills holds.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hive_manifest::{Skill, Target};
use regex::Regex;

use crate::channel::{BrainChannel, ChannelEnd};
use crate::qmp::{self, Qmp};
use crate::skill::{Forward, holds_brain_channel, skill_machine};
use crate::{Accel, Boot, Flow, Guest, Machine, QemuError};

pub struct SkillVm {
    pub forwards: Vec<Forward>,
    /// When QEMU was started, or resumed if it started paused.
    pub started: Instant,
    channel: Option<BrainChannel>,
    /// A guest started paused: its QMP connection.
    qmp: Option<Qmp>,
    console: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    watcher: Option<JoinHandle<Result<Boot, QemuError>>>,
}

/// Where a skill VM is booted: machine (the target's, under `accel`), target, the skill, its
/// image.
pub struct SkillBoot<'a> {
    pub machine: &'a Machine,
    pub accel: Accel,
    pub target: &'a Target,
    pub skill: &'a Skill,
    pub image: &'a Path,
    /// A UDP port the supervisor forwards itself once the guest runs
    /// ([`SkillVm::forward_udp`]): no host port is picked for it at start.
    pub listened: Option<u16>,
}

impl SkillBoot<'_> {
    /// Boot the skill, for at most `deadline`.
    pub fn boot(&self, deadline: Duration) -> Result<SkillVm, QemuError> {
        SkillVm::spawn(self, deadline, false)
    }

    /// Start the skill paused: QEMU has loaded it and runs nothing until
    /// [`SkillVm::resume`]. `deadline` counts from now.
    pub fn paused(&self, deadline: Duration) -> Result<SkillVm, QemuError> {
        SkillVm::spawn(self, deadline, true)
    }
}

impl SkillVm {
    /// Resume a guest started paused (`started` is now); one that was not is running already.
    pub fn resume(&mut self) -> Result<(), QemuError> {
        let Some(qmp) = self.qmp.as_mut() else {
            return Ok(());
        };
        self.started = Instant::now();
        qmp.execute("cont")
    }

    /// Forward the host's `host` to the guest's UDP `guest_port` as well (a stable address:
    /// the host ports picked at start change with every VM). Only for a guest started paused
    /// (it has the monitor); the port must be free, so a caller whose previous VM held it
    /// retries while that QEMU exits.
    pub fn forward_udp(&mut self, host: SocketAddrV4, guest_port: u16) -> Result<(), QemuError> {
        let qmp = self.qmp.as_mut().ok_or_else(|| QemuError::Qmp {
            message: "a guest not started paused has no monitor to add a forward".into(),
        })?;
        let rule = crate::skill::forward_rule(
            hive_manifest::caps::Protocol::Udp,
            SocketAddr::V4(host),
            guest_port,
        );
        let printed = qmp.human(&format!("hostfwd_add net0 {rule}"))?;
        if !printed.is_empty() {
            return Err(QemuError::Qmp {
                message: format!(
                    "forwarding udp {host} to the guest's port {guest_port}: {printed}"
                ),
            });
        }
        self.forwards.push(Forward {
            protocol: hive_manifest::caps::Protocol::Udp,
            host: SocketAddr::V4(host),
            guest_port,
        });
        Ok(())
    }

    fn spawn(boot: &SkillBoot<'_>, deadline: Duration, paused: bool) -> Result<Self, QemuError> {
        let SkillBoot {
            machine,
            accel,
            target,
            skill,
            image,
            listened,
        } = *boot;
        let channel = if holds_brain_channel(skill) {
            Some(BrainChannel::listen().map_err(|error| QemuError::Channel(error.to_string()))?)
        } else {
            None
        };
        let end = channel.as_ref().map_or(ChannelEnd::Null, BrainChannel::end);
        let extra_machine = skill_machine(target, skill, &end, listened)?;
        let mut machine = machine.clone();
        machine.args.extend(extra_machine.args);
        if accel == Accel::Tcg {
            machine.args.extend(extra_machine.tcg_args);
        }
        let socket = paused.then(qmp::Socket::new).transpose()?;
        let extra: Vec<String> = socket
            .as_ref()
            .map(|socket| socket.paused_args().into())
            .unwrap_or_default();
        let started = Instant::now();
        let guest = Guest::spawn(&machine, image, &extra)?;
        let console = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let console = Arc::clone(&console);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                guest.watch(deadline, &mut |bytes| {
                    if !bytes.is_empty() {
                        let text = String::from_utf8_lossy(bytes).replace('\r', "");
                        console.lock().expect("console").push_str(&text);
                    }
                    if stop.load(Ordering::Relaxed) {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                })
            })
        };
        let qmp = socket
            .map(|socket| socket.connect(Duration::from_secs(10)))
            .transpose()?;
        Ok(Self {
            forwards: extra_machine.forwards,
            started,
            channel,
            qmp,
            console,
            stop,
            watcher: Some(watcher),
        })
    }

    /// The console so far.
    pub fn console(&self) -> String {
        self.console.lock().expect("console").clone()
    }

    /// The first text of the console so far that matches `pattern` (searched in place, not
    /// copied: a supervisor looks often).
    pub fn find(&self, pattern: &Regex) -> Option<String> {
        pattern
            .find(&self.console.lock().expect("console"))
            .map(|m| m.as_str().to_owned())
    }

    /// Wait until the console matches `pattern`: the time since QEMU started, or `None` when
    /// `timeout` passed or the guest ended first.
    pub fn wait_for(&self, pattern: &Regex, timeout: Duration) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        loop {
            if pattern.is_match(&self.console.lock().expect("console")) {
                return Some(self.started.elapsed());
            }
            if Instant::now() >= deadline || self.has_ended() {
                // One last look: the guest may have printed it as it ended.
                return pattern
                    .is_match(&self.console())
                    .then(|| self.started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Whether QEMU has exited.
    pub fn has_ended(&self) -> bool {
        self.watcher.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The skill's channel to the Brain, if it holds one.
    pub fn channel(&mut self) -> Option<&mut BrainChannel> {
        self.channel.as_mut()
    }

    /// Wait up to `timeout` for the guest to end by itself (a fault, a power-off); then stop
    /// it. How the boot ended: `status` is QEMU's exit status when it exited by itself.
    pub fn ended(mut self, timeout: Duration) -> Result<Boot, QemuError> {
        let deadline = Instant::now() + timeout;
        while !self.has_ended() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.finish()
    }

    /// Stop the guest now.
    pub fn stop(mut self) -> Result<Boot, QemuError> {
        self.finish()
    }

    /// Stop the guest if it still runs (the watcher sees the flag within 50 ms) and collect
    /// how it ended.
    fn finish(&mut self) -> Result<Boot, QemuError> {
        self.stop.store(true, Ordering::Relaxed);
        let watcher = self.watcher.take().expect("finished once");
        watcher
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for SkillVm {
    fn drop(&mut self) {
        if self.watcher.is_some() {
            let _ = self.finish();
        }
    }
}
