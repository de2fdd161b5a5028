//! Manifest + target + lock → steps. This is where the hive's shape becomes a build graph:
//!
//! ```text
//! kernel        cmake  on [platform] kernel
//! brain         cargo  on [brain] path, for the target's triple
//! app-NAME      render unikraft-templates/TEMPLATE         (templated skills)
//! skill-NAME    make   skill base + the app
//! packer        make   host tool
//! system        tool   packer's hive-pack over kernel, brain and skills
//! fetch-SOURCE  fetch  for every git/archive source a step reads
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hive_manifest::model::SkillBuild;
use hive_manifest::target::CrateType;
use hive_manifest::{Manifest, Source, SystemKind, Target};
use serde_json::json;

use crate::hash::{Digest, hash_tree, store_name};
use crate::lock::{Lock, LockedSource};
use crate::role::{Artefact, Role};
use crate::step::{Arg, SourceInput, Step, StepKind};
use crate::toolchain::{FoundTool, Install, Probe, ToolCheck, ToolError};
use crate::{Plan, PlanError, Survey};

mod microkit;
mod unikraft;

/// Version of the key encoding; bump it when the meaning of a key changes.
pub const KEY_VERSION: u32 = 1;

/// What the plan is made for, besides the manifest.
#[derive(Debug)]
pub struct PlanOptions<'a> {
    pub target: &'a Target,
    pub lock: &'a Lock,
    /// `--source NAME=PATH`: use a local folder instead of the declared source.
    pub overrides: &'a BTreeMap<String, PathBuf>,
    pub probe: &'a Probe,
    /// Every step is built with this `SOURCE_DATE_EPOCH`; it is part of every key.
    pub source_date_epoch: u64,
    /// A rustc to prefer (the `HIVEBUILD_RUSTC` setting); cargo is taken from its folder.
    pub rustc: Option<PathBuf>,
}

/// The plan, failing when a tool a step runs is missing (each named once).
pub(crate) fn plan(manifest: &Manifest, options: &PlanOptions<'_>) -> Result<Plan, PlanError> {
    let survey = survey(manifest, options)?;
    let missing: Vec<ToolError> = survey
        .tools
        .into_iter()
        .filter_map(|check| check.outcome.err())
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::Tools(missing));
    }
    Ok(survey.plan)
}

/// The plan and every tool its steps run, found or missing.
pub(crate) fn survey(manifest: &Manifest, options: &PlanOptions<'_>) -> Result<Survey, PlanError> {
    for name in options.overrides.keys() {
        if !manifest.sources.contains_key(name) {
            return Err(PlanError::UnknownOverride {
                name: name.clone(),
                known: manifest.sources.keys().cloned().collect(),
            });
        }
    }
    let mut builder = Builder {
        manifest,
        options,
        steps: Vec::new(),
        tools: Vec::new(),
    };
    builder.build_steps()?;
    let plan = Plan::new(
        manifest.hive.name.clone(),
        manifest.hive.version.to_string(),
        options.target.name.clone(),
        options.target.system,
        builder.steps,
    )?;
    Ok(Survey {
        plan,
        tools: builder.tools,
    })
}

struct Builder<'a> {
    manifest: &'a Manifest,
    options: &'a PlanOptions<'a>,
    steps: Vec<Step>,
    /// Every tool a step runs, once, with the steps that run it.
    tools: Vec<ToolCheck>,
}

/// A skill's app for a make step: the `APP` variable, the sources and the steps it adds.
type SkillApp = (Arg, Vec<(String, SourceInput)>, Vec<String>);

/// What a step needs before it gets its key.
struct Draft {
    role: Role,
    name: String,
    kind: StepKind,
    sources: BTreeMap<String, SourceInput>,
    deps: Vec<String>,
    tools: Vec<(&'static str, String, Install)>,
    /// Tools found by a probe of their own: role, path, version.
    fixed_tools: Vec<(&'static str, PathBuf, String)>,
}

impl Draft {
    fn new(role: Role, kind: StepKind) -> Self {
        Self {
            name: role.name(),
            role,
            kind,
            sources: BTreeMap::new(),
            deps: Vec::new(),
            tools: Vec::new(),
            fixed_tools: Vec::new(),
        }
    }

    /// A program the step runs, part of its key; what provides it is looked up by name.
    fn tool(self, role: &'static str, program: impl Into<String>) -> Self {
        let program = program.into();
        let install = Install::for_program(&program);
        self.tool_from(role, program, install)
    }

    /// A program the step runs, provided by `install`.
    fn tool_from(
        mut self,
        role: &'static str,
        program: impl Into<String>,
        install: Install,
    ) -> Self {
        self.tools.push((role, program.into(), install));
        self
    }
}

/// The C compiler of a target, provided by the packages its target file names.
fn target_cc(target: &Target) -> (String, Install) {
    let cc = format!("{}gcc", target.c.cross_prefix);
    let mut install = Install::for_program(&cc);
    for package in &target.c.packages {
        if !install.debian.contains(package) {
            install.debian.push(package.clone());
        }
    }
    (cc, install)
}

impl Builder<'_> {
    fn build_steps(&mut self) -> Result<(), PlanError> {
        let manifest = self.manifest;
        let target = self.options.target;
        if target.system == SystemKind::Microkit {
            return self.microkit_steps();
        }
        let (cc, cc_install) = target_cc(target);

        // The kernel: a CMake project.
        let kernel_source = manifest.platform.kernel.clone();
        let mut kernel = Draft::new(
            Role::Kernel,
            StepKind::Cmake {
                source: kernel_source.clone(),
                defines: BTreeMap::from([
                    ("HIVE_ARCH".into(), target.arch.as_str().into()),
                    ("HIVE_BOARD".into(), target.board.clone()),
                    (
                        "HIVE_CONFIG".into(),
                        manifest.kernel.config_for(&target.name).as_str().into(),
                    ),
                    ("HIVE_SKILLS".into(), police_skills(manifest, false)),
                ]),
                c_compiler: cc.clone(),
            },
        )
        .tool("cmake", "cmake")
        .tool("ninja", "ninja")
        .tool_from("cc", cc.clone(), cc_install.clone());
        self.add_source(&mut kernel, &kernel_source)?;
        self.finish(kernel);

        // The Brain: a cargo package for the target's triple.
        self.brain()?;

        // Skills: templated ones are rendered into an app first; all link into the skill base.
        let base = manifest.platform.skill_base.clone();
        let mut system_args = vec![
            Arg::text("-o"),
            Arg::Out {
                prefix: String::new(),
                path: Artefact::packed_system().file,
            },
            Artefact::kernel().arg("kernel="),
            self.brain_artefact()?.arg("brain="),
        ];
        for (name, skill) in &manifest.skills {
            match &manifest.platform.unikraft {
                Some(unikraft) => self.unikraft_skill(unikraft, name, skill)?,
                None => self.standin_skill(name, skill, &base, (&cc, &cc_install))?,
            }
            let role = Role::Skill(name.clone());
            system_args.push(Artefact::skill(SystemKind::Standins, name).arg(format!("{role}=")));
        }

        // The packer, a host tool, and the system image it makes.
        let packer_source = manifest.platform.packer.clone();
        let mut packer = Draft::new(
            Role::Packer,
            StepKind::Make {
                source: packer_source.clone(),
                goal: Some("pack".into()),
                vars: BTreeMap::new(),
            },
        )
        .tool("make", "make")
        .tool("hostcc", "cc");
        self.add_source(&mut packer, &packer_source)?;
        self.finish(packer);

        let mut system = Draft::new(
            Role::System,
            StepKind::Tool {
                program: Artefact::packer().arg(""),
                args: system_args,
            },
        );
        self.assets();
        system.deps = self
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.role,
                    Role::Kernel | Role::Brain | Role::Packer | Role::Skill(_)
                )
            })
            .map(|s| s.name.clone())
            .collect();
        self.finish(system);
        Ok(())
    }

    /// A stand-in skill: its app (rendered or a folder of the project) linked into the skill
    /// base.
    fn standin_skill(
        &mut self,
        name: &str,
        skill: &hive_manifest::Skill,
        base: &str,
        (cc, cc_install): (&str, &Install),
    ) -> Result<(), PlanError> {
        let target = self.options.target;
        let mut vars = BTreeMap::from([
            ("SKILL_NAME".to_owned(), Arg::text(name)),
            ("ARCH".to_owned(), Arg::text(target.arch.as_str())),
            ("BOARD".to_owned(), Arg::text(&target.board)),
            (
                "CROSS_COMPILE".to_owned(),
                Arg::text(&target.c.cross_prefix),
            ),
        ]);
        let (app, step_sources, deps) = self.skill_app(name, skill)?;
        vars.insert("APP".into(), app);
        // The Brain's channel, for a skill that holds one, where the Brain is a process of
        // the hosted lane (elsewhere a stand-in skill ends after `ready`).
        let runtime = self
            .manifest
            .platform
            .skill_runtime
            .clone()
            .filter(|_| hive_manifest::caps::has_channel(&skill.caps, "brain"))
            .filter(|_| target.rust.crate_type == hive_manifest::target::CrateType::Bin);
        if let Some(runtime) = &runtime {
            vars.insert(
                "RUNTIME".into(),
                Arg::Source {
                    prefix: String::new(),
                    name: runtime.clone(),
                },
            );
        }
        let mut draft = Draft::new(
            Role::Skill(name.to_owned()),
            StepKind::Make {
                source: base.to_owned(),
                goal: Some("skill".into()),
                vars,
            },
        )
        .tool("make", "make")
        .tool_from("cc", cc, cc_install.clone());
        self.add_source(&mut draft, base)?;
        if let Some(runtime) = &runtime {
            self.add_source(&mut draft, runtime)?;
        }
        draft.sources.extend(step_sources);
        draft.deps = deps;
        self.finish(draft);
        Ok(())
    }

    /// One step per boot asset the target's image takes files from, keeping just those files.
    fn assets(&mut self) {
        let target = self.options.target;
        let Some(layout) = &target.image else { return };
        let mut wanted: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
        for partition in &layout.partitions {
            let sources = partition
                .files
                .iter()
                .map(|f| &f.source)
                .chain(partition.content.as_ref());
            for source in sources {
                if let hive_manifest::image::FileSource::Asset { asset, file } = source {
                    wanted
                        .entry(asset.as_str())
                        .or_default()
                        .insert(file.as_str());
                }
            }
        }
        for (name, files) in wanted {
            let asset = &target.assets[name];
            let step = Draft::new(
                Role::Asset(name.to_owned()),
                StepKind::Asset {
                    package: asset.package.clone(),
                    version: asset.version.clone(),
                    arch: asset.arch.clone(),
                    sha256: asset.sha256.clone(),
                    files: files.into_iter().map(str::to_owned).collect(),
                },
            );
            // Fixed-output, like a fetch: the pinned sha256 decides the content, so the
            // versions of apt and dpkg are not part of the key.
            self.finish(step);
        }
    }

    fn brain(&mut self) -> Result<(), PlanError> {
        let target = self.options.target;
        let toolchain = self.rust_toolchain("brain", &target.rust);
        let package_dir = self.manifest.root().join(&self.manifest.brain.path);
        let mut draft = Draft::new(
            Role::Brain,
            StepKind::Cargo {
                package: "brain".into(),
                package_name: package_name(&package_dir)?,
                triple: target.rust.triple.clone(),
                crate_type: match target.rust.crate_type {
                    CrateType::Bin => "bin".into(),
                    CrateType::Staticlib => "staticlib".into(),
                },
                build_std: toolchain
                    .as_ref()
                    .map(|t| t.build_std.clone())
                    .unwrap_or_default(),
                features: self.manifest.brain.features.clone(),
                cpu: target.rust.cpu.clone(),
            },
        );
        if let Some(toolchain) = &toolchain {
            draft = with_rust(draft, ["rustc", "cargo"], toolchain);
            // A bare-metal executable is linked by rust-lld; a static library is not linked.
            if target.rust.crate_type == CrateType::Bin && is_bare_metal(&target.rust.triple) {
                self.with_rust_lld(&mut draft, toolchain, &target.rust.triple);
            }
        }
        draft
            .sources
            .insert("brain".into(), path_input(&package_dir)?);
        self.finish(draft);
        Ok(())
    }

    /// The Rust toolchain a step builds `rust` with, or `None` (recorded as missing).
    fn rust_toolchain(
        &mut self,
        step: &str,
        rust: &hive_manifest::target::RustTarget,
    ) -> Option<crate::toolchain::RustToolchain> {
        let found =
            crate::toolchain::find_rust(self.options.probe, rust, self.options.rustc.as_deref());
        match found {
            Ok(toolchain) => Some(toolchain),
            Err(error) => {
                self.record(step, &format!("rust-{}", rust.triple), Err(error));
                None
            }
        }
    }

    /// The rust-lld that `toolchain` links `triple` with, as a tool of the draft.
    fn with_rust_lld(
        &mut self,
        draft: &mut Draft,
        toolchain: &crate::toolchain::RustToolchain,
        triple: &str,
    ) {
        match crate::toolchain::find_rust_lld(self.options.probe, toolchain, triple) {
            Ok((path, version)) => draft.fixed_tools.push(("rust-lld", path, version)),
            Err(error) => self.record(&draft.name, "rust-lld", Err(error)),
        }
    }

    /// Where the Brain's artefact lands in its output folder.
    fn brain_artefact(&self) -> Result<Artefact, PlanError> {
        let name = package_name(&self.manifest.root().join(&self.manifest.brain.path))?;
        Ok(Artefact::brain(&name, self.options.target.rust.crate_type))
    }

    /// A skill's app folder as a make variable: a rendered template (a step of its own) or
    /// the skill's folder (a source). Returns the variable, the sources and the deps it adds.
    fn skill_app(
        &mut self,
        name: &str,
        skill: &hive_manifest::Skill,
    ) -> Result<SkillApp, PlanError> {
        let manifest = self.manifest;
        let app_role = Role::App(name.to_owned());
        let app = app_role.name();
        match &skill.build {
            SkillBuild::Template(template) => {
                let app = self.render_app(name, skill, template)?;
                let arg = Arg::Output {
                    prefix: String::new(),
                    step: app.clone(),
                    path: String::new(),
                };
                Ok((arg, Vec::new(), vec![app]))
            }
            SkillBuild::Path(path) => {
                let arg = Arg::Source {
                    prefix: String::new(),
                    name: app.clone(),
                };
                Ok((
                    arg,
                    vec![(app, path_input(&manifest.root().join(path))?)],
                    Vec::new(),
                ))
            }
        }
    }

    /// The step that renders a skill's app from `template`; returns its name.
    fn render_app(
        &mut self,
        name: &str,
        skill: &hive_manifest::Skill,
        template: &str,
    ) -> Result<String, PlanError> {
        let manifest = self.manifest;
        let app_role = Role::App(name.to_owned());
        let app = app_role.name();
        let template_source = format!("template-{template}");
        let mut render = Draft::new(
            app_role,
            StepKind::Render {
                template: template_source.clone(),
                context: render_context(manifest, self.options.target, skill),
            },
        );
        let dir = manifest
            .template_dir(template)
            .ok_or_else(|| PlanError::SourceMissing {
                path: Path::new("unikraft-templates").join(template),
            })?;
        render.sources.insert(template_source, path_input(&dir)?);
        self.finish(render);
        Ok(app)
    }

    /// Make `name` an input of the draft: a path is hashed now; git and archive sources get
    /// a fetch step (once) whose output the draft reads.
    fn add_source(&mut self, draft: &mut Draft, name: &str) -> Result<(), PlanError> {
        let input = if let Some(path) = self.options.overrides.get(name) {
            path_input(path)?
        } else {
            match &self.manifest.sources[name] {
                Source::Path { path } => path_input(&self.manifest.root().join(path))?,
                Source::Stock { path } => path_input(path)?,
                declared => {
                    let locked = self.locked(name, declared)?;
                    let fetch_role = Role::Fetch(name.to_owned());
                    let fetch = fetch_role.name();
                    if !self.steps.iter().any(|s| s.role == fetch_role) {
                        self.finish(Draft::new(
                            fetch_role,
                            StepKind::Fetch {
                                source: name.into(),
                                locked,
                            },
                        ));
                    }
                    draft.deps.push(fetch.clone());
                    SourceInput::Fetched { step: fetch }
                }
            }
        };
        draft.sources.insert(name.to_owned(), input);
        Ok(())
    }

    fn locked(&self, name: &str, declared: &Source) -> Result<LockedSource, PlanError> {
        let locked = self
            .options
            .lock
            .sources
            .get(name)
            .ok_or_else(|| PlanError::NotLocked { name: name.into() })?;
        let current = match (declared, locked) {
            (Source::Git { url, rev }, LockedSource::Git { url: u, rev: r, .. }) => {
                url == u && rev == r
            }
            (
                Source::Tarball { url, sha256 },
                LockedSource::Tarball {
                    url: u, sha256: s, ..
                },
            ) => url == u && sha256 == s,
            _ => false,
        };
        if current {
            Ok(locked.clone())
        } else {
            Err(PlanError::StaleLock { name: name.into() })
        }
    }

    /// Give the draft its toolchain identity and key, and add it to the plan.
    fn finish(&mut self, draft: Draft) {
        let mut toolchain = BTreeMap::new();
        let mut programs = BTreeMap::new();
        for (role, program, install) in draft.tools {
            let identity = self
                .options
                .probe
                .require(&program, &install)
                .and_then(|path| {
                    let version = if role.ends_with("rustc") {
                        self.options.probe.ask(
                            &path,
                            &["-vV"],
                            &crate::toolchain::rustup_stamp(),
                        )?
                    } else {
                        self.options.probe.version(&path)?
                    };
                    Ok(FoundTool { path, version })
                });
            if let Ok(found) = &identity {
                toolchain.insert(role.to_owned(), found.version.clone());
                programs.insert(role.to_owned(), found.path.clone());
            }
            self.record(&draft.name, role, identity);
        }
        for (role, path, version) in draft.fixed_tools {
            toolchain.insert(role.to_owned(), version.clone());
            programs.insert(role.to_owned(), path.clone());
            self.record(&draft.name, role, Ok(FoundTool { path, version }));
        }
        if let StepKind::Render { .. } = draft.kind {
            toolchain.insert("minijinja".into(), "minijinja 2".into());
        }
        let sources: BTreeMap<&str, String> = draft
            .sources
            .iter()
            .map(|(name, input)| {
                let identity = match input {
                    SourceInput::Path { hash, .. } => hash.hex(),
                    SourceInput::Fetched { step } => {
                        self.key_of(step).map(|k| k.hex()).unwrap_or_default()
                    }
                };
                (name.as_str(), identity)
            })
            .collect();
        let deps: BTreeMap<&str, String> = draft
            .deps
            .iter()
            .map(|dep| {
                (
                    dep.as_str(),
                    self.key_of(dep).map(|k| k.hex()).unwrap_or_default(),
                )
            })
            .collect();
        let material = json!({
            "hivebuild-step": KEY_VERSION,
            "name": draft.name,
            "kind": draft.kind,
            "sources": sources,
            "deps": deps,
            "toolchain": toolchain,
            "source-date-epoch": self.options.source_date_epoch,
        });
        let key = Digest::of_canonical(&material);
        self.steps.push(Step {
            store_name: store_name(&key, &draft.name),
            role: draft.role,
            name: draft.name,
            key,
            kind: draft.kind,
            sources: draft.sources,
            deps: draft.deps,
            toolchain,
            programs,
        });
    }

    /// Note that `step` runs a tool: found (once per role and path) or missing (once per
    /// message, however many steps need it).
    fn record(&mut self, step: &str, role: &str, outcome: Result<FoundTool, ToolError>) {
        let same = |check: &ToolCheck| match (&check.outcome, &outcome) {
            (Ok(a), Ok(b)) => check.role == role && a.path == b.path,
            (
                Err(ToolError::NotFound { program: a, .. }),
                Err(ToolError::NotFound { program: b, .. }),
            ) => a == b,
            (Err(a), Err(b)) => a.to_string() == b.to_string(),
            _ => false,
        };
        if let Some(check) = self.tools.iter_mut().find(|check| same(check)) {
            if !check.steps.iter().any(|s| s == step) {
                check.steps.push(step.to_owned());
            }
            return;
        }
        self.tools.push(ToolCheck {
            role: role.to_owned(),
            steps: vec![step.to_owned()],
            outcome,
        });
    }

    fn key_of(&self, step: &str) -> Option<Digest> {
        self.steps.iter().find(|s| s.name == step).map(|s| s.key)
    }
}

/// The draft with a toolchain's rustc and cargo under the roles given.
fn with_rust(
    draft: Draft,
    [rustc, cargo]: [&'static str; 2],
    toolchain: &crate::toolchain::RustToolchain,
) -> Draft {
    draft
        .tool(rustc, toolchain.rustc.display().to_string())
        .tool(cargo, toolchain.cargo.display().to_string())
}

/// A triple without an operating system (`aarch64-unknown-none`, `x86_64-unknown-none-elf`).
fn is_bare_metal(triple: &str) -> bool {
    triple.ends_with("-none") || triple.contains("-none-")
}

/// The skills the police keeps and how often it restarts each, in child-id order:
/// `net:3,pdf:0`; with `flags` (the seL4 police), then `:` and `l` for a lazy skill, `b` for
/// one the Brain holds a channel to: `net:3:b,pdf:0:lb`.
fn police_skills(manifest: &Manifest, flags: bool) -> String {
    manifest
        .skills
        .values()
        .map(|skill| {
            let limit = skill.restarts_allowed();
            let mut spec = format!("{}:{limit}", skill.name);
            if flags {
                spec.push(':');
                if skill.lazy {
                    spec.push('l');
                }
                if hive_manifest::caps::has_channel(&manifest.brain.caps, &skill.name) {
                    spec.push('b');
                }
            }
            spec
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn path_input(path: &Path) -> Result<SourceInput, PlanError> {
    if !path.is_dir() {
        return Err(PlanError::SourceMissing {
            path: path.to_owned(),
        });
    }
    let hash = hash_tree(path).map_err(|source| PlanError::Hash {
        path: path.to_owned(),
        source,
    })?;
    Ok(SourceInput::Path {
        path: path.to_owned(),
        hash,
    })
}

/// `[package] name` of a Cargo.toml, read without running cargo.
fn package_name(dir: &Path) -> Result<String, PlanError> {
    let path = dir.join("Cargo.toml");
    let bad = |message: String| PlanError::CargoToml {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| bad(e.message().to_owned()))?;
    document
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml_edit::Item::as_str)
        .map(str::to_owned)
        .ok_or_else(|| bad("no `[package] name`".into()))
}

fn render_context(
    manifest: &Manifest,
    target: &Target,
    skill: &hive_manifest::Skill,
) -> serde_json::Value {
    let runtime = match (target.system, &manifest.platform.unikraft) {
        (SystemKind::Microkit, _) => "microkit",
        (SystemKind::Standins, Some(_)) => "unikraft",
        (SystemKind::Standins, None) => "standins",
    };
    let ports: Vec<serde_json::Value> = hive_manifest::caps::net_ports(&skill.caps)
        .map(|(protocol, port)| {
            json!({
                "protocol": match protocol {
                    hive_manifest::caps::Protocol::Udp => "udp",
                    hive_manifest::caps::Protocol::Tcp => "tcp",
                },
                "port": port,
            })
        })
        .collect();
    // Built into a skill that is a virtual machine of its own (`hive_manifest::guest`), so
    // that it does not parse them from a command line at boot.
    let vm = runtime == "unikraft";
    let ipv4 = (vm && !ports.is_empty()).then(|| {
        let network = hive_manifest::guest::USER_NETWORK;
        json!({
            "address": network.address.octets(),
            "netmask": network.netmask().octets(),
            "gateway": network.gateway.octets(),
        })
    });
    let virtio_mmio = hive_manifest::guest::undiscoverable_virtio(&target.board)
        .filter(|_| vm)
        .map(|transport| {
            json!({
                "base": format!("{:#x}", transport.base),
                "size": transport.size,
                "irq": transport.irq,
            })
        });
    json!({
        "runtime": runtime,
        "skill": {
            "name": skill.name,
            "memory": skill.memory.to_string(),
            "memory_mib": skill.memory.0.div_ceil(1 << 20),
            "net": !ports.is_empty(),
            "udp": ports.iter().any(|p| p["protocol"] == "udp"),
            "tcp": ports.iter().any(|p| p["protocol"] == "tcp"),
            "ports": ports,
            "caps": skill.caps.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "restart": skill.restart.as_str(),
            "restart_limit": skill.restart_limit,
            "lazy": skill.lazy,
            "boot_budget_us": skill.boot_budget.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            // Each key as its 32 bytes, for a C array.
            "peers": skill.peers.iter().map(|key| key.to_vec()).collect::<Vec<_>>(),
            "ipv4": ipv4,
        },
        "hive": { "name": manifest.hive.name, "version": manifest.hive.version.to_string() },
        "target": {
            "name": target.name,
            "arch": target.arch.as_str(),
            "board": target.board,
            "triple": target.rust.triple,
            "virtio_mmio": virtio_mmio,
        },
    })
}
