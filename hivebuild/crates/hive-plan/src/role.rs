//! What each step of a plan is for, and the files other stages take from its output. Step
//! names are made ([`Role::name`]) and read back ([`Role::parse`]) only here; artefact file
//! names likewise ([`Artefact`]). The image composer, the SBOM, the test driver and the
//! release writer ask for a role, never for a string.

use std::fmt;

use hive_manifest::SystemKind;

/// The part a step plays in the hive's build.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `fetch-SOURCE`: a git or archive source, checked against its locked hash.
    Fetch(String),
    /// `asset-NAME`: files of a pinned Debian package the image takes (Pi firmware, ...).
    Asset(String),
    /// `kernel`: the stand-in kernel.
    Kernel,
    /// `brain`: the Brain's cargo package.
    Brain,
    /// `app-SKILL`: a skill's app, rendered from its template.
    App(String),
    /// `skill-SKILL`: a skill's own image (a stand-in kernel or a protection domain).
    Skill(String),
    /// `packer`: the host tool that packs the stand-in system image.
    Packer,
    /// `microkit-sdk`: the Microkit SDK built from the seL4 sources.
    MicrokitSdk,
    /// `police`: the police's protection domain.
    Police,
    /// `pd-brain`: the Brain's protection domain around its core library.
    BrainPd,
    /// `system-description`: the Microkit `.system` XML.
    SystemDescription,
    /// `system`: what boots the whole hive (the packed image, or Microkit's loader image).
    System,
}

impl Role {
    /// The step's name in plans, store entries and reports.
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The role a step name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        let named = |prefix: &str, make: fn(String) -> Self| {
            name.strip_prefix(prefix)
                .filter(|rest| !rest.is_empty())
                .map(|rest| make(rest.to_owned()))
        };
        Some(match name {
            "kernel" => Self::Kernel,
            "brain" => Self::Brain,
            "packer" => Self::Packer,
            "microkit-sdk" => Self::MicrokitSdk,
            "police" => Self::Police,
            "pd-brain" => Self::BrainPd,
            "system-description" => Self::SystemDescription,
            "system" => Self::System,
            _ => {
                return named("fetch-", Self::Fetch)
                    .or_else(|| named("asset-", Self::Asset))
                    .or_else(|| named("app-", Self::App))
                    .or_else(|| named("skill-", Self::Skill));
            }
        })
    }

    /// The skill this step builds, for `skill-NAME` and `app-NAME`.
    pub fn skill(&self) -> Option<&str> {
        match self {
            Self::Skill(name) | Self::App(name) => Some(name),
            _ => None,
        }
    }

    /// How a bill of materials classifies the step's output (`CycloneDX` component types).
    pub fn sbom_kind(&self) -> &'static str {
        match self {
            Self::Kernel | Self::Asset(_) => "firmware",
            Self::Brain | Self::Skill(_) => "application",
            _ => "data",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fetch(source) => write!(f, "fetch-{source}"),
            Self::Asset(name) => write!(f, "asset-{name}"),
            Self::Kernel => f.write_str("kernel"),
            Self::Brain => f.write_str("brain"),
            Self::App(skill) => write!(f, "app-{skill}"),
            Self::Skill(skill) => write!(f, "skill-{skill}"),
            Self::Packer => f.write_str("packer"),
            Self::MicrokitSdk => f.write_str("microkit-sdk"),
            Self::Police => f.write_str("police"),
            Self::BrainPd => f.write_str("pd-brain"),
            Self::SystemDescription => f.write_str("system-description"),
            Self::System => f.write_str("system"),
        }
    }
}

/// A file in a step's output folder that a later stage takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artefact {
    pub role: Role,
    /// Relative to the step's output folder.
    pub file: String,
}

impl Artefact {
    /// The stand-in kernel.
    pub fn kernel() -> Self {
        Self::at(Role::Kernel, "kernel.elf")
    }

    /// What boots the hive's system: the stand-in kernel, or Microkit's loader image (seL4,
    /// the monitor and every protection domain).
    pub fn boot(system: SystemKind) -> Self {
        match system {
            SystemKind::Standins => Self::kernel(),
            SystemKind::Microkit => Self::loader(),
        }
    }

    /// Microkit's loader image.
    pub fn loader() -> Self {
        Self::at(Role::System, "loader.img")
    }

    /// Microkit's report on the system it packed.
    pub fn loader_report() -> Self {
        Self::at(Role::System, "report.txt")
    }

    /// The stand-in system image the packer makes.
    pub fn packed_system() -> Self {
        Self::at(Role::System, "system.img")
    }

    /// The packer program.
    pub fn packer() -> Self {
        Self::at(Role::Packer, "bin/hive-pack")
    }

    /// Microkit's tool in the SDK.
    pub fn microkit_tool() -> Self {
        Self::at(Role::MicrokitSdk, "bin/microkit")
    }

    /// The system description the Microkit tool reads.
    pub fn system_description() -> Self {
        Self::at(Role::SystemDescription, "hive.system")
    }

    /// A skill's own image: a stand-in kernel of its own, or its protection domain's ELF.
    pub fn skill(system: SystemKind, skill: &str) -> Self {
        let file = match system {
            SystemKind::Standins => "skill.elf".to_owned(),
            SystemKind::Microkit => format!("{skill}.elf"),
        };
        Self::at(Role::Skill(skill.to_owned()), file)
    }

    /// A Unikraft skill's symbol table (`nm -P` of its unstripped image), beside its image.
    pub fn skill_symbols(skill: &str) -> Self {
        Self::at(Role::Skill(skill.to_owned()), "skill.symbols")
    }

    /// The Brain's build output: `bin/NAME` (hosted) or `lib/libNAME.a` (a core for a PD).
    pub fn brain(package: &str, crate_type: hive_manifest::target::CrateType) -> Self {
        let file = match crate_type {
            hive_manifest::target::CrateType::Bin => format!("bin/{package}"),
            hive_manifest::target::CrateType::Staticlib => {
                format!("lib/lib{}.a", package.replace('-', "_"))
            }
        };
        Self::at(Role::Brain, file)
    }

    fn at(role: Role, file: impl Into<String>) -> Self {
        Self {
            role,
            file: file.into(),
        }
    }

    /// As an argument of a step that reads it.
    pub fn arg(&self, prefix: impl Into<String>) -> crate::Arg {
        crate::Arg::Output {
            prefix: prefix.into(),
            step: self.role.name(),
            path: self.file.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn every_role_reads_back_from_its_name() {
        let roles = [
            Role::Fetch("rust-sel4".into()),
            Role::Asset("rpi-firmware".into()),
            Role::Kernel,
            Role::Brain,
            Role::App("net".into()),
            Role::Skill("pdf-2".into()),
            Role::Packer,
            Role::MicrokitSdk,
            Role::Police,
            Role::BrainPd,
            Role::SystemDescription,
            Role::System,
        ];
        for role in roles {
            assert_eq!(Role::parse(&role.name()), Some(role.clone()), "{role}");
        }
        assert_eq!(Role::parse("skill-"), None);
        assert_eq!(Role::parse("linker"), None);
        assert_eq!(Role::Skill("net".into()).skill(), Some("net"));
        assert_eq!(Role::Asset("fw".into()).sbom_kind(), "firmware");
        assert_eq!(Role::Fetch("sel4".into()).sbom_kind(), "data");
    }
}
