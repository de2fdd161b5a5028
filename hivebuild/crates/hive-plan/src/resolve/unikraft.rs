//! Skills as Unikraft unikernels, for targets whose skills boot as virtual machines of their
//! own (`[target] system = "standins"`) when the manifest has `[platform.unikraft]`:
//!
//! ```text
//! app-NAME      render   unikraft-templates/TEMPLATE (a `path` skill: `c-app`, its folder
//!                        given to the build as HIVE_SKILL_SRC)
//! skill-NAME    unikraft core + runtime + the libraries its capabilities need + the app
//! fetch-SOURCE  fetch    for every git/archive source a step reads
//! ```

use hive_manifest::caps;
use hive_manifest::model::{SkillBuild, Unikraft};
use hive_manifest::target::Arch;
use hive_manifest::{Skill, Target};

use super::{Builder, Draft, target_cc};
use crate::step::{Arg, StepKind, UnikraftLibrary, UnikraftOrigin};
use crate::{PlanError, Role};

/// The template a `path` skill is built with: its own C sources linked with the runtime.
const C_APP_TEMPLATE: &str = "c-app";

/// The name a `path` skill's own folder has among the step's sources.
const SKILL_SOURCE: &str = "skill-src";

/// The library a skill with a `net:` capability links: the network stack.
const NET_LIBRARY: &str = "lwip";

/// The library a skill with `peers` links: ed25519, to check their messages' signatures.
const PEER_LIBRARY: &str = "monocypher";

/// How Unikraft names a target's architecture and platform: the configuration lines that
/// choose them and the suffix of the image's name (`N_qemu-x86_64`).
struct UnikraftPlatform {
    arch: &'static str,
    fragment: &'static str,
}

/// The Unikraft platform of a target, or why it has none.
fn unikraft_platform(target: &Target) -> Result<UnikraftPlatform, PlanError> {
    let unsupported = || PlanError::Board {
        target: target.name.clone(),
        message: format!(
            "Unikraft skills boot on QEMU `microvm` (x86_64) and `virt` (aarch64), not on `{}`",
            target.board
        ),
    };
    match (target.arch, target.board.as_str()) {
        (Arch::X86_64, "microvm") => Ok(UnikraftPlatform {
            arch: "x86_64",
            // `-Os` on x86_64 only: there most of a boot under TCG is translating code that
            // runs once, and smaller code boots faster (net's warm p50 21.7 -> 19.6 ms); on
            // arm64 it made boots twice as slow (pdf 28 -> 52 ms). docs/unikraft.md.
            fragment: "CONFIG_PLAT_KVM=y\nCONFIG_KVM_VMM_QEMU=y\nCONFIG_ARCH_X86_64=y\n\
                       CONFIG_OPTIMIZE_SIZE=y\n# CONFIG_OPTIMIZE_PERF is not set\n",
        }),
        (Arch::Aarch64, "virt" | "qemu_virt_aarch64") => Ok(UnikraftPlatform {
            arch: "arm64",
            fragment: "CONFIG_PLAT_KVM=y\nCONFIG_KVM_VMM_QEMU=y\nCONFIG_ARCH_ARM_64=y\n",
        }),
        _ => Err(unsupported()),
    }
}

/// The runtime's lines a skill's capabilities choose: its channel to the Brain.
fn runtime_fragment(skill: &Skill) -> &'static str {
    if caps::has_channel(&skill.caps, "brain") {
        "# `channel:brain`: the runtime's serial line to the Brain.\nCONFIG_LIBHIVESKILL_BRAIN=y\n"
    } else {
        ""
    }
}

/// Whether a skill reaches the network: then it links the network stack.
fn uses_network(skill: &Skill) -> bool {
    caps::net_ports(&skill.caps).next().is_some()
}

impl Builder<'_> {
    /// A skill as a Unikraft unikernel: its app rendered from its template, then configured
    /// and built with the core, the runtime and the libraries its capabilities need.
    pub(super) fn unikraft_skill(
        &mut self,
        unikraft: &Unikraft,
        name: &str,
        skill: &Skill,
    ) -> Result<(), PlanError> {
        let target = self.options.target;
        let platform = unikraft_platform(target)?;
        let (cc, cc_install) = target_cc(target);

        let template = match &skill.build {
            SkillBuild::Template(template) => template.clone(),
            SkillBuild::Path(_) => C_APP_TEMPLATE.to_owned(),
        };
        let app = self.render_app(name, skill, &template)?;

        let mut libraries = vec![library(&unikraft.runtime, "hiveskill", None)];
        let needs = [
            (
                uses_network(skill),
                NET_LIBRARY,
                "it has a `net:` capability",
            ),
            (
                !skill.peers.is_empty(),
                PEER_LIBRARY,
                "it checks its `peers`' signatures",
            ),
        ];
        for (needed, wanted, why) in needs {
            if !needed {
                continue;
            }
            let declared =
                unikraft
                    .libraries
                    .get(wanted)
                    .ok_or_else(|| PlanError::MissingLibrary {
                        skill: name.to_owned(),
                        library: wanted.to_owned(),
                        why: why.into(),
                    })?;
            libraries.push(library(
                &declared.source,
                wanted,
                declared.origin.as_ref().map(|o| UnikraftOrigin {
                    source: o.source.clone(),
                    archive: o.archive.clone(),
                    unpack: o.unpack.clone(),
                }),
            ));
        }

        let skill_source = match &skill.build {
            SkillBuild::Path(_) => Some(SKILL_SOURCE.to_owned()),
            SkillBuild::Template(_) => None,
        };
        let mut draft = Draft::new(
            Role::Skill(name.to_owned()),
            StepKind::Unikraft {
                core: unikraft.core.clone(),
                libraries: libraries.clone(),
                app: Arg::Output {
                    prefix: String::new(),
                    step: app.clone(),
                    path: String::new(),
                },
                skill_source: skill_source.clone(),
                name: name.to_owned(),
                arch: platform.arch.to_owned(),
                cross_compile: target.c.cross_prefix.clone(),
                fragment: format!("{}{}", platform.fragment, runtime_fragment(skill)),
            },
        )
        .tool("make", "make")
        .tool_from("cc", cc, cc_install)
        .tool("hostcc", "cc")
        .tool("flex", "flex")
        .tool("bison", "bison")
        .tool("patch", "patch")
        .tool("nm", format!("{}nm", target.c.cross_prefix));
        self.add_source(&mut draft, &unikraft.core)?;
        for library in &libraries {
            self.add_source(&mut draft, &library.source)?;
            if let Some(origin) = &library.origin {
                self.add_source(&mut draft, &origin.source)?;
            }
        }
        if let (Some(source), SkillBuild::Path(path)) = (&skill_source, &skill.build) {
            let input = super::path_input(&self.manifest.root().join(path))?;
            draft.sources.insert(source.clone(), input);
        }
        draft.deps.push(app);
        self.finish(draft);
        Ok(())
    }
}

fn library(source: &str, name: &str, origin: Option<UnikraftOrigin>) -> UnikraftLibrary {
    UnikraftLibrary {
        name: name.to_owned(),
        source: source.to_owned(),
        origin,
    }
}
