//! The parts of Nix's formats hivebuild's Nix engine writes: store paths, derivations in
//! `ATerm` form with the paths Nix would give them, and export streams that bring them into a
//! store with their references (Nix 2.8 has no `nix derivation add`).
//!
//! Written by hand from Nix's definitions (`libstore/derivations.cc`, `store-api.cc`,
//! `export-import.cc`): the registry's `nix-compat` is an empty placeholder. Golden tests
//! compare every path with what `nix-instantiate` computes, when Nix is installed.

mod derivation;
mod export;
#[doc(hidden)]
pub mod golden;
mod path;

pub use derivation::{Derivation, DerivationSet, Planned};
pub use export::{ExportedPath, export_stream};
pub use path::{STORE_DIR, fixed_source_path, is_valid_name, make_store_path, text_path};
