//! The plan of a `system = "microkit"` target: seL4 through Microkit.
//!
//! ```text
//! microkit-sdk        microkit-sdk  the SDK from [platform.microkit] sel4, microkit, rust-sel4
//! brain               cargo         the Brain's core, a static library
//! police              make police   on the PD base: the police's protection domain
//! pd-brain            make brain    the Brain's protection domain (BRAIN/pd + the library)
//! app-NAME            render        (templated skills)
//! skill-NAME          make skill    a skill's protection domain
//! system-description  write         the .system XML (hive-sel4) for the target's board
//! system              tool          the SDK's `microkit`: loader.img (+ report.txt)
//! ```
//!
//! The SDK step is keyed by every board and configuration the hive's Microkit targets use,
//! not by this target's alone: building the image of one target and then of another reuses
//! one SDK from the store.

use std::collections::{BTreeMap, BTreeSet};

use hive_manifest::SystemKind;
use hive_manifest::target::RustTarget;

use super::{Builder, Draft, path_input, police_skills, target_cc, with_rust};
use crate::PlanError;
use crate::lock::LockedSource;
use crate::role::{Artefact, Role};
use crate::step::{Arg, StepKind};
use crate::toolchain::Install;

/// Python modules the kernel build imports (`pip install sel4-deps` installs them).
const PYTHON_MODULES: [&str; 5] = ["jinja2", "ply", "pyfdt", "yaml", "lxml"];

/// What every protection domain's `make` step shares: the PD base, the SDK, the board and
/// configuration, and the C compiler.
struct PdBase {
    platform: hive_manifest::model::Microkit,
    board: hive_sel4::Board,
    config: String,
    cross_prefix: String,
    cc: String,
    cc_install: Install,
}

impl PdBase {
    /// A `make GOAL` step on the PD base, with the shared variables added to `vars`.
    fn draft(&self, role: Role, goal: &str, mut vars: BTreeMap<String, Arg>) -> Draft {
        vars.insert("MICROKIT_SDK".into(), output_dir(&Role::MicrokitSdk));
        vars.insert("BOARD".into(), Arg::text(&self.board.name));
        vars.insert("CONFIG".into(), Arg::text(&self.config));
        vars.insert("CROSS_COMPILE".into(), Arg::text(&self.cross_prefix));
        Draft::new(
            role,
            StepKind::Make {
                source: self.platform.pd_base.clone(),
                goal: Some(goal.into()),
                vars,
            },
        )
        .tool("make", "make")
        .tool_from("cc", self.cc.clone(), self.cc_install.clone())
    }
}

impl Builder<'_> {
    /// The seL4 graph, in the order the doc comment above draws it.
    pub(super) fn microkit_steps(&mut self) -> Result<(), PlanError> {
        let manifest = self.manifest;
        let target = self.options.target;
        let platform =
            manifest
                .platform
                .microkit
                .clone()
                .ok_or_else(|| PlanError::NoMicrokitPlatform {
                    target: target.name.clone(),
                })?;
        let board = hive_sel4::load_board(&hive_sel4::boards_file(&manifest.layers), &target.board)
            .map_err(|source| PlanError::Board {
                target: target.name.clone(),
                message: source.to_string(),
            })?;
        let (cc, cc_install) = target_cc(target);
        let base = PdBase {
            platform,
            board,
            config: manifest.kernel.config_for(&target.name).as_str().to_owned(),
            cross_prefix: target.c.cross_prefix.clone(),
            cc,
            cc_install,
        };

        self.microkit_sdk(&base.platform)?;
        self.brain()?;
        self.police_pd(&base)?;
        self.brain_pd(&base)?;
        let skills = self.skill_pds(&base)?;
        self.microkit_system(&base, skills);
        self.assets();
        Ok(())
    }

    /// The police: the PD base's `police` goal around the platform's police source.
    fn police_pd(&mut self, base: &PdBase) -> Result<(), PlanError> {
        let vars = BTreeMap::from([
            (
                "SKILLS".to_owned(),
                Arg::text(police_skills(self.manifest, true)),
            ),
            (
                "CONSOLE".to_owned(),
                Arg::text(base.board.console.uart.as_str()),
            ),
            (
                "APP".to_owned(),
                Arg::Source {
                    prefix: String::new(),
                    name: base.platform.police.clone(),
                },
            ),
        ]);
        let mut police = base.draft(Role::Police, "police", vars);
        self.add_source(&mut police, &base.platform.pd_base)?;
        self.add_source(&mut police, &base.platform.police)?;
        police.deps.push(Role::MicrokitSdk.name());
        self.finish(police);
        Ok(())
    }

    /// The Brain's protection domain: its `pd/` folder around the Brain's library.
    fn brain_pd(&mut self, base: &PdBase) -> Result<(), PlanError> {
        let manifest = self.manifest;
        let brain_pd = "brain-pd".to_owned();
        let vars = BTreeMap::from([
            (
                "APP".to_owned(),
                Arg::Source {
                    prefix: String::new(),
                    name: brain_pd.clone(),
                },
            ),
            ("BRAIN_LIB".to_owned(), self.brain_artefact()?.arg("")),
        ]);
        let mut brain = base.draft(Role::BrainPd, "brain", vars);
        self.add_source(&mut brain, &base.platform.pd_base)?;
        brain.sources.insert(
            brain_pd,
            path_input(&manifest.root().join(&manifest.brain.path).join("pd"))?,
        );
        brain.deps = vec![Role::MicrokitSdk.name(), Role::Brain.name()];
        self.finish(brain);
        Ok(())
    }

    /// One protection domain per skill; returns the system's search path arguments and its
    /// dependencies, these included.
    fn skill_pds(&mut self, base: &PdBase) -> Result<(Vec<Arg>, Vec<String>), PlanError> {
        let mut search = vec![
            Arg::text("--search-path"),
            output_dir(&Role::Police),
            output_dir(&Role::BrainPd),
        ];
        let mut system_deps: Vec<String> = [
            Role::SystemDescription,
            Role::MicrokitSdk,
            Role::Police,
            Role::BrainPd,
        ]
        .iter()
        .map(Role::name)
        .collect();
        for (name, skill) in &self.manifest.skills {
            let (app, step_sources, deps) = self.skill_app(name, skill)?;
            let vars = BTreeMap::from([
                ("NAME".to_owned(), Arg::text(name)),
                ("APP".to_owned(), app),
            ]);
            let step = Role::Skill(name.clone());
            let mut draft = base.draft(step.clone(), "skill", vars);
            self.add_source(&mut draft, &base.platform.pd_base)?;
            draft.sources.extend(step_sources);
            draft.deps = deps;
            draft.deps.push(Role::MicrokitSdk.name());
            self.finish(draft);
            search.push(output_dir(&step));
            system_deps.push(step.name());
        }

        Ok((search, system_deps))
    }

    /// The system description, then the Microkit tool over everything.
    fn microkit_system(&mut self, base: &PdBase, (search, deps): (Vec<Arg>, Vec<String>)) {
        let description = hive_sel4::system_xml(self.manifest, &base.board);
        self.finish(Draft::new(
            Role::SystemDescription,
            StepKind::Write {
                file: Artefact::system_description().file,
                contents: description,
            },
        ));
        let mut args = vec![
            Artefact::system_description().arg(""),
            Arg::text("--board"),
            Arg::text(&base.board.name),
            Arg::text("--config"),
            Arg::text(&base.config),
            Arg::text("-o"),
            Arg::Out {
                prefix: String::new(),
                path: Artefact::loader().file,
            },
            Arg::text("-r"),
            Arg::Out {
                prefix: String::new(),
                path: Artefact::loader_report().file,
            },
        ];
        args.extend(search);
        let mut system = Draft::new(
            Role::System,
            StepKind::Tool {
                program: Artefact::microkit_tool().arg(""),
                args,
            },
        );
        system.deps = deps;
        self.finish(system);
    }

    /// The SDK step, for every board and configuration of the hive's Microkit targets.
    fn microkit_sdk(&mut self, platform: &hive_manifest::model::Microkit) -> Result<(), PlanError> {
        let manifest = self.manifest;
        let mut boards = BTreeSet::new();
        let mut configs = BTreeSet::new();
        for name in &manifest.hive.targets {
            let other = if *name == self.options.target.name {
                self.options.target.clone()
            } else {
                match hive_manifest::load_target(manifest, name) {
                    Ok(target) => target,
                    // Another target's mistakes are reported when it is built.
                    Err(_) => continue,
                }
            };
            if other.system == SystemKind::Microkit {
                boards.insert(other.board.clone());
                configs.insert(manifest.kernel.config_for(name).as_str().to_owned());
            }
        }

        // Two Rust toolchains: the host's for the tool, one that builds the run-time parts
        // for aarch64-unknown-none (a prebuilt core, or build-std from rust-src).
        let host = RustTarget {
            triple: HOST_TRIPLE.into(),
            build_std: Vec::new(),
            crate_type: hive_manifest::target::CrateType::Bin,
            cpu: None,
        };
        let run_time = RustTarget {
            triple: "aarch64-unknown-none".into(),
            build_std: vec!["core".into(), "alloc".into(), "compiler_builtins".into()],
            crate_type: hive_manifest::target::CrateType::Staticlib,
            cpu: None,
        };
        let host_toolchain = self.rust_toolchain("microkit-sdk", &host);
        let run_time_toolchain = self.rust_toolchain("microkit-sdk", &run_time);

        let rust_sel4_commit = match (
            self.options.overrides.contains_key(&platform.rust_sel4),
            self.options.lock.sources.get(&platform.rust_sel4),
        ) {
            (false, Some(LockedSource::Git { commit, .. })) => Some(commit.clone()),
            _ => None,
        };
        let probe = self.options.probe;
        let python = crate::toolchain::find_python(
            probe,
            &PYTHON_MODULES,
            &Install::debian(
                &[],
                "`pip install sel4-deps` (PyPI; `ci/install-deps` does it)",
            ),
        );
        let libclang = crate::toolchain::find_libclang();
        let mut draft = Draft::new(
            Role::MicrokitSdk,
            StepKind::MicrokitSdk {
                microkit: platform.microkit.clone(),
                sel4: platform.sel4.clone(),
                rust_sel4: platform.rust_sel4.clone(),
                boards: boards.into_iter().collect(),
                configs: configs.into_iter().collect(),
                host_triple: HOST_TRIPLE.into(),
                build_std: run_time_toolchain
                    .as_ref()
                    .map(|t| t.build_std.clone())
                    .unwrap_or_default(),
                rust_sel4_commit,
            },
        );
        if let Some(toolchain) = &host_toolchain {
            draft = with_rust(draft, ["host-rustc", "host-cargo"], toolchain);
        }
        if let Some(toolchain) = &run_time_toolchain {
            draft = with_rust(draft, ["rustc", "cargo"], toolchain);
            // The capDL initialiser is an aarch64-unknown-none executable: rust-lld links it.
            self.with_rust_lld(&mut draft, toolchain, &run_time.triple);
        }
        draft = draft
            .tool("make", "make")
            .tool("cmake", "cmake")
            .tool("ninja", "ninja")
            .tool("dtc", "dtc")
            .tool("xmllint", "xmllint")
            .tool("strip", "aarch64-linux-gnu-strip")
            .tool("cc", "aarch64-linux-gnu-gcc");
        match python {
            Ok((path, version)) => draft.fixed_tools.push(("python3", path, version)),
            Err(error) => self.record("microkit-sdk", "python3", Err(error)),
        }
        match libclang {
            Ok((dir, version)) => draft.fixed_tools.push(("libclang", dir, version)),
            Err(error) => self.record("microkit-sdk", "libclang", Err(error)),
        }
        for source in [&platform.microkit, &platform.sel4, &platform.rust_sel4] {
            self.add_source(&mut draft, source)?;
        }
        self.finish(draft);
        Ok(())
    }
}

/// The triple the Microkit tool is built for: this machine's.
const HOST_TRIPLE: &str = if cfg!(target_arch = "aarch64") {
    "aarch64-unknown-linux-gnu"
} else {
    "x86_64-unknown-linux-gnu"
};

/// `--search-path` entry: a step's output folder.
fn output_dir(step: &Role) -> Arg {
    Arg::Output {
        prefix: String::new(),
        step: step.name(),
        path: String::new(),
    }
}
