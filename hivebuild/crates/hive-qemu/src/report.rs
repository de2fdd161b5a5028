//! Test reports, written one way for every suite: the suite's JSON document (`SUITE.json`),
//! JUnit XML for CI (`quick-junit`, the writer nextest uses), each boot's whole console
//! transcript, and a plot where the suite draws one.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::suite::{SuiteError, write_error};

/// Where a suite's reports went.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    pub dir: PathBuf,
    pub json: PathBuf,
    pub junit: PathBuf,
    pub plot: Option<PathBuf>,
}

/// What a suite's result gives the writer and the user.
pub trait SuiteReport {
    /// The suite's name: `smoke`, `faults`, `boot-latency` (the reports' file stem).
    fn suite(&self) -> &'static str;
    /// The document `SUITE.json` holds, and `--json` prints unless [`Self::summary`] says
    /// otherwise.
    fn document(&self) -> serde_json::Value;
    /// `SUITE.json`'s text (the document, pretty-printed, unless the suite keeps its own
    /// field order).
    fn document_text(&self) -> String {
        serde_json::to_string_pretty(&self.document()).expect("reports serialise")
    }
    fn junit(&self) -> quick_junit::Report;
    /// The console transcripts to keep, as (file name, text); a suite may note where they
    /// went in its document.
    fn transcripts(&mut self, dir: &Path) -> Vec<(PathBuf, String)>;
    /// Draw the suite's plot to `path`, for suites that have one.
    fn plot(&self, _path: &Path) -> Option<Result<(), String>> {
        None
    }
    /// For people: one line per case and where the reports are.
    fn to_text(&self, written: &Written) -> String;
    /// The document `--json` prints (the file's, unless the suite says otherwise).
    fn summary(&self, _written: &Written) -> serde_json::Value {
        self.document()
    }
    /// `Err(SuiteError::Failed)` when a case failed.
    fn verdict(&self, written: &Written) -> Result<(), SuiteError>;
}

/// Write a suite's reports into `dir`; JUnit XML to `junit` (default `DIR/SUITE.junit.xml`).
pub fn write(
    report: &mut dyn SuiteReport,
    dir: &Path,
    junit: Option<&Path>,
) -> Result<Written, SuiteError> {
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    for (path, text) in report.transcripts(dir) {
        std::fs::write(&path, text).map_err(write_error(&path))?;
    }
    let suite = report.suite();
    let json = dir.join(format!("{suite}.json"));
    std::fs::write(&json, report.document_text() + "\n").map_err(write_error(&json))?;
    let junit = junit.map_or_else(|| dir.join(format!("{suite}.junit.xml")), Path::to_owned);
    let xml = report.junit().to_string().expect("JUnit serialises");
    std::fs::write(&junit, xml).map_err(write_error(&junit))?;
    let svg = dir.join(format!("{suite}.svg"));
    let plot = match report.plot(&svg) {
        None => None,
        Some(Ok(())) => Some(svg),
        Some(Err(message)) => {
            return Err(SuiteError::Write {
                source: std::io::Error::other(message),
                path: svg,
            });
        }
    };
    Ok(Written {
        dir: dir.to_owned(),
        json,
        junit,
        plot,
    })
}
