//! Everything hivebuild prints: progress (a [`Reporter`] rendered as bars on a terminal,
//! plain lines otherwise, JSON lines with `--json`, nothing with `-q`) and errors.

use std::error::Error as _;
use std::fmt::Write as _;
use std::time::Duration;

use hive_engine::{Event, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::dispatch::CliError;
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

impl CliReporter {
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

/// Print a command's result document: JSON with `--json`, the text otherwise (not with -q).
pub(crate) fn print_result(settings: &Settings, text: &str, json: &serde_json::Value) {
    match settings.output {
        Output::Json => emit(&format!("{json}\n")),
        Output::Quiet => {}
        Output::Normal | Output::Verbose => emit(text),
    }
}

/// Print an error: diagnostics with snippets, or the message, its causes, what a failed
/// program printed last, and a hint.
pub(crate) fn print_error(settings: Option<&Settings>, error: &CliError) {
    let color = settings.is_some_and(|s| s.terminal);
    if settings.is_some_and(|s| s.output == Output::Json) {
        emit(&format!("{}\n", error_json(error)));
        return;
    }
    eprint!("{}", render_error(error, color));
}

pub(crate) fn render_error(error: &CliError, color: bool) -> String {
    let mut out = String::new();
    let (message, source, hint): (
        String,
        Option<&(dyn std::error::Error + 'static)>,
        Option<String>,
    ) = match error {
        CliError::Usage(message) => (message.clone(), None, Some("see `hivebuild --help`".into())),
        CliError::Refused { message, hint, .. } => (message.clone(), None, hint.clone()),
        CliError::Manifest(hive_manifest::ManifestError::Invalid(diagnostics)) => {
            out.push_str(&diagnostics.render(color));
            (error_summary(error), None, None)
        }
        CliError::Manifest(e) => (e.to_string(), e.source(), None),
        CliError::Plan(e) => (e.to_string(), e.source(), e.hint()),
        CliError::Lock(e) => (e.to_string(), e.source(), None),
        CliError::Engine(e) => (e.to_string(), e.source(), e.hint()),
        CliError::Store(e) => (e.to_string(), e.source(), None),
        CliError::Key(e) => (e.to_string(), e.source(), None),
        CliError::Sign(e) => (e.to_string(), e.source(), None),
        CliError::Verify(e) => (e.to_string(), e.source(), None),
        CliError::Image(e) => (e.to_string(), e.source(), None),
        CliError::Release(e) => (e.to_string(), e.source(), None),
        CliError::Update(e) => (e.to_string(), e.source(), None),
        CliError::NotReproducible(count) => (
            format!(
                "{count} step{} did not build the same twice",
                if *count == 1 { "" } else { "s" }
            ),
            None,
            Some("the files listed above differ between the two builds".into()),
        ),
    };
    let _ = writeln!(out, "error: {message}");
    let mut cause = source;
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
    if let Some(hint) = hint {
        let _ = writeln!(out, "hint: {hint}");
    }
    out
}

fn error_summary(error: &CliError) -> String {
    match error {
        CliError::Manifest(e) => e.to_string(),
        _ => String::new(),
    }
}

fn error_json(error: &CliError) -> serde_json::Value {
    let diagnostics = match error {
        CliError::Manifest(hive_manifest::ManifestError::Invalid(d)) => d
            .list
            .iter()
            .map(|item| {
                let (line, column) = d.line_col(item.span.start);
                json!({"file": d.path, "line": line, "column": column, "message": item.message, "help": item.help})
            })
            .collect(),
        _ => Vec::new(),
    };
    let text = render_error(error, false);
    json!({"error": {"code": error.exit_code(), "message": text.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().trim_start_matches("error: "), "text": text, "diagnostics": diagnostics}})
}

/// Write to stdout; a closed pipe (`hivebuild plan | head`) is not an error worth a panic.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
