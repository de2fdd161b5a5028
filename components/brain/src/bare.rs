//! What a `no_std` static library needs on bare metal: a panic handler and an allocator.
//! The protection domain that links the Brain provides the heap; until then a fixed arena.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

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

/// Entry point for the protection domain: decode a message a skill left in its mailbox.
/// Returns the message's tag, or 0 when it does not decode.
///
/// # Safety
/// `bytes` must point at `length` readable bytes (the mailbox page of `channel`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hive_brain_message(_channel: u32, bytes: *const u8, length: u32) -> u32 {
    let mut copy = [0u8; 64];
    let length = (length as usize).min(copy.len());
    for (i, slot) in copy.iter_mut().enumerate().take(length) {
        // SAFETY: the caller guarantees `length` readable bytes; the skill may write the
        // page concurrently, hence the volatile reads.
        *slot = unsafe { bytes.add(i).read_volatile() };
    }
    match crate::protocol::Message::decode(&copy[..length]) {
        Ok(message) => u32::from(message.tag()),
        Err(_) => 0,
    }
}
