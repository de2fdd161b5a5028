//! What a `no_std` static library needs on bare metal: a panic handler and an allocator.
//! The protection domain that links the Brain provides the heap; until then a fixed arena.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::police::{Answer, News};
use crate::protocol::Message;
use crate::supervisor::Want;
use crate::{Event, Supervisor};

const HEAP_SIZE: usize = 256 * 1024;

struct Arena {
    heap: UnsafeCell<[u8; HEAP_SIZE]>,
    next: AtomicUsize,
}

// SAFETY: allocation hands out disjoint ranges through an atomic cursor.
unsafe impl Sync for Arena {}

// SAFETY: every returned block is in bounds, aligned and never handed out twice.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.heap.get().cast::<u8>();
        let mut current = self.next.load(Ordering::Relaxed);
        loop {
            let start = (base as usize + current).next_multiple_of(layout.align()) - base as usize;
            let Some(end) = start
                .checked_add(layout.size())
                .filter(|&end| end <= HEAP_SIZE)
            else {
                return core::ptr::null_mut();
            };
            match self
                .next
                .compare_exchange(current, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                // SAFETY: start..end lies inside the arena.
                Ok(_) => return unsafe { base.add(start) },
                Err(seen) => current = seen,
            }
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Arena = Arena {
    heap: UnsafeCell::new([0; HEAP_SIZE]),
    next: AtomicUsize::new(0),
};

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Entry point for the protection domain: one supervisor step per call; returns the
/// heartbeat count.
#[unsafe(no_mangle)]
pub extern "C" fn hive_brain_tick() -> u64 {
    use core::sync::atomic::AtomicU64;
    static BEATS: AtomicU64 = AtomicU64::new(0);
    BEATS.fetch_add(1, Ordering::Relaxed) + 1
}

/// The Brain's knowledge of its skills, by channel id (the protection domain knows its skills
/// by channel only). A protection domain is one thread: nothing else touches it.
struct Skills(UnsafeCell<Option<Supervisor>>);

// SAFETY: the protection domain that links this library runs one thread.
unsafe impl Sync for Skills {}

static SKILLS: Skills = Skills(UnsafeCell::new(None));

fn skills() -> &'static mut Supervisor {
    // SAFETY: one thread, and no caller keeps the reference across another entry point.
    let slot = unsafe { &mut *SKILLS.0.get() };
    slot.get_or_insert_with(Supervisor::default)
}

fn name(channel: u32) -> alloc::string::String {
    alloc::format!("{channel}")
}

/// Entry point for the protection domain: the skills are the channels set in `channels`
/// (bit n: channel n; 0 is the police's).
#[unsafe(no_mangle)]
pub extern "C" fn hive_brain_start(channels: u64) {
    let names: alloc::vec::Vec<_> = (1..64)
        .filter(|n| channels >> n & 1 == 1)
        .map(name)
        .collect();
    *skills() = Supervisor::new(names.iter().map(alloc::string::String::as_str));
}

/// Entry point for the protection domain: decode a message a skill left in its mailbox,
/// and learn from it. Returns the message's tag, or 0 when it does not decode.
///
/// # Safety
/// `bytes` must point at `length` readable bytes (the mailbox page of `channel`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hive_brain_message(channel: u32, bytes: *const u8, length: u32) -> u32 {
    let mut copy = [0u8; 64];
    let length = (length as usize).min(copy.len());
    for (i, slot) in copy.iter_mut().enumerate().take(length) {
        // SAFETY: the caller guarantees `length` readable bytes; the skill may write the
        // page concurrently, hence the volatile reads.
        *slot = unsafe { bytes.add(i).read_volatile() };
    }
    match Message::decode(&copy[..length]) {
        Ok(message) => {
            let tag = u32::from(message.tag());
            skills().handle(Event::Message {
                from: name(channel),
                message,
            });
            tag
        }
        Err(_) => 0,
    }
}

/// Entry point for the protection domain: the police's news item `word`
/// ([`crate::police::News::word`]). Returns the channel of a request to act on
/// ([`hive_brain_want`]), or 0.
#[unsafe(no_mangle)]
pub extern "C" fn hive_brain_news(word: u64) -> u32 {
    match News::from_word(word) {
        Some(News::Faulted { channel } | News::Stopped { channel }) => {
            skills().handle(Event::Fault {
                skill: name(channel.into()),
            });
            0
        }
        Some(News::Asked { channel }) => channel.into(),
        None => 0,
    }
}

/// Entry point for the protection domain: a request for the skill on `channel`. Returns
/// 1: ask the police to start it; 2: wait for it to be ready; 3: send now; 0: no such skill
/// (`WANT_*` in `pd/brain.c`).
#[unsafe(no_mangle)]
pub extern "C" fn hive_brain_want(channel: u32) -> u32 {
    match skills().want(&name(channel)) {
        Want::Unknown => 0,
        Want::Start => 1,
        Want::Wait => 2,
        Want::Send => 3,
    }
}

/// Entry point for the protection domain: the police's answer (its code) to starting the
/// skill on `channel`. Returns whether a request still waits for the skill.
#[unsafe(no_mangle)]
pub extern "C" fn hive_brain_started(channel: u32, answer: u64) -> bool {
    let answer = Answer::from_code(answer).unwrap_or(Answer::Refused);
    skills().police_answered(&name(channel), answer)
}

/// Entry point for the protection domain: whether a request waits for the skill on
/// `channel`, now that it is ready (taken once).
#[unsafe(no_mangle)]
pub extern "C" fn hive_brain_take_waiting(channel: u32) -> bool {
    skills().take_waiting(&name(channel))
}

/// Entry point for the protection domain: whether the skill on `channel` was never started
/// (a lazy skill nobody asked for).
#[unsafe(no_mangle)]
pub extern "C" fn hive_brain_idle(channel: u32) -> bool {
    skills().state(&name(channel)) == Some(crate::supervisor::SkillState::Idle)
}
