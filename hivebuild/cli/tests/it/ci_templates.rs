//! The CI templates users copy (`ci/templates/`) must not rot: the GitHub workflow is run
//! here, step by step, against a hive made by `hivebuild new` in a git repository with a bare
//! `origin`, for two tagged releases (the second gets a delta bundle), and a device updates
//! from the TUF repository it publishes. The GitLab file is parsed and every hivebuild
//! command it runs must exist.
//!
//! How the workflow is played: jobs in `needs` order; of the target matrix only `x86_64` (the
//! seL4 targets need the upstream sources); `run:` steps with bash as GitHub runs them
//! (`bash --noprofile --norc -eo pipefail`), with the workflow's, job's and step's `env`;
//! `${{ ... }}` replaced from a fixed table (an expression not in it fails the test);
//! checkout and artifact steps are no-ops (one folder plays every runner); the release step's
//! file patterns must each match a file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::support::{BUILD_TOOLS, Outside, assert_success, have, hivebuild, ok, repo};

#[derive(Debug, Deserialize)]
struct Workflow {
    #[serde(default)]
    env: BTreeMap<String, String>,
    jobs: BTreeMap<String, Job>,
}

#[derive(Debug, Deserialize)]
struct Job {
    #[serde(default)]
    needs: Option<Needs>,
    #[serde(default)]
    strategy: Option<Strategy>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Needs {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct Strategy {
    matrix: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Step {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    uses: Option<String>,
    #[serde(default)]
    with: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    run: Option<String>,
}

fn template(name: &str) -> String {
    std::fs::read_to_string(repo().join("ci/templates").join(name)).unwrap()
}

/// Jobs in an order where each comes after the jobs it needs.
fn job_order(workflow: &Workflow) -> Vec<&str> {
    let mut order: Vec<&str> = Vec::new();
    while order.len() < workflow.jobs.len() {
        let before = order.len();
        for (name, job) in &workflow.jobs {
            let needs: Vec<&str> = match &job.needs {
                None => Vec::new(),
                Some(Needs::One(one)) => vec![one.as_str()],
                Some(Needs::Many(many)) => many.iter().map(String::as_str).collect(),
            };
            if !order.contains(&name.as_str()) && needs.iter().all(|n| order.contains(n)) {
                order.push(name);
            }
        }
        assert!(order.len() > before, "the jobs' `needs` form a cycle");
    }
    order
}

/// Replace every `${{ expr }}` from `known`; an expression not in it fails the test.
fn evaluate(text: &str, known: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("an unclosed `${{`") + start;
        let expression = rest[start + 3..end].trim();
        let value = known.get(expression).unwrap_or_else(|| {
            panic!("the workflow uses `${{{{ {expression} }}}}`, which this test does not know")
        });
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

struct Run<'a> {
    hive: &'a Path,
    scratch: &'a Path,
    tag: &'a str,
    known: BTreeMap<&'static str, String>,
}

impl Run<'_> {
    fn workflow(&self, workflow: &Workflow) {
        for name in job_order(workflow) {
            let job = &workflow.jobs[name];
            let runner_temp = self.scratch.join(format!("runner-{}-{name}", self.tag));
            std::fs::create_dir_all(&runner_temp).unwrap();
            let mut env: BTreeMap<String, String> = BTreeMap::new();
            for (key, value) in workflow.env.iter().chain(&job.env) {
                env.insert(key.clone(), evaluate(value, &self.known));
            }
            if let Some(strategy) = &job.strategy {
                let targets = &strategy.matrix["target"];
                assert!(targets.iter().any(|t| t == "x86_64"), "{targets:?}");
            }
            for step in &job.steps {
                self.step(name, step, &env, &runner_temp);
            }
        }
    }

    fn step(&self, job: &str, step: &Step, env: &BTreeMap<String, String>, runner_temp: &Path) {
        let label = format!(
            "{job}: {}",
            step.name.as_deref().or(step.uses.as_deref()).unwrap_or("?")
        );
        if let Some(uses) = &step.uses {
            let action = uses.split('@').next().unwrap();
            match action {
                "actions/checkout" | "actions/upload-artifact" | "actions/download-artifact" => {}
                "softprops/action-gh-release" => {
                    let files = step.with["files"].as_str().unwrap();
                    for pattern in files.lines().map(str::trim).filter(|p| !p.is_empty()) {
                        let listed = ok(Command::new("bash").current_dir(self.hive).args([
                            "-c",
                            "compgen -G \"$1\" || true",
                            "-",
                            pattern,
                        ]));
                        assert!(
                            !listed.trim().is_empty(),
                            "{label}: `{pattern}` matches no file"
                        );
                    }
                }
                other => panic!("{label}: this test does not know the action `{other}`"),
            }
            return;
        }
        let script = step.run.as_deref().expect("a step with `uses` or `run`");
        let mut bash = Command::new("bash");
        bash.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(self.hive)
            .env("PATH", path_with_hivebuild())
            .env("RUNNER_TEMP", runner_temp)
            .env("GITHUB_REF_NAME", self.tag)
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env("HIVEBUILD_STORE", self.scratch.join("store"))
            .env("XDG_CACHE_HOME", self.scratch.join("cache"))
            .env_remove("HIVEBUILD_STOCK");
        for (key, value) in env.iter().chain(&step.env) {
            bash.env(key, evaluate(value, &self.known));
        }
        let output = bash.output().unwrap();
        if !output.status.success() {
            eprintln!("the step `{label}` failed");
        }
        assert_success(&output);
    }
}

/// PATH with the hivebuild under test first.
fn path_with_hivebuild() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_hivebuild")).parent().unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin.to_owned()).chain(std::env::split_paths(&path)))
        .unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    ok(Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args))
}

#[expect(
    clippy::too_many_lines,
    reason = "a scenario test: the workflow played step by step"
)]
#[test]
fn build_ci_template_github_release_runs_on_a_new_hive_and_a_device_updates_from_it() {
    let test = "build_ci_template_github_release_runs_on_a_new_hive_and_a_device_updates_from_it";
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["git", "bash", "qemu-system-x86_64", "aarch64-linux-gnu-gcc"]);
    if !have(test, &tools) {
        return;
    }
    let workflow: Workflow = serde_saphyr::from_str(&template("github-release.yml")).unwrap();
    let outside = Outside::new();
    let scratch = outside.path();
    let hive = scratch.join("hive");
    std::fs::create_dir(scratch.join("keys")).unwrap();
    let bees = |dir: &Path, args: &[&str]| ok(&mut outside.hivebuild(dir, args));
    bees(scratch, &["new", "hive"]);
    bees(scratch, &["key", "generate", "--out", "keys/release"]);
    bees(
        scratch,
        &[
            "root",
            "init",
            "--key",
            "keys/release.pub",
            "--sign-key",
            "keys/release.key",
            "-o",
            "hive/signing/root.json",
        ],
    );
    git(scratch, &["init", "--quiet", "--bare", "origin.git"]);
    git(&hive, &["init", "--quiet"]);
    let origin = scratch.join("origin.git").display().to_string();
    git(&hive, &["remote", "add", "origin", &origin]);
    git(&hive, &["add", "-A"]);
    git(&hive, &["commit", "--quiet", "-m", "a new hive"]);
    git(&hive, &["tag", "v1"]);

    let key = std::fs::read_to_string(scratch.join("keys/release.key")).unwrap();
    let known = |target: &str| {
        BTreeMap::from([
            ("matrix.target", target.to_owned()),
            ("secrets.HIVE_SIGNING_KEY", key.trim().to_owned()),
            ("vars.HIVEBUILD_GIT", String::new()),
            ("vars.HIVEBUILD_REV", String::new()),
            ("vars.HIVE_SIGNER", String::new()),
            ("vars.HIVE_SIGNER_PUB", String::new()),
        ])
    };
    Run {
        hive: &hive,
        scratch,
        tag: "v1",
        known: known("x86_64"),
    }
    .workflow(&workflow);
    assert!(hive.join("out/x86_64/x86_64-1.full.hivebundle").is_file());
    assert!(!hive.join("out/x86_64/x86_64-1.delta.hivebundle").exists());
    assert!(
        hive.join("out/x86_64/release/hive-x86_64.sbom.json")
            .is_file()
    );

    // A device takes release 1 from the published repository.
    let published = scratch.join("published");
    git(
        scratch,
        &[
            "clone",
            "--quiet",
            "--branch",
            "hive-updates",
            "origin.git",
            "published",
        ],
    );
    let device = |args: &[&str]| {
        let mut all = vec!["fetch-update", "--repo"];
        let repo = published.display().to_string();
        let device = scratch.join("device").display().to_string();
        all.extend([repo.as_str(), "--device", device.as_str()]);
        all.extend(args);
        bees(&hive, &all)
    };
    device(&[
        "--trust-root",
        "signing/root.json",
        "--hardware-id",
        "x86_64-microvm",
    ]);

    // Release 2 changes a skill: its bundles are a full one and a delta from release 1.
    let manifest = hive.join("hive.toml");
    let edited = std::fs::read_to_string(&manifest).unwrap().replace(
        "template = \"net-listener\"\nmemory = \"16MiB\"",
        "template = \"net-listener\"\nmemory = \"24MiB\"",
    );
    assert!(
        edited.contains("memory = \"24MiB\""),
        "the edit did not apply"
    );
    std::fs::write(&manifest, edited).unwrap();
    std::fs::remove_dir_all(hive.join("out")).unwrap();
    git(&hive, &["commit", "--quiet", "-am", "net gets more memory"]);
    git(&hive, &["tag", "v2"]);
    Run {
        hive: &hive,
        scratch,
        tag: "v2",
        known: known("x86_64"),
    }
    .workflow(&workflow);
    assert!(hive.join("out/x86_64/x86_64-2.full.hivebundle").is_file());
    assert!(hive.join("out/x86_64/x86_64-2.delta.hivebundle").is_file());
    git(&published, &["pull", "--quiet", "origin", "hive-updates"]);
    let updated = device(&[]);
    assert!(
        updated.contains("2.delta-from-1") && updated.contains("version 2"),
        "the device did not take the delta: {updated}"
    );
}

/// Every `hivebuild SUBCOMMAND` the GitLab file (and the GitHub one) runs exists, and the
/// GitLab file has the jobs the GitHub workflow has.
#[test]
fn cli_ci_templates_name_only_commands_hivebuild_has() {
    let gitlab: serde_json::Value = serde_saphyr::from_str(&template("gitlab-ci.yml")).unwrap();
    for job in ["images", "publish"] {
        assert!(
            gitlab[job]["script"].is_array(),
            "the GitLab file has no job `{job}` with a script"
        );
    }
    for file in ["gitlab-ci.yml", "github-release.yml"] {
        let text = template(file);
        // Commands: lines (or list items) that start with `hivebuild `; comments left out.
        let mut subcommands: Vec<&str> = text
            .lines()
            .map(|line| {
                line.trim()
                    .trim_start_matches("- ")
                    .trim_start_matches("run: ")
            })
            .filter_map(|line| line.strip_prefix("hivebuild "))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        subcommands.sort_unstable();
        subcommands.dedup();
        assert!(subcommands.contains(&"publish"), "{file}: {subcommands:?}");
        for subcommand in subcommands {
            let output = hivebuild().args([subcommand, "--help"]).output().unwrap();
            assert!(
                output.status.success(),
                "{file}: `hivebuild {subcommand}` is not a command"
            );
        }
    }
}
