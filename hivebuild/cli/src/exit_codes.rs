//! Exit codes, part of hivebuild's interface (scripts and CI branch on them).

/// Success.
pub(crate) const OK: u8 = 0;
/// A build step failed.
pub(crate) const BUILD_FAILED: u8 = 1;
/// The command line is wrong (clap uses 2 as well).
pub(crate) const USAGE: u8 = 2;
/// The manifest or a target file is invalid.
pub(crate) const INVALID_MANIFEST: u8 = 3;
/// The plan could not be made: missing tools, an unlocked or stale source.
pub(crate) const PLAN_FAILED: u8 = 4;
/// `build --check` found outputs that differ between two builds.
pub(crate) const NOT_REPRODUCIBLE: u8 = 5;
/// The store could not be used.
pub(crate) const STORE_FAILED: u8 = 6;
/// A source could not be fetched, or its hash did not match.
pub(crate) const FETCH_FAILED: u8 = 7;
/// What was asked for is not in the store yet.
pub(crate) const NOT_BUILT: u8 = 8;
/// A booted image did not do what it should (QEMU failed, or a marker was missing).
pub(crate) const BOOT_FAILED: u8 = 9;
/// A signature, threshold, expiry or artefact check failed (`verify`, `inspect --manifest`).
pub(crate) const VERIFY_FAILED: u8 = 10;
/// A key could not be made, read or used.
pub(crate) const KEY_FAILED: u8 = 11;
/// An image could not be composed.
pub(crate) const IMAGE_FAILED: u8 = 12;
/// A QEMU test failed (a marker missing or late, a fail pattern seen).
pub(crate) const TEST_FAILED: u8 = 13;
/// An update bundle could not be made, or a device refused it (`bundle`, `apply`).
pub(crate) const UPDATE_REFUSED: u8 = 14;
/// `new` could not write the project (the folder is taken, or a write failed).
pub(crate) const NEW_FAILED: u8 = 15;
