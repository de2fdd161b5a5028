//! Signing and trust: ed25519 keys, TUF 1.0 root and targets metadata in canonical JSON, and
//! their verification (signatures, thresholds of distinct keys, expiry, root rotation).
//!
//! Kept small on purpose: the device-side updater links it too. Interoperates with the TUF
//! reference implementation (python-tuf); a CI test checks both directions.

pub mod canonical;
pub mod keys;
pub mod metadata;

pub use keys::{CommandSigner, KeyError, PrivateKey, PublicKey, SignError, Signer, TufKey};
pub use metadata::{Envelope, Root, TargetFile, Targets, VerifyError, check_expiry, expiry_after};
