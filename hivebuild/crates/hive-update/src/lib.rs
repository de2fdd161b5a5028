//! Signed update bundles for Hive devices (docs/bundle-format.md).
//!
//! - [`format`]: the container, a ustar stream with one accepted byte layout;
//! - [`metadata`]: the signed metadata (TUF targets, our fields under `custom`);
//! - [`write`]: making a bundle from components (hivebuild's side);
//! - [`delta`]: deltas between two versions of a component (made by hivebuild, applied by
//!   devices);
//! - [`device`]: the device's side: verify everything the metadata says before reading a
//!   payload, stream payloads into the inactive slot with bounded memory, switch slots
//!   atomically.
//!
//! The device side has no network code and few dependencies (hive-sign for ed25519 and TUF,
//! sha2, zstd, tar for header layout, serde).

pub mod delta;
pub mod device;
pub mod format;
pub mod metadata;
pub mod repo;
pub mod verify;
pub mod write;

pub use device::{Applied, Device, Event, Reporter, Silent, apply};
pub use metadata::{BundleInfo, BundleKind, BundleSigned, Carried, Component};
pub use verify::verify;
pub use write::{BundleRequest, ComponentFile, write_bundle};

/// Why a bundle was refused (or could not be written). Each names what it found wrong.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("the bundle is empty")]
    Empty,
    #[error("the bundle ends early, at byte {offset}")]
    Truncated { offset: u64 },
    #[error("the bundle has data after its end, at byte {offset}")]
    TrailingData { offset: u64 },
    #[error("the bundle is not in its canonical layout at byte {offset}: {what}")]
    NonCanonical { offset: u64, what: String },
    #[error("member `{0}` has an absolute name")]
    AbsoluteMember(String),
    #[error("member `{0}` leaves the bundle with `..`")]
    TraversingMember(String),
    #[error("member `{0}` is a link")]
    LinkMember(String),
    #[error("member `{0}` is a device or FIFO")]
    DeviceMember(String),
    #[error("member `{0}` is a folder")]
    FolderMember(String),
    #[error("member name `{name}` is not allowed: {why}")]
    BadMemberName { name: String, why: String },
    #[error("expected {expected}, found member `{found}`")]
    UnexpectedMember { expected: String, found: String },
    #[error("member `{0}` is missing")]
    MissingMember(String),
    #[error("the bundle's metadata is not valid: {0}")]
    Metadata(String),
    #[error("the device has no trust root: give one to provision it (`--trust-root`)")]
    NotProvisioned,
    #[error("the device's trust root is not valid: {0}")]
    Trust(String),
    #[error("the bundle's new trust root does not follow from the device's: {0}")]
    Rotation(String),
    #[error("the bundle's signatures do not satisfy the trust root: {0}")]
    Signatures(String),
    #[error("{0}")]
    Expired(String),
    #[error("the bundle is for {what} `{bundle}`, this device is `{device}`")]
    WrongDevice {
        what: &'static str,
        device: String,
        bundle: String,
    },
    #[error("bundle version {bundle} is not newer than the installed version {installed}")]
    NotNewer { installed: u64, bundle: u64 },
    #[error("component `{component}` would go back from release {installed} to {bundle}")]
    ReleaseBack {
        component: String,
        installed: u64,
        bundle: u64,
    },
    #[error("an empty device takes a full bundle only")]
    NeedsFull,
    #[error("the delta for `{component}` does not apply: {source}")]
    Delta {
        component: String,
        source: delta::DeltaError,
    },
    #[error("the delta is for devices on version {from}; this one runs version {running}")]
    WrongBase { from: u64, running: u64 },
    #[error("component `{component}` is not the one the bundle was made against")]
    BaseMismatch { component: String },
    #[error("`{what}` is {found} bytes, the metadata says {declared}")]
    Length {
        what: String,
        declared: u64,
        found: u64,
    },
    #[error("`{what}` decompresses past its declared {declared} bytes")]
    TooLarge { what: String, declared: u64 },
    #[error("`{what}` has sha256 {found}, the metadata says {declared}")]
    Hash {
        what: String,
        declared: String,
        found: String,
    },
    #[error("payload `{what}` is not a valid zstd frame: {message}")]
    Payload { what: String, message: String },
    #[error("the repository is not valid: {0}")]
    Repository(String),
    #[error("the device folder is not valid: {0}")]
    Device(String),
    #[error(transparent)]
    Sign(#[from] hive_sign::SignError),
    #[error("input/output: {0}")]
    Io(#[from] std::io::Error),
}
