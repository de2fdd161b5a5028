//! The hosted lane's police: the one process that owns the skills' virtual machines.
//!
//! The Brain is another process; it reaches a skill only by asking the police
//! (`brain::protocol::Routed`), and the police passes a message on only when the Brain's
//! manifest entry holds a channel to that skill ([`grants`]). Skills boot from a pool of
//! paused VMs ([`pool`]), lazy ones when first asked for; a skill whose guest ends or prints a
//! fault line is restarted as its `restart` and `restart-limit` say ([`policy`]), and what
//! happened is told as [`police::Event`]s. On seL4 the same job is the police protection
//! domain's (`components/police`).

pub mod brain;
pub mod grants;
pub mod police;
pub mod policy;
pub mod pool;

pub use brain::{Brain, BrainConfig, BrainError, Network};
pub use police::{Config, Event, Police, Refusal, SkillImage, StartError};
