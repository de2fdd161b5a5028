//! The whole hosted hive (`x86_64`, TCG): `hivebuild ask` starts the police and the thinking
//! Brain; the Brain routes the request to `pdf`, fills its arguments, the police starts the
//! lazy skill from its pool, and the answer comes back. On the demo's Unikraft skills when the
//! Unikraft sources are given (like `unikraft_real_*`); on the stand-ins with the skill
//! runtime (`manifests/thinking-standins.toml`, the README's first command) with no upstream
//! source. Both need the models (`ci/install-models`).

use std::path::PathBuf;

use crate::support::{Project, ok, step};
use crate::unikraft::{real, with_upstream};

/// The models store `ci/install-models` fills, or why the test does not run.
pub(crate) fn models(test: &str) -> Option<PathBuf> {
    let store = hive_ops::hive::store_folder("models");
    if store.join("SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
        && store.join("all-MiniLM-L6-v2/model.safetensors").is_file()
    {
        return Some(store);
    }
    let message = format!(
        "{test}: did not run: the Brain's models are not in `{}` (run ci/install-models)",
        store.display()
    );
    assert!(
        std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
        "{message}"
    );
    eprintln!("{message}");
    None
}

/// `ask MANIFEST --target x86_64 --json "extract the text of samples/report.pdf"` with a
/// memory store of the project's and the installed models; the answer's JSON.
fn ask_for_the_report(
    project: &Project,
    manifest: &str,
    models: &std::path::Path,
    run: impl FnOnce(&[&str]) -> String,
) -> serde_json::Value {
    let memory_store = format!("memory={}", project.root().join("memory").display());
    let models_store = format!("models={}", models.display());
    let json = run(&[
        "--json",
        "ask",
        manifest,
        "--target",
        "x86_64",
        "--brain-store",
        &memory_store,
        "--brain-store",
        &models_store,
        "extract the text of samples/report.pdf",
    ]);
    // The build's events come first, one JSON object a line; the answer is the last line.
    let answer = json.lines().last().unwrap_or_default();
    serde_json::from_str(answer).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
fn ask_routes_a_request_to_the_lazy_pdf_skill_and_answers_with_the_reports_text() {
    let test = "ask_routes_a_request_to_the_lazy_pdf_skill_and_answers_with_the_reports_text";
    let Some(sources) = real(test) else {
        return;
    };
    let Some(models) = models(test) else {
        return;
    };
    let project = Project::new();
    let answer = ask_for_the_report(&project, "manifests/demo.toml", &models, |args| {
        with_upstream(&project, args, &sources)
    });
    the_report_came_back(test, &project, &answer);
}

/// The README's first command's hive: no upstream source, the stand-in `pdf` built with the
/// skill runtime serves the Brain's job.
#[test]
fn ask_answers_on_the_thinking_standins_with_no_upstream_source() {
    let test = "ask_answers_on_the_thinking_standins_with_no_upstream_source";
    let Some(models) = models(test) else {
        return;
    };
    if !crate::support::have(test, &["qemu-system-x86_64"]) {
        return;
    }
    let project = Project::new();
    let answer = ask_for_the_report(
        &project,
        "manifests/thinking-standins.toml",
        &models,
        |args| ok(&mut project.hivebuild(args)),
    );
    the_report_came_back(test, &project, &answer);
}

/// The plan builds the stand-in `pdf` with the skill runtime (it holds `channel:brain`) on
/// the hosted lane only.
#[test]
fn a_standin_skill_with_the_brains_channel_links_the_skill_runtime() {
    let project = Project::new();
    let plan = |manifest: &str| -> serde_json::Value {
        let args = ["plan", manifest, "--format", "json", "--target", "x86_64"];
        serde_json::from_str(&ok(&mut project.hivebuild(&args))).unwrap()
    };
    let thinking = plan("manifests/thinking-standins.toml");
    let pdf = step(&thinking, "skill-pdf");
    assert_eq!(
        pdf["kind"]["vars"]["RUNTIME"]["name"], "skill-runtime",
        "{pdf}"
    );
    // The stand-ins hive without a `skill-runtime`: its skills end after `ready`, as before.
    let standins = plan("manifests/standins.toml");
    assert!(step(&standins, "skill-pdf")["kind"]["vars"]["RUNTIME"].is_null());
}

/// What both `ask` tests expect of the answer to "extract the text of samples/report.pdf".
fn the_report_came_back(test: &str, project: &Project, answer: &serde_json::Value) {
    let memory = project.root().join("memory");
    eprintln!("{test}: {answer:#}");
    assert_eq!(answer["skill"], "pdf", "{answer:#}");
    assert_eq!(answer["arguments"]["path"], "samples/report.pdf");
    let result = answer["result"].as_str().unwrap();
    assert!(
        result.contains("Hive quarterly report")
            && result.contains("The hive answered 42 requests this quarter."),
        "{result}"
    );
    assert!(!answer["reply"].as_str().unwrap().trim().is_empty());
    assert!(answer["error"].is_null());
    // `pdf` is lazy: the police started it for this request, from its pool.
    let spawned = answer["spawned"].as_array().unwrap();
    assert!(spawned.iter().any(|s| s["skill"] == "pdf"), "{spawned:?}");
    // The request is remembered on disk.
    assert!(std::fs::metadata(memory.join("memory.hive")).unwrap().len() > 8);
}
