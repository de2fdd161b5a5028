//! `hivebuild doctor [MANIFEST] [--target T | --all-targets]`: what building and testing each
//! target needs on this machine, found or missing, in the manner of `flutter doctor`: every
//! tool its steps run (from the plan's own checks, so the two never disagree), its sources
//! and boot assets (in the store, or fetched on the first build), QEMU with the files its
//! arguments name, and whether KVM can be used and why not.
//!
//! Tools are listed once for the machine, with the targets that need them; what is a
//! target's own (sources, assets, QEMU, KVM) under that target. Anything missing makes the
//! exit code 4, so that CI can run it first and stop early.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hive_plan::{Install, Probe, StepKind, ToolError};
use serde::Serialize;
use serde_json::json;

use crate::{Context, Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Found, or already in the store.
    Ok,
    /// Not here yet: fetched or downloaded on the first build (network needed).
    Fetch,
    /// Worth knowing, never a failure (KVM not usable: TCG is used).
    Note,
    /// The build or the tests cannot work until it is installed or given.
    Missing,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fetch => "fetch",
            Self::Note => "note",
            Self::Missing => "missing",
        }
    }
}

/// One line of the report.
#[derive(Debug, Serialize)]
pub struct Item {
    pub status: Status,
    /// `tool`, `source`, `asset`, `qemu`, `file`, `kvm`, `target`.
    pub kind: &'static str,
    pub name: String,
    /// Where it was found and its version, or what will happen, or what is wrong.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<Install>,
    /// The steps that run it (tools).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// The targets that need it (tools).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

impl Item {
    fn new(status: Status, kind: &'static str, name: impl Into<String>, detail: String) -> Self {
        Self {
            status,
            kind,
            name: name.into(),
            detail,
            install: None,
            steps: Vec::new(),
            targets: Vec::new(),
        }
    }

    fn missing_tool(kind: &'static str, name: &str, error: &ToolError) -> Self {
        Self {
            install: error.install().cloned(),
            ..Self::new(Status::Missing, kind, name, error.to_string())
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TargetReport {
    pub manifest: PathBuf,
    pub target: String,
    pub items: Vec<Item>,
}

/// What `doctor` found.
pub struct Report {
    pub tools: Vec<Item>,
    pub targets: Vec<TargetReport>,
    pub missing: usize,
}

/// Survey `manifests` (default: the project's `hive.toml`, else every manifest in
/// `manifests/`), every target of each or only `target`.
pub fn doctor(cx: &Context<'_>, manifest: Option<&Path>, target: Option<&str>) -> Result<Report> {
    let manifests = match manifest {
        Some(manifest) => vec![manifest.to_owned()],
        None => default_manifests()?,
    };
    let store = cx.open_store()?;
    let probe = crate::build::probe(Some(&store));
    let mut tools: Vec<Item> = Vec::new();
    let mut targets = Vec::new();
    for path in &manifests {
        let manifest = hive_manifest::load_manifest(path)?;
        let names = match target {
            Some(name) => vec![name.to_owned()],
            None => manifest.hive.targets.clone(),
        };
        for name in names {
            let mut report = TargetReport {
                manifest: path.clone(),
                target: name.clone(),
                items: Vec::new(),
            };
            check_target(
                cx,
                &store,
                &probe,
                &manifest,
                &name,
                &mut report,
                &mut tools,
            );
            targets.push(report);
        }
    }
    probe.save();
    let missing = tools
        .iter()
        .chain(targets.iter().flat_map(|t| &t.items))
        .filter(|item| item.status == Status::Missing)
        .count();
    Ok(Report {
        tools,
        targets,
        missing,
    })
}

impl crate::Outcome for Report {
    fn text(&self) -> String {
        render(&self.tools, &self.targets, self.missing)
    }

    fn json(&self) -> serde_json::Value {
        json!({"ready": self.missing == 0, "missing": self.missing, "tools": self.tools, "targets": self.targets})
    }

    fn verdict(&self) -> Result<()> {
        match self.missing {
            0 => Ok(()),
            count => Err(Error::Missing { count }),
        }
    }
}

/// Without a manifest: the project's `hive.toml`, else every manifest in `manifests/` (this
/// repository's layout).
fn default_manifests() -> Result<Vec<PathBuf>> {
    let project = PathBuf::from("hive.toml");
    if project.is_file() {
        return Ok(vec![project]);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("manifests")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(Error::usage(
            "no manifest: give one (`hivebuild doctor MANIFEST`), or run in a hive project (a folder with `hive.toml`)",
        ));
    }
    Ok(found)
}

fn check_target(
    cx: &Context<'_>,
    store: &hive_store::Store,
    probe: &Probe,
    manifest: &hive_manifest::Manifest,
    name: &str,
    report: &mut TargetReport,
    tools: &mut Vec<Item>,
) {
    let target = match hive_manifest::load_target(manifest, name) {
        Ok(target) => target,
        Err(error) => {
            report.items.push(Item::new(
                Status::Missing,
                "target",
                name,
                format!("the target file cannot be used: {error}"),
            ));
            return;
        }
    };
    match crate::build::survey(cx, probe, manifest, &target) {
        Ok(survey) => {
            for check in survey.tools {
                add_tool(tools, name, check.role, check.steps, &check.outcome);
            }
            let mut fetchers = Vec::new();
            for step in &survey.plan.steps {
                let in_store = store.lookup(&step.store_name).is_some();
                let (kind, what, from, needs): (_, &str, String, &[&str]) = match &step.kind {
                    StepKind::Fetch { source, locked } => match locked {
                        hive_plan::LockedSource::Git { url, commit, .. } => (
                            "source",
                            source,
                            format!("{url} at {}", &commit[..commit.len().min(12)]),
                            &["git"],
                        ),
                        hive_plan::LockedSource::Tarball { url, .. } => {
                            ("source", source, url.clone(), &["curl", "tar"])
                        }
                    },
                    StepKind::Asset {
                        package,
                        version,
                        arch,
                        ..
                    } => (
                        "asset",
                        match &step.role {
                            hive_plan::Role::Asset(name) => name.as_str(),
                            _ => step.name.as_str(),
                        },
                        format!("Debian's `{package}` {version} ({arch})"),
                        &["apt-get"],
                    ),
                    _ => continue,
                };
                let item = if in_store {
                    Item::new(Status::Ok, kind, what, format!("in the store: {from}"))
                } else if cx.engine.offline {
                    Item {
                        install: (kind == "source").then(|| source_install(what)),
                        ..Item::new(
                            Status::Missing,
                            kind,
                            what,
                            format!("not in the store, and `--offline` forbids fetching {from}"),
                        )
                    }
                } else {
                    fetchers.extend(needs.iter().map(|tool| (*tool, step.name.clone())));
                    Item::new(
                        Status::Fetch,
                        kind,
                        what,
                        format!("fetched on the first build: {from}"),
                    )
                };
                report.items.push(item);
            }
            for (program, step) in fetchers {
                let outcome = probe
                    .require(program, &Install::for_program(program))
                    .and_then(|path| {
                        let version = probe.version(&path)?;
                        Ok(hive_plan::FoundTool { path, version })
                    });
                add_tool(tools, name, program.to_owned(), vec![step], &outcome);
            }
        }
        Err(error) => report.items.push(Item::new(
            Status::Missing,
            "target",
            name,
            format!("no plan: {}", crate::error::with_causes(&error)),
        )),
    }
    check_qemu(probe, &target, report);
}

/// What to do offline about a source that is not in the store.
fn source_install(name: &str) -> Install {
    Install {
        debian: Vec::new(),
        elsewhere: Some(format!(
            "give a local checkout: `--source {name}=PATH` or `{}=PATH`",
            hive_plan::source_env_var(name)
        )),
    }
}

/// Add a tool to the machine's list: once per role and path when found, once per message
/// when missing, with every target and step that needs it.
fn add_tool(
    tools: &mut Vec<Item>,
    target: &str,
    role: String,
    steps: Vec<String>,
    outcome: &Result<hive_plan::FoundTool, ToolError>,
) {
    let item = match outcome {
        Ok(found) => Item::new(
            Status::Ok,
            "tool",
            role,
            format!(
                "{} ({})",
                found.path.display(),
                found.version.lines().next().unwrap_or_default()
            ),
        ),
        Err(error) => Item::missing_tool("tool", &role, error),
    };
    let existing = tools.iter_mut().find(|t| {
        t.status == item.status
            && if item.status == Status::Ok {
                t.name == item.name && t.detail == item.detail
            } else {
                t.detail == item.detail
            }
    });
    let entry = if let Some(entry) = existing {
        entry
    } else {
        tools.push(item);
        tools.last_mut().expect("just pushed")
    };
    if !entry.targets.iter().any(|t| t == target) {
        entry.targets.push(target.to_owned());
    }
    for step in steps {
        if !entry.steps.contains(&step) {
            entry.steps.push(step);
        }
    }
}

/// The target's QEMU, the files its arguments name, and KVM.
fn check_qemu(probe: &Probe, target: &hive_manifest::Target, report: &mut TargetReport) {
    let Some(qemu) = &target.qemu else {
        return;
    };
    let install = Install::for_program(&qemu.binary);
    report
        .items
        .push(match probe.require(&qemu.binary, &install) {
            Ok(path) => match probe.version(&path) {
                Ok(version) => Item::new(
                    Status::Ok,
                    "qemu",
                    &qemu.binary,
                    format!("{} ({version})", path.display()),
                ),
                Err(error) => Item::missing_tool("qemu", &qemu.binary, &error),
            },
            Err(error) => Item::missing_tool("qemu", &qemu.binary, &error),
        });
    for file in qemu.args.iter().filter(|arg| arg.starts_with('/')) {
        let item = if Path::new(file).is_file() {
            Item::new(Status::Ok, "file", file, "found".into())
        } else {
            Item {
                install: Some(Install::for_program(file)),
                ..Item::new(
                    Status::Missing,
                    "file",
                    file,
                    "named in the target's `[qemu] args`, not on this machine".into(),
                )
            }
        };
        report.items.push(item);
    }
    let kvm = match hive_qemu::kvm_precheck(target) {
        Err(choice) => format!(
            "{}: {}",
            format!("{:?}", choice.accel).to_uppercase(),
            choice.reason
        ),
        Ok(()) => "/dev/kvm opens: the first boot tries a guest under KVM and falls back to TCG if it does not come up".into(),
    };
    report
        .items
        .push(Item::new(Status::Note, "kvm", "accelerator", kvm));
}

fn render(tools: &[Item], targets: &[TargetReport], missing: usize) -> String {
    let mut out = String::from("tools (each once, with the targets and steps that run it)\n");
    let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for item in tools {
        let _ = writeln!(
            out,
            "  {:7}  {:width$}  {}\n  {:7}  {:width$}  for {}: {}",
            item.status.label(),
            item.name,
            item.detail,
            "",
            "",
            item.targets.join(", "),
            item.steps.join(", ")
        );
    }
    for report in targets {
        let missing_here = report
            .items
            .iter()
            .filter(|i| i.status == Status::Missing)
            .count();
        let _ = writeln!(
            out,
            "target `{}` of `{}`{}",
            report.target,
            report.manifest.display(),
            if missing_here == 0 {
                String::new()
            } else {
                format!(": {missing_here} missing")
            }
        );
        for item in &report.items {
            let name = if item.kind == "kvm" {
                "kvm".to_owned()
            } else {
                format!("{} `{}`", item.kind, item.name)
            };
            let _ = writeln!(out, "  {:7}  {name}: {}", item.status.label(), item.detail);
            if let (Status::Missing, Some(install)) = (item.status, &item.install) {
                let install = install.to_string();
                if !item.detail.contains(&install) {
                    let _ = writeln!(out, "           install: {install}");
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "doctor: {} target{}, {}",
        targets.len(),
        if targets.len() == 1 { "" } else { "s" },
        if missing == 0 {
            "nothing missing".to_owned()
        } else {
            format!("{missing} missing")
        }
    );
    out
}
