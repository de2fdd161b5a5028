//! Diagnostics that point into a TOML file: what is wrong, where, and how to fix it.
//!
//! Every problem found in a manifest or target file becomes a [`Diagnostic`] with a byte
//! span. They are collected (not returned one at a time) so that a user sees all of them in
//! one run, and rendered rustc-style with `annotate-snippets`.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

/// One problem at one place in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    /// Byte range in the file; empty ranges point at a position.
    pub span: Range<usize>,
    /// Short text under the underlined span.
    pub label: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        Self {
            message: message.into(),
            span,
            label: String::new(),
            help: None,
        }
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// All the problems found in one file, with the file's text to show them in.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    pub path: PathBuf,
    pub source: String,
    pub list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(path: &Path, source: &str) -> Self {
        Self {
            path: path.to_owned(),
            source: source.to_owned(),
            list: Vec::new(),
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.list.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// How many diagnostics are shown at most; the count of the others follows them.
    pub const SHOWN: usize = 20;

    /// The diagnostics shown: the first [`Self::SHOWN`], in file order of discovery.
    pub fn shown(&self) -> &[Diagnostic] {
        &self.list[..self.list.len().min(Self::SHOWN)]
    }

    /// Render the diagnostics shown with the offending line and an underline, rustc-style,
    /// then how many more there are.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let origin = self.path.display().to_string();
        let mut out = String::new();
        for diagnostic in self.shown() {
            let span = clamp_span(&self.source, diagnostic.span.clone());
            let annotation = AnnotationKind::Primary.span(span).label(&diagnostic.label);
            let snippet = Snippet::source(&self.source)
                .line_start(1)
                .path(&origin)
                .fold(true)
                .annotation(annotation);
            let mut group = Level::ERROR
                .primary_title(&diagnostic.message)
                .element(snippet);
            if let Some(help) = &diagnostic.help {
                group = group.element(Level::HELP.message(help));
            }
            let _ = writeln!(out, "{}\n", renderer.render(&[group]));
        }
        let more = self.list.len() - self.shown().len();
        if more > 0 {
            let _ = writeln!(
                out,
                "... and {more} more error{} in `{origin}` (the first {} are shown)\n",
                if more == 1 { "" } else { "s" },
                Self::SHOWN
            );
        }
        out
    }
}

/// Keep a span inside the text and on character boundaries; point at something visible.
fn clamp_span(source: &str, span: Range<usize>) -> Range<usize> {
    let mut start = span.start.min(source.len());
    let mut end = span.end.clamp(start, source.len());
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    while !source.is_char_boundary(end) {
        end += 1;
    }
    if start == end && end < source.len() {
        end = source[start..]
            .char_indices()
            .nth(1)
            .map_or(source.len(), |(i, _)| start + i);
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let diagnostics = Diagnostics::new(Path::new("m.toml"), "a = 1\nné = 2\n");
        assert_eq!(diagnostics.line_col(0), (1, 1));
        assert_eq!(diagnostics.line_col(6), (2, 1));
        assert_eq!(diagnostics.line_col(9), (2, 3));
    }

    #[test]
    fn render_shows_location_snippet_and_help() {
        let mut diagnostics = Diagnostics::new(Path::new("m.toml"), "[hive]\nname = 3\n");
        diagnostics.push(
            Diagnostic::new("bad name", 14..15)
                .label("not a string")
                .help("write `name = \"scout\"`"),
        );
        let text = diagnostics.render(false);
        assert!(text.contains("error: bad name"), "{text}");
        assert!(text.contains("--> m.toml:2:8"), "{text}");
        assert!(text.contains("name = 3"), "{text}");
        assert!(text.contains("^ not a string"), "{text}");
        assert!(text.contains("help: write `name = \"scout\"`"), "{text}");
    }
}
