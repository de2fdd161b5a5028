//! Skill VMs kept ready: QEMU started with the skill's image loaded and nothing run yet
//! (`-S`). Taking one resumes it over QMP (`cont`: milliseconds, where starting QEMU is tens
//! of them); a thread puts a new paused VM in its place.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hive_manifest::{Skill, Target};
use hive_qemu::skillvm::{SkillBoot, SkillVm};
use hive_qemu::{Accel, Machine, QemuError};

/// Everything that starts one skill's VM.
#[derive(Clone, Debug)]
pub struct Launch {
    pub machine: Machine,
    pub accel: Accel,
    pub target: Target,
    pub skill: Skill,
    pub image: PathBuf,
    /// The UDP port the police forwards from the hive's fixed address (no host port is
    /// picked for it when the VM starts).
    pub listened: Option<u16>,
}

impl Launch {
    /// A paused VM of the skill; it runs until the police stops it.
    pub fn paused(&self) -> Result<SkillVm, QemuError> {
        SkillBoot {
            machine: &self.machine,
            accel: self.accel,
            target: &self.target,
            skill: &self.skill,
            image: &self.image,
            listened: self.listened,
        }
        .paused(Duration::MAX)
    }
}

struct Shelf {
    ready: Vec<SkillVm>,
    /// The last start failed: the filler waits for the next `take` (which starts its own VM
    /// and says why if that fails too).
    failed: bool,
    closing: bool,
}

/// Up to `size` paused VMs of one skill.
pub struct Pool {
    launch: Arc<Launch>,
    shelf: Arc<(Mutex<Shelf>, Condvar)>,
    filler: Option<JoinHandle<()>>,
}

impl Pool {
    /// Start keeping `size` paused VMs of `launch` (filled in the background).
    pub fn new(launch: Launch, size: usize) -> Self {
        let launch = Arc::new(launch);
        let shelf = Arc::new((
            Mutex::new(Shelf {
                ready: Vec::new(),
                failed: false,
                closing: false,
            }),
            Condvar::new(),
        ));
        let filler = {
            let launch = Arc::clone(&launch);
            let shelf = Arc::clone(&shelf);
            std::thread::spawn(move || fill(&launch, &shelf, size))
        };
        Self {
            launch,
            shelf,
            filler: Some(filler),
        }
    }

    /// A VM of the skill, resumed: a paused one from the pool, or, when the pool is empty
    /// (or its last start failed), one started now.
    pub fn take(&self) -> Result<SkillVm, QemuError> {
        let (lock, wake) = &*self.shelf;
        let pooled = {
            let mut guard = lock.lock().expect("pool");
            let vm = guard.ready.pop();
            guard.failed = false;
            wake.notify_all();
            vm
        };
        let mut vm = match pooled {
            Some(vm) if !vm.has_ended() => vm,
            _ => self.launch.paused()?,
        };
        vm.resume()?;
        Ok(vm)
    }

    /// Wait up to `timeout` until `n` paused VMs wait.
    pub fn wait_ready(&self, n: usize, timeout: Duration) -> bool {
        let (lock, wake) = &*self.shelf;
        let guard = lock.lock().expect("pool");
        let (guard, _) = wake
            .wait_timeout_while(guard, timeout, |s| s.ready.len() < n && !s.failed)
            .expect("pool");
        guard.ready.len() >= n
    }
}

/// Keep `size` paused VMs on the shelf until the pool closes. A failed start waits for the
/// next `take` before trying again, so a broken image does not spin.
fn fill(launch: &Launch, shelf: &(Mutex<Shelf>, Condvar), size: usize) {
    let (lock, wake) = shelf;
    loop {
        {
            let guard = lock.lock().expect("pool");
            let guard = wake
                .wait_while(guard, |s| !s.closing && (s.ready.len() >= size || s.failed))
                .expect("pool");
            if guard.closing {
                return;
            }
        }
        let started = launch.paused();
        let mut guard = lock.lock().expect("pool");
        match started {
            Ok(vm) if !guard.closing => guard.ready.push(vm),
            Ok(_) => return,
            Err(_) => guard.failed = true,
        }
        wake.notify_all();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shelf;
        lock.lock().expect("pool").closing = true;
        wake.notify_all();
        if let Some(filler) = self.filler.take() {
            let _ = filler.join();
        }
        // The paused VMs go with the shelf: each stops its QEMU when dropped.
    }
}
