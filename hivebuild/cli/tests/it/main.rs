//! hivebuild's integration tests, in one binary (as uv and cargo do).
//!
//! Groups, by test-name prefix, so that a group can be run or skipped with a filter:
//! - `cli_`: command-line behaviour as snapshots (exit code, stdout, stderr), and `doctor`;
//! - `build_`: builds of a copy of the demo project (need gcc, make, cmake, ninja, cargo);
//! - `sources_`: lock, fetch, `--offline`, `--source` (need git);
//! - `qemu_`: boots what was built (need qemu-system-x86 and qemu-system-arm);
//! - `nix_`: NAR hashes against Nix's own `nix-hash` (need nix-bin);
//! - `police_`: the hosted police owning real Unikraft skills (with the upstream sources);
//! - `ask_`: the whole hosted hive answering a request (upstream sources and the models);
//! - `sel4_`: Microkit targets: plans and platform files; with the upstream sources given,
//!   the real images, booted.
//!
//! A test whose tools are missing says so and passes, unless `HIVEBUILD_REQUIRE_TOOLS=1`
//! is set (CI sets it: there, every tool is installed and every test must run).

mod ask;
mod build;
mod ci_templates;
mod cli;
mod commands;
mod doctor;
mod image;
mod new;
mod nix;
mod police;
mod qemu;
mod sel4;
mod sources;
mod sshd;
mod support;
mod unikraft;
