//! The whole hosted hive (`x86_64`, TCG): `hivebuild ask` starts the police and the thinking
//! Brain; the Brain routes the request to `pdf`, fills its arguments, the police starts the
//! lazy skill from its pool, and the answer comes back. Runs when the Unikraft sources are
//! given (like `unikraft_real_*`) and the models are installed (`ci/install-models`).

use std::path::PathBuf;

use crate::support::Project;
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
    let memory = project.root().join("memory");
    let memory_store = format!("memory={}", memory.display());
    let models_store = format!("models={}", models.display());
    let json = with_upstream(
        &project,
        &[
            "--json",
            "ask",
            "manifests/demo.toml",
            "--target",
            "x86_64",
            "--brain-store",
            &memory_store,
            "--brain-store",
            &models_store,
            "extract the text of samples/report.pdf",
        ],
        &sources,
    );
    let answer: serde_json::Value = serde_json::from_str(&json).unwrap();
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
