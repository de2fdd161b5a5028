//! Signing and trust: ed25519 keys, TUF 1.0 root and targets metadata in canonical JSON, and
//! their verification (signatures, thresholds of distinct keys, expiry, root rotation).
//!
//! Kept small on purpose: the device-side updater links it too. Interoperates with the TUF
//! reference implementation (python-tuf); a CI test checks both directions.

pub mod canonical;
pub mod keys;
pub mod metadata;

pub use keys::{CommandSigner, KeyError, PrivateKey, PublicKey, SignError, Signer, TufKey};
/// Lowercase hex of `bytes` (hashes and key ids as TUF metadata writes them).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

pub use metadata::{Envelope, Root, TargetFile, Targets, VerifyError, check_expiry, expiry_after};
