//! Progress, reported as events. Library code never prints: the CLI renders these as bars
//! on a terminal, plain lines in CI, or JSON lines with `--json`.

use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// A build starts: how many steps, how many must run.
    Started {
        total: usize,
        to_build: usize,
    },
    /// A step's output was already in the store.
    Cached {
        step: &'a str,
        path: &'a Path,
    },
    Running {
        step: &'a str,
        kind: &'a str,
    },
    /// `--engine nix`: a step's output was taken from a binary cache instead of built.
    Substituted {
        step: &'a str,
        path: &'a Path,
        cache: &'a str,
    },
    Built {
        step: &'a str,
        path: &'a Path,
        duration: Duration,
    },
    Failed {
        step: &'a str,
    },
    /// `--check`: a step rebuilt, and whether its output was the same.
    Checked {
        step: &'a str,
        same: bool,
    },
    /// A source fetched or locked.
    Fetched {
        source: &'a str,
        detail: &'a str,
    },
    Finished {
        built: usize,
        cached: usize,
        duration: Duration,
    },
}

pub trait Reporter: Sync {
    fn report(&self, event: &Event<'_>);
}

/// A reporter that drops everything (`-q`, tests).
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: &Event<'_>) {}
}
