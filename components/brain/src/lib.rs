//! The Brain's core: `no_std` + `alloc`, so the same code runs as a seL4 protection domain
//! and as an ordinary Linux process.
//!
//! It holds the protocol spoken with skills over channels (one place for both sides) and the
//! supervisor state that keeps the Brain's heartbeat going whatever its skills do.

#![no_std]

extern crate alloc;

#[cfg(all(feature = "card", target_os = "linux"))]
pub mod card;
#[cfg(all(feature = "card", target_os = "linux"))]
pub mod grammar;
pub mod peer;
pub mod police;
pub mod protocol;
#[cfg(all(feature = "card", target_os = "linux"))]
pub mod stores;
pub mod supervisor;

#[cfg(target_os = "none")]
mod bare;

pub use supervisor::{Event, Supervisor};
