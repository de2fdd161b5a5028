//! Everything hivebuild prints: progress (build and test events rendered as bars on a
//! terminal, plain lines otherwise, JSON lines with `--json`, nothing with `-q`), an
//! operation's outcome, and errors (from the error value: its message, causes and hint).

use std::error::Error as _;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hive_engine::{Event, Reporter};
use hive_image::Event as ImageEvent;
use hive_ops::{Error, Outcome};
use hive_qemu::suite::Event as TestEvent;
use hive_update::Event as UpdateEvent;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::settings::{Output, Settings};

/// Renders engine events for the user.
pub(crate) struct CliReporter {
    output: Output,
    bar: Option<ProgressBar>,
}

impl CliReporter {
    pub(crate) fn new(settings: &Settings) -> Self {
        let bar = (settings.terminal
            && matches!(settings.output, Output::Normal | Output::Verbose))
        .then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            output: settings.output,
            bar,
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Reporter for CliReporter {
    fn report(&self, event: &Event<'_>) {
        match self.output {
            Output::Quiet => {}
            Output::Json => emit(&format!("{}\n", event_json(event))),
            Output::Normal | Output::Verbose => self.human(event),
        }
    }
}

impl hive_qemu::suite::Reporter for CliReporter {
    fn report(&self, event: &TestEvent<'_>) {
        match event {
            TestEvent::Booting {
                suite,
                case,
                machine,
            } => self.event(
                || json!({"event": "booting", "suite": suite, "case": case, "machine": machine}),
                || format!("{:>10} {case} ({machine})", "booting"),
            ),
            TestEvent::Finished {
                suite,
                case,
                passed,
                detail,
            } => self.event(
                || json!({"event": "tested", "suite": suite, "case": case, "passed": passed, "detail": detail}),
                || format!("{:>10} {case}: {detail}", if *passed { "passed" } else { "FAILED" }),
            ),
        }
    }
}

impl hive_image::Reporter for CliReporter {
    fn report(&self, event: &ImageEvent<'_>) {
        match event {
            ImageEvent::Resolved { partitions, bytes } => self.event(
                || json!({"event": "resolved", "partitions": partitions, "bytes": bytes}),
                || {
                    format!(
                        "{:>10} {partitions} partitions from {} of inputs",
                        "composing",
                        bytes_text(*bytes)
                    )
                },
            ),
            ImageEvent::Partition { index, count, info } => {
                let holds = match &info.content {
                    Some(content) => bytes_text(content.size),
                    None if info.files.is_empty() => "empty".to_owned(),
                    None => plural(info.files.len(), "file"),
                };
                self.event(
                    || json!({"event": "partition", "index": index, "count": count, "name": info.name, "kind": info.kind, "size": info.size}),
                    || format!("{:>10} partition {index}/{count} {} ({}, {holds})", "wrote", info.name, info.kind),
                );
            }
        }
    }
}

impl hive_update::Reporter for CliReporter {
    fn report(&self, event: &UpdateEvent<'_>) {
        match event {
            UpdateEvent::Verified {
                version,
                kind,
                components,
            } => self.event(
                || json!({"event": "verified", "version": version, "kind": kind.as_str(), "components": components}),
                || format!("{:>10} bundle version {version} ({}, {})", "verified", kind.as_str(), plural(*components, "component")),
            ),
            UpdateEvent::Staged {
                slot,
                component,
                how,
                length,
            } => self.event(
                || json!({"event": "staged", "slot": slot.to_string(), "component": component, "how": how, "length": length}),
                || format!("{:>10} {component} in slot {slot} ({how}, {})", "staged", bytes_text(*length)),
            ),
            UpdateEvent::Switched { slot, version } => self.event(
                || json!({"event": "switched", "slot": slot.to_string(), "version": version}),
                || format!("{:>10} to slot {slot} (version {version})", "switched"),
            ),
        }
    }
}

impl CliReporter {
    /// One event: a JSON line with `--json`, a line of text otherwise, nothing with `-q`.
    fn event(&self, json: impl FnOnce() -> serde_json::Value, text: impl FnOnce() -> String) {
        match self.output {
            Output::Quiet => {}
            Output::Json => emit(&format!("{}\n", json())),
            Output::Normal | Output::Verbose => self.line(&text()),
        }
    }

    fn human(&self, event: &Event<'_>) {
        let verbose = self.output == Output::Verbose;
        match event {
            Event::Started { total, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(*total as u64);
                }
            }
            Event::Cached { step, path } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                if verbose {
                    self.line(&format!("{:>10} {step} {}", "cached", path.display()));
                }
            }
            Event::Running { step, kind } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{step} ({kind})"));
                } else {
                    self.line(&format!("{:>10} {step} ({kind})", "building"));
                }
            }
            Event::Built {
                step,
                path,
                duration,
            } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                let mut line = format!("{:>10} {step} in {}", "built", seconds(*duration));
                if verbose {
                    let _ = write!(line, " {}", path.display());
                }
                self.line(&line);
            }
            Event::Substituted { step, path, cache } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                let mut line = format!("{:>10} {step} from {cache}", "fetched");
                if verbose {
                    let _ = write!(line, " {}", path.display());
                }
                self.line(&line);
            }
            Event::Failed { step } => self.line(&format!("{:>10} {step}", "failed")),
            Event::Checked { step, same } => {
                self.line(&format!(
                    "{:>10} {step}",
                    if *same { "same" } else { "DIFFERS" }
                ));
            }
            Event::Fetched { source, detail } => {
                self.line(&format!("{:>10} {source}: {detail}", "locked"));
            }
            Event::Finished {
                built,
                cached,
                duration,
            } => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
                if *built == 0 {
                    self.line(&format!(
                        "nothing to build: all {cached} steps are in the store ({})",
                        seconds(*duration)
                    ));
                } else {
                    self.line(&format!(
                        "built {built} steps, {cached} from the store, in {}",
                        seconds(*duration)
                    ));
                }
            }
        }
    }
}

/// `1 file`, `2 files`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `512 B`, `12.3 KiB`, `4.0 MiB`.
fn bytes_text(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "one decimal shown")]
    let value = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", value / 1024.0),
        _ => format!("{:.1} MiB", value / 1_048_576.0),
    }
}

fn seconds(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

fn event_json(event: &Event<'_>) -> serde_json::Value {
    let ms = |d: &Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    match event {
        Event::Started { total, to_build } => {
            json!({"event": "started", "total": total, "to-build": to_build})
        }
        Event::Cached { step, path } => json!({"event": "cached", "step": step, "path": path}),
        Event::Running { step, kind } => json!({"event": "running", "step": step, "kind": kind}),
        Event::Built {
            step,
            path,
            duration,
        } => json!({"event": "built", "step": step, "path": path, "ms": ms(duration)}),
        Event::Substituted { step, path, cache } => {
            json!({"event": "substituted", "step": step, "path": path, "cache": cache})
        }
        Event::Failed { step } => json!({"event": "failed", "step": step}),
        Event::Checked { step, same } => json!({"event": "checked", "step": step, "same": same}),
        Event::Fetched { source, detail } => {
            json!({"event": "locked", "source": source, "detail": detail})
        }
        Event::Finished {
            built,
            cached,
            duration,
        } => {
            json!({"event": "finished", "built": built, "cached": cached, "ms": ms(duration)})
        }
    }
}

/// Set once `show` has printed the JSON document of a failed outcome, with its error in it:
/// one document per run, so the error is not printed again.
static ERROR_SHOWN: AtomicBool = AtomicBool::new(false);

/// Show an operation's outcome (JSON with `--json`, the text otherwise, nothing with -q),
/// then give its verdict. With `--json`, a failed verdict's error goes into the same
/// document (`"error": {…}`).
pub(crate) fn show(settings: &Settings, outcome: &dyn Outcome) -> Result<(), Error> {
    let verdict = outcome.verdict();
    match settings.output {
        Output::Json => {
            let mut document = outcome.json();
            if let (Err(error), Some(object)) = (&verdict, document.as_object_mut()) {
                object.insert("error".into(), error_json(error)["error"].take());
                ERROR_SHOWN.store(true, Ordering::Relaxed);
            }
            emit(&format!("{document}\n"));
        }
        Output::Quiet => {}
        Output::Normal | Output::Verbose => emit(&outcome.text()),
    }
    verdict
}

/// Print an error: diagnostics with snippets, or the message, its causes, what a failed
/// program printed last, and a hint; with `--json`, a JSON document built from the error.
pub(crate) fn print_error(settings: Option<&Settings>, error: &Error) {
    let color = settings.is_some_and(|s| s.terminal);
    if settings.is_some_and(|s| s.output == Output::Json) {
        if !ERROR_SHOWN.load(Ordering::Relaxed) {
            emit(&format!("{}\n", error_json(error)));
        }
        return;
    }
    eprint!("{}", render_error(error, color));
}

fn render_error(error: &Error, color: bool) -> String {
    let mut out = String::new();
    if let Error::Manifest(hive_manifest::ManifestError::Invalid(diagnostics)) = error {
        out.push_str(&diagnostics.render(color));
    }
    let _ = writeln!(out, "error: {error}");
    // Transparent variants forward `source` to their inner error's: no message repeats.
    let mut cause = error.source();
    while let Some(error) = cause {
        let _ = writeln!(out, "  caused by: {error}");
        let process = error
            .downcast_ref::<hive_process::ProcessError>()
            .or_else(|| {
                error
                    .downcast_ref::<Box<hive_process::ProcessError>>()
                    .map(AsRef::as_ref)
            });
        if let Some(hive_process::ProcessError::Failed { tail, log, .. }) = process {
            if !tail.is_empty() {
                let _ = writeln!(out, "  last lines of output:");
                for line in tail.lines() {
                    let _ = writeln!(out, "  | {line}");
                }
            }
            if let Some(log) = log {
                let _ = writeln!(out, "  full log: {}", log.display());
            }
        }
        cause = error.source();
    }
    if let Some(hint) = error.hint() {
        let _ = writeln!(out, "hint: {hint}");
    }
    out
}

fn error_json(error: &Error) -> serde_json::Value {
    let diagnostics = match error {
        Error::Manifest(hive_manifest::ManifestError::Invalid(d)) => d
            .shown()
            .iter()
            .map(|item| {
                let (line, column) = d.line_col(item.span.start);
                json!({"file": d.path, "line": line, "column": column, "message": item.message, "help": item.help})
            })
            .collect(),
        _ => Vec::new(),
    };
    json!({"error": {
        "code": error.exit_code(),
        "message": error.to_string(),
        "hint": error.hint(),
        "text": render_error(error, false),
        "diagnostics": diagnostics,
    }})
}

/// Write to stdout; a closed pipe (`hivebuild plan | head`) is not an error worth a panic.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
