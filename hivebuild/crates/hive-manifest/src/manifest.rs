//! From manifest text to a validated [`Manifest`], collecting every problem on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item};

use crate::caps::{Capability, KINDS};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{
    Brain, DEFAULT_BRAIN_MEMORY, DEFAULT_RESTART_LIMIT, DEFAULT_SKILL_MEMORY, Hive, Kernel,
    KernelConfig, Manifest, Platform, Restart, Skill, SkillBuild, Source, Update,
};
use crate::raw::{self, S, section};
use crate::units::{Size, parse_duration};
use crate::{Component, is_identifier, parse_document};

const SECTIONS: &str =
    "`hive`, `kernel`, `platform`, `brain`, `skills`, `update`, `sources`, `tests`";
const RESERVED_NAMES: [&str; 3] = ["brain", "police", "kernel"];

/// Parse and validate manifest text. `root` is the project root, used to check that the
/// files and folders the manifest names exist.
pub(crate) fn parse(file: &Path, text: &str, root: &Path) -> Result<Manifest, Box<Diagnostics>> {
    let mut diagnostics = Diagnostics::new(file, text);
    let Some(document) = parse_document(text, &mut diagnostics) else {
        return Err(Box::new(diagnostics));
    };
    let mut checker = Checker { diagnostics, root };
    let manifest = checker.manifest(file, &document);
    match manifest {
        Some(manifest) if checker.diagnostics.is_empty() => Ok(manifest),
        _ => Err(Box::new(checker.diagnostics)),
    }
}

struct Checker<'a> {
    diagnostics: Diagnostics,
    root: &'a Path,
}

/// The capabilities of one component, with where each was written.
struct Granted {
    component: Component,
    caps: Vec<(Capability, Range<usize>)>,
}

impl Checker<'_> {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn manifest(&mut self, file: &Path, document: &Document<String>) -> Option<Manifest> {
        let top = document.as_table();
        for (key, _) in top {
            if ![
                "hive", "kernel", "platform", "brain", "skills", "update", "sources", "tests",
            ]
            .contains(&key)
            {
                let span = top.key(key).and_then(toml_edit::Key::span).unwrap_or(0..0);
                self.error(
                    Diagnostic::new(format!("unknown section `[{key}]`"), span)
                        .label("unknown section")
                        .help(format!("a manifest has the sections {SECTIONS}")),
                );
            }
        }
        let hive = self
            .required::<raw::Hive>(top, "hive")
            .and_then(|h| self.hive(h));
        let kernel = match top.get("kernel") {
            Some(item) => section::<raw::Kernel>(item, "kernel", &mut self.diagnostics)
                .and_then(|k| self.kernel(&k, hive.as_ref())),
            None => Some(Kernel {
                config: KernelConfig::Debug,
                overrides: BTreeMap::new(),
            }),
        };
        let sources = self.sources(top.get("sources"));
        let platform = self
            .required::<raw::Platform>(top, "platform")
            .and_then(|p| self.platform(&p, &sources));
        let raw_brain = self.required::<raw::Brain>(top, "brain");
        let raw_skills = self.raw_skills(top.get("skills"));
        let skill_names: BTreeSet<String> = raw_skills.keys().cloned().collect();

        let mut granted = Vec::new();
        let brain = raw_brain.and_then(|b| self.brain(&b, &mut granted));
        let mut skills = BTreeMap::new();
        for (name, raw_skill) in raw_skills {
            if let Some(skill) = self.skill(name.clone(), raw_skill, &mut granted) {
                skills.insert(name, skill);
            }
        }
        self.check_channels(&granted, &skill_names);
        let update = top
            .get("update")
            .and_then(|item| section::<raw::Update>(item, "update", &mut self.diagnostics))
            .map(|u| self.update(u));

        Some(Manifest {
            file: file.to_owned(),
            root: self.root.to_owned(),
            hive: hive?,
            kernel: kernel?,
            platform: platform?,
            brain: brain?,
            skills,
            update,
            sources,
            has_tests: top.contains_key("tests"),
        })
    }

    fn required<T: serde::de::DeserializeOwned>(
        &mut self,
        top: &toml_edit::Table,
        name: &str,
    ) -> Option<T> {
        if let Some(item) = top.get(name) {
            section(item, name, &mut self.diagnostics)
        } else {
            self.error(
                Diagnostic::new(format!("missing section `[{name}]`"), 0..0)
                    .label("expected in this file")
                    .help(format!("add a `[{name}]` section (see docs/manifest.md)")),
            );
            None
        }
    }

    fn hive(&mut self, raw: raw::Hive) -> Option<Hive> {
        let name = self.identifier(&raw.name, "hive name");
        let version = match semver::Version::parse(raw.version.get_ref()) {
            Ok(version) => Some(version),
            Err(error) => {
                self.error(
                    Diagnostic::new(
                        format!(
                            "`{}` is not a semantic version: {error}",
                            raw.version.get_ref()
                        ),
                        raw.version.span(),
                    )
                    .label("not semver")
                    .help("write MAJOR.MINOR.PATCH, for example `1.4.0`"),
                );
                None
            }
        };
        let targets_span = raw.targets.span();
        let mut targets = Vec::new();
        for target in raw.targets.into_inner() {
            let name = target.get_ref();
            if targets.contains(name) {
                self.error(
                    Diagnostic::new(format!("target `{name}` is listed twice"), target.span())
                        .label("duplicate")
                        .help("list each target once"),
                );
            } else if !self
                .root
                .join("targets")
                .join(format!("{name}.toml"))
                .is_file()
            {
                let known = crate::target::known_targets(self.root).join("`, `");
                self.error(
                    Diagnostic::new(format!("unknown target `{name}`"), target.span())
                        .label("no such file in `targets/`")
                        .help(format!("the targets of this project are `{known}`")),
                );
            } else {
                targets.push(name.clone());
            }
        }
        if targets.is_empty() && self.diagnostics.is_empty() {
            self.error(
                Diagnostic::new("a hive needs at least one target", targets_span)
                    .label("empty")
                    .help("name a file of `targets/`, for example `targets = [\"x86_64\"]`"),
            );
        }
        Some(Hive {
            name: name?,
            version: version?,
            targets,
        })
    }

    fn kernel(&mut self, raw: &raw::Kernel, hive: Option<&Hive>) -> Option<Kernel> {
        let config = raw
            .config
            .as_ref()
            .map_or(Some(KernelConfig::Debug), |c| self.kernel_config(c));
        let mut overrides = BTreeMap::new();
        for (target, config) in &raw.overrides {
            if let Some(hive) = hive
                && !hive.targets.contains(target)
            {
                self.error(
                    Diagnostic::new(
                        format!(
                            "kernel override for `{target}`, which is not a target of this hive"
                        ),
                        config.span(),
                    )
                    .label("unused override")
                    .help("add the target to `hive.targets` or remove the override"),
                );
            }
            if let Some(config) = self.kernel_config(config) {
                overrides.insert(target.clone(), config);
            }
        }
        Some(Kernel {
            config: config?,
            overrides,
        })
    }

    fn kernel_config(&mut self, text: &S<String>) -> Option<KernelConfig> {
        let config = KernelConfig::parse(text.get_ref());
        if config.is_none() {
            self.error(
                Diagnostic::new(
                    format!("unknown kernel config `{}`", text.get_ref()),
                    text.span(),
                )
                .label("unknown config")
                .help("use `debug`, `release` or `benchmark`"),
            );
        }
        config
    }

    fn sources(&mut self, item: Option<&Item>) -> BTreeMap<String, Source> {
        let mut sources = BTreeMap::new();
        for (name, item) in self.named_tables(item, "sources") {
            let what = format!("sources.{name}");
            let Some(raw) = section::<raw::Source>(item, &what, &mut self.diagnostics) else {
                continue;
            };
            let span = item.span().unwrap_or(0..0);
            let source = match (raw.git, raw.url, raw.path) {
                (Some(git), None, None) => {
                    let Some(rev) = raw.rev else {
                        self.error(
                            Diagnostic::new(
                                format!("git source `{name}` has no `rev`"),
                                git.span(),
                            )
                            .label("needs a revision")
                            .help(
                                "add `rev = \"<commit, tag or branch>\"`; `hivebuild lock` pins it",
                            ),
                        );
                        continue;
                    };
                    Source::Git {
                        url: git.into_inner(),
                        rev: rev.into_inner(),
                    }
                }
                (None, Some(url), None) => {
                    let sha = raw.sha256.as_ref().map(|s| s.get_ref().as_str());
                    if !sha
                        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    {
                        let at = raw.sha256.as_ref().map_or(url.span(), S::span);
                        self.error(
                            Diagnostic::new(
                                format!(
                                    "archive source `{name}` needs a `sha256` of 64 hex digits"
                                ),
                                at,
                            )
                            .label("missing or malformed hash")
                            .help(
                                "add `sha256 = \"...\"` with the archive's hash (`sha256sum FILE`)",
                            ),
                        );
                        continue;
                    }
                    Source::Tarball {
                        url: url.into_inner(),
                        sha256: sha.unwrap_or_default().to_ascii_lowercase(),
                    }
                }
                (None, None, Some(path)) => match self.existing_path(&path, true) {
                    Some(path) => Source::Path { path },
                    None => continue,
                },
                _ => {
                    self.error(
                        Diagnostic::new(
                            format!(
                                "source `{name}` must have exactly one of `git`, `url` or `path`"
                            ),
                            span,
                        )
                        .label("ambiguous or empty source")
                        .help("write `git = URL` + `rev`, `url = URL` + `sha256`, or `path = DIR`"),
                    );
                    continue;
                }
            };
            sources.insert(name, source);
        }
        sources
    }

    fn platform(
        &mut self,
        raw: &raw::Platform,
        sources: &BTreeMap<String, Source>,
    ) -> Option<Platform> {
        let mut resolve = |field: &S<String>, role: &str| {
            if sources.contains_key(field.get_ref()) {
                Some(field.get_ref().clone())
            } else {
                self.error(
                    Diagnostic::new(
                        format!(
                            "the {role} names source `{}`, which is not declared",
                            field.get_ref()
                        ),
                        field.span(),
                    )
                    .label("no such source")
                    .help(format!("declare it as `[sources.{}]`", field.get_ref())),
                );
                None
            }
        };
        let kernel = resolve(&raw.kernel, "kernel");
        let skill_base = resolve(&raw.skill_base, "skill base");
        let packer = resolve(&raw.packer, "packer");
        Some(Platform {
            kernel: kernel?,
            skill_base: skill_base?,
            packer: packer?,
        })
    }

    fn brain(&mut self, raw: &raw::Brain, granted: &mut Vec<Granted>) -> Option<Brain> {
        let path = self.existing_path(&raw.path, true);
        if let Some(path) = &path
            && !self.root.join(path).join("Cargo.toml").is_file()
        {
            self.error(
                Diagnostic::new(format!("`{path}` is not a cargo package"), raw.path.span())
                    .label("no Cargo.toml here")
                    .help("the Brain is a Rust package: point `path` at the folder with its Cargo.toml"),
            );
        }
        let memory = self.size(raw.memory.as_ref(), DEFAULT_BRAIN_MEMORY);
        let caps = self.capabilities(Component::Brain, &raw.caps, granted);
        Some(Brain {
            path: path?,
            memory: memory?,
            caps,
            features: raw.features.clone(),
        })
    }

    fn raw_skills(&mut self, item: Option<&Item>) -> BTreeMap<String, (raw::Skill, Range<usize>)> {
        let mut skills = BTreeMap::new();
        for (name, item) in self.named_tables(item, "skills") {
            let span = item.span().unwrap_or(0..0);
            if let Some(skill) =
                section::<raw::Skill>(item, &format!("skills.{name}"), &mut self.diagnostics)
            {
                skills.insert(name, (skill, span));
            }
        }
        skills
    }

    fn skill(
        &mut self,
        name: String,
        (raw, span): (raw::Skill, Range<usize>),
        granted: &mut Vec<Granted>,
    ) -> Option<Skill> {
        let build = match (&raw.template, &raw.path) {
            (Some(template), None) => {
                if self
                    .root
                    .join("unikraft-templates")
                    .join(template.get_ref())
                    .is_dir()
                {
                    Some(SkillBuild::Template(template.get_ref().clone()))
                } else {
                    self.error(
                        Diagnostic::new(
                            format!("unknown skill template `{}`", template.get_ref()),
                            template.span(),
                        )
                        .label("no such folder in `unikraft-templates/`")
                        .help("use a template of `unikraft-templates/` or give the skill a `path`"),
                    );
                    None
                }
            }
            (None, Some(path)) => self.existing_path(path, true).map(SkillBuild::Path),
            _ => {
                self.error(
                    Diagnostic::new(format!("skill `{name}` needs exactly one of `template` or `path`"), span)
                        .label("skill declared here")
                        .help("write `template = \"net-listener\"` or `path = \"components/skills/NAME\"`"),
                );
                None
            }
        };
        let memory = self.size(raw.memory.as_ref(), DEFAULT_SKILL_MEMORY);
        let restart = raw.restart.as_ref().map_or(Some(Restart::Always), |r| {
            let restart = match r.get_ref().as_str() {
                "always" => Some(Restart::Always),
                "on-failure" => Some(Restart::OnFailure),
                "never" => Some(Restart::Never),
                _ => None,
            };
            if restart.is_none() {
                self.error(
                    Diagnostic::new(
                        format!("unknown restart policy `{}`", r.get_ref()),
                        r.span(),
                    )
                    .label("unknown policy")
                    .help("use `always`, `on-failure` or `never`"),
                );
            }
            restart
        });
        let boot_budget = match &raw.boot_budget {
            None => Some(None),
            Some(text) => match parse_duration(text.get_ref()) {
                Ok(duration) => Some(Some(duration)),
                Err(message) => {
                    self.error(
                        Diagnostic::new(
                            format!("bad boot budget `{}`: {message}", text.get_ref()),
                            text.span(),
                        )
                        .label("not a duration")
                        .help("write a duration such as `50ms`, `2s` or `500us`"),
                    );
                    None
                }
            },
        };
        let caps = self.capabilities(Component::Skill(name.clone()), &raw.caps, granted);
        Some(Skill {
            name,
            build: build?,
            memory: memory?,
            caps,
            restart: restart?,
            restart_limit: raw
                .restart_limit
                .map_or(DEFAULT_RESTART_LIMIT, S::into_inner),
            lazy: raw.lazy,
            boot_budget: boot_budget?,
        })
    }

    fn update(&mut self, raw: raw::Update) -> Update {
        self.identifier(&raw.channel, "update channel");
        Update {
            channel: raw.channel.into_inner(),
            trust_root: raw.trust_root.into_inner(),
        }
    }

    /// The sub-tables of `[skills]` or `[sources]`, by name, after checking the names.
    fn named_tables<'d>(&mut self, item: Option<&'d Item>, what: &str) -> Vec<(String, &'d Item)> {
        let Some(item) = item else { return Vec::new() };
        let Some(table) = item.as_table_like() else {
            self.error(
                Diagnostic::new(
                    format!("`{what}` must be a table of tables"),
                    item.span().unwrap_or(0..0),
                )
                .label("expected tables")
                .help(format!("write `[{what}.NAME]` sections")),
            );
            return Vec::new();
        };
        let mut tables = Vec::new();
        for (name, entry) in table.iter() {
            let key_span = table
                .key(name)
                .and_then(toml_edit::Key::span)
                .unwrap_or(0..0);
            if !is_identifier(name) {
                self.error(
                    Diagnostic::new(format!("`{name}` is not a valid name"), key_span)
                        .label("invalid name")
                        .help(
                            "names are lowercase letters, digits and `-`, starting with a letter",
                        ),
                );
                continue;
            }
            if what == "skills" && RESERVED_NAMES.contains(&name) {
                self.error(
                    Diagnostic::new(format!("`{name}` is reserved and cannot name a skill"), key_span)
                        .label("reserved name")
                        .help("`brain`, `police` and `kernel` are the system's own components; pick another name"),
                );
                continue;
            }
            tables.push((name.to_owned(), entry));
        }
        tables
    }

    fn identifier(&mut self, text: &S<String>, what: &str) -> Option<String> {
        if is_identifier(text.get_ref()) {
            Some(text.get_ref().clone())
        } else {
            self.error(
                Diagnostic::new(format!("`{}` is not a valid {what}", text.get_ref()), text.span())
                    .label("invalid name")
                    .help("names are lowercase letters, digits and `-`, starting with a letter (at most 63)"),
            );
            None
        }
    }

    fn size(&mut self, text: Option<&S<String>>, default: Size) -> Option<Size> {
        let Some(text) = text else {
            return Some(default);
        };
        match Size::parse(text.get_ref()) {
            Ok(size) => Some(size),
            Err(message) => {
                self.error(
                    Diagnostic::new(
                        format!("bad memory size `{}`: {message}", text.get_ref()),
                        text.span(),
                    )
                    .label("not a size")
                    .help("write a size in binary units, such as `16MiB`, `512KiB` or `1GiB`"),
                );
                None
            }
        }
    }

    /// A relative path that exists under the project root, normalised to use `/`.
    fn existing_path(&mut self, text: &S<String>, directory: bool) -> Option<String> {
        let path = text.get_ref();
        let relative = Path::new(path);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            self.error(
                Diagnostic::new(format!("path `{path}` leaves the project"), text.span())
                    .label("absolute or `..` path")
                    .help("paths are relative to the project root (the folder holding `targets/`)"),
            );
            return None;
        }
        let full = self.root.join(relative);
        let exists = if directory {
            full.is_dir()
        } else {
            full.exists()
        };
        if !exists {
            self.error(
                Diagnostic::new(format!("`{path}` does not exist"), text.span())
                    .label(if directory {
                        "no such folder"
                    } else {
                        "no such file"
                    })
                    .help(format!(
                        "paths are relative to the project root `{}`",
                        self.root.display()
                    )),
            );
            return None;
        }
        Some(path.trim_end_matches('/').to_owned())
    }

    fn capabilities(
        &mut self,
        component: Component,
        raw: &[S<String>],
        granted: &mut Vec<Granted>,
    ) -> Vec<Capability> {
        let mut caps: Vec<(Capability, Range<usize>)> = Vec::new();
        for text in raw {
            let capability = match Capability::parse(text.get_ref()) {
                Ok(capability) => capability,
                Err(error) => {
                    self.error(
                        Diagnostic::new(error.message, text.span())
                            .label("invalid capability")
                            .help(error.help),
                    );
                    continue;
                }
            };
            if caps.iter().any(|(c, _)| *c == capability) {
                self.error(
                    Diagnostic::new(
                        format!("capability `{capability}` is granted twice to {component}"),
                        text.span(),
                    )
                    .label("duplicate")
                    .help("list each capability once"),
                );
                continue;
            }
            match (&component, &capability) {
                (Component::Brain, Capability::Net { .. }) => self.error(
                    Diagnostic::new("the Brain cannot hold a network capability", text.span())
                        .label("network on the Brain")
                        .help("give the port to a network skill and talk to it over a `channel:`"),
                ),
                (Component::Skill(_), Capability::Store { name, .. }) => self.error(
                    Diagnostic::new(
                        format!("{component} cannot hold the Brain's store `{name}`"),
                        text.span(),
                    )
                    .label("store on a skill")
                    .help(
                        "stores belong to the Brain; send a skill what it needs over its channel",
                    ),
                ),
                (_, Capability::Channel { peer }) if component.name() == peer => self.error(
                    Diagnostic::new(format!("{component} has a channel to itself"), text.span())
                        .label("self channel")
                        .help(format!("channels connect two components; {KINDS}")),
                ),
                _ => {}
            }
            caps.push((capability, text.span()));
        }
        let result = caps.iter().map(|(c, _)| c.clone()).collect();
        granted.push(Granted { component, caps });
        result
    }

    /// Every channel names an existing peer, and the peer declares the channel back.
    fn check_channels(&mut self, granted: &[Granted], skill_names: &BTreeSet<String>) {
        for grant in granted {
            for (capability, span) in &grant.caps {
                let Capability::Channel { peer } = capability else {
                    continue;
                };
                if peer != "brain" && !skill_names.contains(peer) {
                    let known: Vec<&str> = std::iter::once("brain")
                        .chain(skill_names.iter().map(String::as_str))
                        .collect();
                    self.error(
                        Diagnostic::new(
                            format!("channel to `{peer}`, which does not exist"),
                            span.clone(),
                        )
                        .label("no such component")
                        .help(format!("channels can go to `{}`", known.join("`, `"))),
                    );
                    continue;
                }
                let back = Capability::Channel {
                    peer: grant.component.name().to_owned(),
                };
                let peer_declares = granted
                    .iter()
                    .find(|g| g.component.name() == peer)
                    .is_none_or(|g| g.caps.iter().any(|(c, _)| *c == back));
                if !peer_declares {
                    self.error(
                        Diagnostic::new(
                            format!("one-sided channel: `{peer}` has no `{back}`"),
                            span.clone(),
                        )
                        .label("declared on this side only")
                        .help(format!("add \"{back}\" to the caps of `{peer}`")),
                    );
                }
            }
        }
    }
}
