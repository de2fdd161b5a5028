//! The plan: a hive manifest, a target and the lock become a DAG of [`Step`]s, each keyed by
//! the sha256 of a canonical encoding of everything it reads (source content hashes, its
//! parameters, its dependencies' keys, the versions of the tools it runs and
//! `SOURCE_DATE_EPOCH`). Keys are input-addressed, as Nix derivations are: a plan can be
//! printed, and a no-op build decided, before anything runs.

pub mod hash;
pub mod lock;
mod resolve;
pub mod role;
pub mod step;
pub mod toolchain;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

pub use hash::Digest;
pub use lock::{Lock, LockedSource};
pub use resolve::{KEY_VERSION, PlanOptions};
pub use role::{Artefact, Role};
pub use step::{Arg, SourceInput, Step, StepKind, UnikraftLibrary, UnikraftOrigin};
pub use toolchain::{FoundTool, Install, Probe, ToolCheck, ToolError};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("failed to plan: {}", missing_tools(.0))]
    Tools(Vec<ToolError>),
    #[error("`--source {name}=...` names no source of this hive (it has `{}`)", known.join("`, `"))]
    UnknownOverride { name: String, known: Vec<String> },
    #[error(
        "target `{target}` builds its system with Microkit, but the manifest has no `[platform.microkit]`"
    )]
    NoMicrokitPlatform { target: String },
    #[error("target `{target}`: {message}")]
    Board { target: String, message: String },
    #[error(
        "skill `{skill}` needs the Unikraft library `{library}` ({why}), which `[platform.unikraft.libraries]` does not declare"
    )]
    MissingLibrary {
        skill: String,
        library: String,
        why: String,
    },
    #[error("source `{name}` is not in `hive.lock`")]
    NotLocked { name: String },
    #[error("source `{name}` changed in the manifest since `hive.lock` was written")]
    StaleLock { name: String },
    #[error("source folder `{}` does not exist", path.display())]
    SourceMissing { path: PathBuf },
    #[error("failed to hash `{}`", path.display())]
    Hash {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read the package name from `{}`: {message}", path.display())]
    CargoToml { path: PathBuf, message: String },
    #[error("step `{step}` is defined twice")]
    DuplicateStep { step: String },
    #[error("step `{step}` needs `{input}`, which no step produces")]
    MissingInput { step: String, input: String },
    #[error("the steps form a cycle: {}", steps.join(" -> "))]
    Cycle { steps: Vec<String> },
}

/// "a tool is missing:" and one line per missing tool.
fn missing_tools(errors: &[ToolError]) -> String {
    let mut text = if errors.len() == 1 {
        "a tool is missing:".to_owned()
    } else {
        format!("{} tools are missing:", errors.len())
    };
    for error in errors {
        let _ = write!(text, "\n  - {error}");
    }
    text
}

impl PlanError {
    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotLocked { .. } | Self::StaleLock { .. } => {
                Some("run `hivebuild lock` to pin it".into())
            }
            Self::UnknownOverride { .. } => {
                Some("write `--source NAME=PATH` with a name from `[sources]`".into())
            }
            Self::Tools(_) => {
                Some("install the missing tools; docs/toolchains.md lists them per target".into())
            }
            _ => None,
        }
    }
}

/// The build graph for one hive and one target, in an order where every step comes after
/// the steps it depends on.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub hive: String,
    pub version: String,
    pub target: String,
    /// How the target's system is built, which decides where its artefacts are.
    #[serde(skip)]
    pub system: hive_manifest::SystemKind,
    pub steps: Vec<Step>,
}

/// Make the plan for one target of a manifest; fails when a tool a step runs is missing.
pub fn plan(
    manifest: &hive_manifest::Manifest,
    options: &PlanOptions<'_>,
) -> Result<Plan, PlanError> {
    resolve::plan(manifest, options)
}

/// A plan, and every tool its steps run, found or missing (a plan with missing tools has
/// steps that cannot run: `survey` is for reporting, `plan` for building).
#[derive(Debug)]
pub struct Survey {
    pub plan: Plan,
    pub tools: Vec<ToolCheck>,
}

/// The plan for one target of a manifest and what each of its tools is, found or not.
pub fn survey(
    manifest: &hive_manifest::Manifest,
    options: &PlanOptions<'_>,
) -> Result<Survey, PlanError> {
    resolve::survey(manifest, options)
}

impl Plan {
    /// Whether skill `name` serves the Brain over a channel of its own when it boots as a
    /// virtual machine: a Unikraft unikernel, or a stand-in built with the skill runtime
    /// (`[platform] skill-runtime`, on a target whose Brain is a process).
    pub fn serves_brain(&self, name: &str) -> bool {
        let role = Role::Skill(name.to_owned());
        self.is_unikraft_skill(name) || self.steps.iter().any(|s| {
            s.role == role
                && matches!(&s.kind, StepKind::Make { vars, .. } if vars.contains_key("RUNTIME"))
        })
    }

    /// Whether skill `name` is built as a Unikraft unikernel.
    pub fn is_unikraft_skill(&self, name: &str) -> bool {
        let role = Role::Skill(name.to_owned());
        self.steps
            .iter()
            .any(|s| s.role == role && matches!(s.kind, StepKind::Unikraft { .. }))
    }

    /// Check that every input is produced by some step and that there is no cycle, and put
    /// the steps in dependency order (stable: among ready steps, the original order).
    pub fn new(
        hive: String,
        version: String,
        target: String,
        system: hive_manifest::SystemKind,
        steps: Vec<Step>,
    ) -> Result<Self, PlanError> {
        let mut names = BTreeSet::new();
        for step in &steps {
            if !names.insert(step.name.as_str()) {
                return Err(PlanError::DuplicateStep {
                    step: step.name.clone(),
                });
            }
        }
        for step in &steps {
            let fetched = step.sources.values().filter_map(|s| match s {
                SourceInput::Fetched { step } => Some(step),
                SourceInput::Path { .. } => None,
            });
            for input in step.deps.iter().chain(fetched) {
                if !names.contains(input.as_str()) {
                    return Err(PlanError::MissingInput {
                        step: step.name.clone(),
                        input: input.clone(),
                    });
                }
            }
        }
        let mut placed: BTreeSet<String> = BTreeSet::new();
        let mut ordered = Vec::with_capacity(steps.len());
        let mut pending = steps;
        while !pending.is_empty() {
            let before = pending.len();
            let mut index = 0;
            while index < pending.len() {
                if pending[index].deps.iter().all(|d| placed.contains(d)) {
                    let step = pending.remove(index);
                    placed.insert(step.name.clone());
                    ordered.push(step);
                } else {
                    index += 1;
                }
            }
            if pending.len() == before {
                return Err(PlanError::Cycle {
                    steps: find_cycle(&pending),
                });
            }
        }
        Ok(Self {
            hive,
            version,
            target,
            system,
            steps: ordered,
        })
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The step playing `role`, if the plan has one.
    pub fn step_of(&self, role: &Role) -> Option<&Step> {
        self.steps.iter().find(|s| s.role == *role)
    }

    /// The file that boots this plan's system.
    pub fn boot_image(&self) -> Artefact {
        Artefact::boot(self.system)
    }

    /// The skill's own image.
    pub fn skill_image(&self, skill: &str) -> Artefact {
        Artefact::skill(self.system, skill)
    }

    /// A table for people.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "plan for hive `{}` {} on target `{}`: {} steps\n",
            self.hive,
            self.version,
            self.target,
            self.steps.len()
        );
        let width = self.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for step in &self.steps {
            let _ = writeln!(
                out,
                "  {:width$}  {:6}  {}",
                step.name,
                step.kind.label(),
                step.store_name
            );
            if !step.deps.is_empty() {
                let _ = writeln!(out, "  {:width$}  after   {}", "", step.deps.join(", "));
            }
            for (name, input) in &step.sources {
                let from = match input {
                    SourceInput::Path { hash, .. } => format!("path, {}", &hash.hex()[..16]),
                    SourceInput::Fetched { step } => format!("from `{step}`"),
                };
                let _ = writeln!(out, "  {:width$}  source  {name} ({from})", "");
            }
        }
        out
    }

    /// Graphviz DOT: steps as boxes, sources as notes, edges in the direction data flows.
    pub fn to_dot(&self) -> String {
        let mut out = format!(
            "digraph \"{}-{}\" {{\n  rankdir=LR;\n  node [shape=box];\n",
            self.hive, self.target
        );
        let mut sources = BTreeSet::new();
        for step in &self.steps {
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\\n{}\"];",
                step.name,
                step.name,
                step.kind.label()
            );
            for dep in &step.deps {
                let _ = writeln!(out, "  \"{dep}\" -> \"{}\";", step.name);
            }
            for (name, input) in &step.sources {
                if let SourceInput::Path { .. } = input {
                    sources.insert(name.clone());
                    let _ = writeln!(out, "  \"source:{name}\" -> \"{}\";", step.name);
                }
            }
        }
        for name in &sources {
            let _ = writeln!(out, "  \"source:{name}\" [shape=note, label=\"{name}\"];");
        }
        out.push_str("}\n");
        out
    }
}

/// A cycle among steps none of which could be placed: follow dependencies until a step
/// repeats.
fn find_cycle(pending: &[Step]) -> Vec<String> {
    let by_name: BTreeMap<&str, &Step> = pending.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut path: Vec<String> = Vec::new();
    let mut current = pending[0].name.as_str();
    loop {
        if let Some(start) = path.iter().position(|n| n == current) {
            let mut cycle = path[start..].to_vec();
            cycle.push(current.to_owned());
            return cycle;
        }
        path.push(current.to_owned());
        let Some(next) = by_name[current]
            .deps
            .iter()
            .find(|d| by_name.contains_key(d.as_str()))
        else {
            return path;
        };
        current = next;
    }
}

/// The environment variable that gives a local folder for source `name`, as
/// `--source NAME=PATH` does: `rust-sel4` → `HIVEBUILD_RUST_SEL4_SRC`.
pub fn source_env_var(name: &str) -> String {
    format!(
        "HIVEBUILD_{}_SRC",
        name.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, deps: &[&str]) -> Step {
        let key = Digest::of(name.as_bytes());
        Step {
            name: name.into(),
            role: Role::Fetch(name.into()),
            key,
            store_name: hash::store_name(&key, name),
            kind: StepKind::Tool {
                program: Arg::text("true"),
                args: vec![],
            },
            sources: BTreeMap::new(),
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            toolchain: BTreeMap::new(),
            programs: BTreeMap::new(),
        }
    }

    fn plan_of(steps: Vec<Step>) -> Result<Plan, PlanError> {
        Plan::new(
            "h".into(),
            "1.0.0".into(),
            "t".into(),
            hive_manifest::SystemKind::Standins,
            steps,
        )
    }

    #[test]
    fn orders_by_dependency() {
        let plan = plan_of(vec![step("c", &["b"]), step("a", &[]), step("b", &["a"])]).unwrap();
        let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn cycle_is_named() {
        let error = plan_of(vec![
            step("a", &["c"]),
            step("b", &["a"]),
            step("c", &["b"]),
            step("d", &[]),
        ])
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the steps form a cycle: a -> c -> b -> a"
        );
    }

    #[test]
    fn missing_input_is_named() {
        let error = plan_of(vec![step("a", &["ghost"])]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step `a` needs `ghost`, which no step produces"
        );
        let error = plan_of(vec![step("a", &[]), step("a", &[])]).unwrap_err();
        assert!(matches!(error, PlanError::DuplicateStep { .. }));
    }

    #[test]
    fn dot_and_text_name_every_step() {
        let plan = plan_of(vec![step("a", &[]), step("b", &["a"])]).unwrap();
        let dot = plan.to_dot();
        assert!(dot.starts_with("digraph \"h-t\" {"));
        assert!(dot.contains("\"a\" -> \"b\";"));
        let text = plan.to_text();
        assert!(text.contains("2 steps"));
        assert!(text.contains("after   a"));
    }
}
