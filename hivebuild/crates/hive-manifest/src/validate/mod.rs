//! From manifest text to a validated [`Manifest`], collecting every problem on the way.
//!
//! The checks are split by subject: this file has the sections' skeleton and shared
//! helpers, [`sources`] the `[sources]` and `[platform]` tables, [`components`] the Brain,
//! skills and update settings, [`capabilities`] the capability rules across components.

mod capabilities;
mod components;
mod sources;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use crate::layers::Layers;

use toml_edit::{Document, Item};

use crate::caps::Capability;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{Hive, Kernel, KernelConfig, Manifest};
use crate::raw::{self, S, section};
use crate::units::{Size, parse_duration};
use crate::{Component, is_identifier, parse_document};

const SECTIONS: &str =
    "`hive`, `kernel`, `platform`, `brain`, `skills`, `peers`, `update`, `sources`, `tests`";
const RESERVED_NAMES: [&str; 3] = ["brain", "police", "kernel"];

/// Parse and validate manifest text. `layers` say where the files and folders the manifest
/// names are looked up: the project root, then hivebuild's stock.
pub(crate) fn parse(
    file: &Path,
    text: &str,
    layers: &Layers,
) -> Result<Manifest, Box<Diagnostics>> {
    let mut diagnostics = Diagnostics::new(file, text);
    let Some(document) = parse_document(text, &mut diagnostics) else {
        return Err(Box::new(diagnostics));
    };
    let mut checker = Checker {
        diagnostics,
        layers,
        root: &layers.project,
    };
    let manifest = checker.manifest(file, &document);
    match manifest {
        Some(manifest) if checker.diagnostics.is_empty() => Ok(manifest),
        _ => Err(Box::new(checker.diagnostics)),
    }
}

struct Checker<'a> {
    diagnostics: Diagnostics,
    layers: &'a Layers,
    /// The project root (`layers.project`).
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
                "hive", "kernel", "platform", "brain", "skills", "peers", "update", "sources",
                "tests",
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
        let mut sources = self.sources(top.get("sources"));
        let platform = self
            .required::<raw::Platform>(top, "platform")
            .and_then(|p| self.platform(&p, &sources));
        if let Some(platform) = &platform {
            self.add_stock_sources(platform, &mut sources);
        }
        let raw_brain = self.required::<raw::Brain>(top, "brain");
        let mut raw_skills = self.raw_skills(top.get("skills"));
        let skill_names: BTreeSet<String> = raw_skills.keys().cloned().collect();
        // Microkit: the police's ids (0–61) hold the Brain's channel, one per skill and the
        // console's interrupt.
        let most = crate::model::MAX_SKILLS;
        if raw_skills.len() > most
            && let Some((name, (_, span))) =
                raw_skills.iter().max_by_key(|(_, (_, span))| span.start)
        {
            self.error(
                Diagnostic::new(format!("this hive has {} skills; a hive holds at most {most}", raw_skills.len()), span.clone())
                    .label(format!("`{name}`, the last one declared"))
                    .help("the police, parent of every skill, has 62 ids (Microkit's 0–61): one per skill, one for the Brain's channel and one for the console"),
            );
            // Checking each of thousands of skills would bury that error: stop there.
            raw_skills.clear();
        }

        let peers = self.peers_section(top.get("peers"));
        let mut granted = Vec::new();
        let brain = raw_brain.and_then(|b| self.brain(&b, &mut granted));
        let mut skills = BTreeMap::new();
        for (name, raw_skill) in raw_skills {
            if let Some(skill) = self.skill(name.clone(), raw_skill, &mut granted, &peers) {
                skills.insert(name, skill);
            }
        }
        self.check_channels(&granted, &skill_names);
        let update = top
            .get("update")
            .and_then(|item| section::<raw::Update>(item, "update", &mut self.diagnostics))
            .map(|u| self.update(u));

        let tests_item = top.get("tests");
        let tests = match tests_item {
            None => Some(crate::model::Tests::default()),
            Some(item) => section::<raw::TestsSection>(item, "tests", &mut self.diagnostics)
                .map(|t| self.tests(t, &skill_names)),
        };
        Some(Manifest {
            file: file.to_owned(),
            layers: self.layers.clone(),
            hive: hive?,
            kernel: kernel?,
            platform: platform?,
            brain: brain?,
            skills,
            update,
            sources,
            peers,
            tests: tests?,
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
            } else if self.layers.target(name).is_none() {
                let known = self.layers.known_targets().join("`, `");
                self.error(
                    Diagnostic::new(format!("unknown target `{name}`"), target.span())
                        .label("no such file in `targets/`")
                        .help(format!("the targets this project can use are `{known}`")),
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

    fn tests(
        &mut self,
        raw: raw::TestsSection,
        skill_names: &BTreeSet<String>,
    ) -> crate::model::Tests {
        let smoke = raw.smoke.map(|smoke| {
            let skill_markers = self.markers(&smoke.skills);
            crate::model::Smoke {
                kernel: self
                    .markers(&smoke.kernel)
                    .into_iter()
                    .map(|(_, pattern, within)| crate::model::Marker { pattern, within })
                    .collect(),
                skills: skill_names
                    .iter()
                    .map(|skill| {
                        let markers = skill_markers
                            .iter()
                            .filter_map(|(text, checked, within)| {
                                Some(crate::model::Marker {
                                    pattern: self.for_skill(text, checked, skill)?,
                                    within: *within,
                                })
                            })
                            .collect();
                        (skill.clone(), markers)
                    })
                    .collect(),
                fail: smoke
                    .fail
                    .iter()
                    .filter_map(|p| self.pattern(p, None))
                    .collect(),
            }
        });
        let faults = raw
            .faults
            .and_then(|faults| self.faults(&faults, skill_names));
        crate::model::Tests { smoke, faults }
    }

    /// `checked` (`text` compiled with the placeholder) for `skill`: compiled again only when
    /// the text names `{skill}`.
    fn for_skill(
        &mut self,
        text: &S<String>,
        checked: &crate::model::Pattern,
        skill: &str,
    ) -> Option<crate::model::Pattern> {
        if text.get_ref().contains("{skill}") {
            self.pattern(text, Some(skill))
        } else {
            Some(checked.clone())
        }
    }

    fn faults(
        &mut self,
        raw: &raw::FaultsSection,
        skill_names: &BTreeSet<String>,
    ) -> Option<crate::model::Faults> {
        for skill in &raw.skills {
            if !skill_names.contains(skill.get_ref()) {
                self.error(
                    Diagnostic::new(
                        format!(
                            "fault injection names skill `{}`, which this hive does not have",
                            skill.get_ref()
                        ),
                        skill.span(),
                    )
                    .label("no such skill")
                    .help(format!(
                        "crash one of `{}`",
                        skill_names.iter().cloned().collect::<Vec<_>>().join("`, `")
                    )),
                );
            }
        }
        let mut duration = |text: &S<String>| match parse_duration(text.get_ref()) {
            Ok(duration) => Some(duration),
            Err(message) => {
                self.error(
                    Diagnostic::new(
                        format!("bad duration `{}`: {message}", text.get_ref()),
                        text.span(),
                    )
                    .label("not a duration")
                    .help("write a duration such as `2s` or `500ms`"),
                );
                None
            }
        };
        let restart_within = duration(&raw.restart_within);
        let max_gap = duration(&raw.max_gap);
        // Every pattern is checked (and reported), not only up to the first bad one.
        let texts = [&raw.ready, &raw.fault, &raw.stopped, &raw.heartbeat];
        let checked = texts.map(|text| self.pattern(text, None));
        let checked: Vec<crate::model::Pattern> = checked.into_iter().collect::<Option<_>>()?;
        let mut skills = Vec::new();
        for name in raw.skills.iter().map(serde_spanned::Spanned::get_ref) {
            let compiled: Vec<Option<crate::model::Pattern>> = texts
                .iter()
                .zip(&checked)
                .map(|(text, checked)| self.for_skill(text, checked, name))
                .collect();
            let [ready, fault, stopped, heartbeat]: [_; 4] =
                compiled.try_into().expect("four patterns");
            skills.push(crate::model::FaultSkill {
                name: name.clone(),
                command: raw.command.get_ref().replace("{skill}", name),
                ready: ready?,
                fault: fault?,
                stopped: stopped?,
                heartbeat: heartbeat?,
            });
        }
        Some(crate::model::Faults {
            skills,
            restart_within: restart_within?,
            max_gap: max_gap?,
        })
    }

    /// Each marker's text, its pattern (compiled with `{skill}` as a placeholder) and timeout.
    fn markers<'r>(
        &mut self,
        raw: &'r [raw::MarkerSection],
    ) -> Vec<(&'r S<String>, crate::model::Pattern, std::time::Duration)> {
        let mut markers = Vec::new();
        for marker in raw {
            let within = match parse_duration(marker.within.get_ref()) {
                Ok(duration) => Some(duration),
                Err(message) => {
                    self.error(
                        Diagnostic::new(
                            format!("bad timeout `{}`: {message}", marker.within.get_ref()),
                            marker.within.span(),
                        )
                        .label("not a duration")
                        .help("write a duration such as `5s` or `500ms`"),
                    );
                    None
                }
            };
            if let Some(pattern) = self.pattern(&marker.expect, None)
                && let Some(within) = within
            {
                markers.push((&marker.expect, pattern, within));
            }
        }
        markers
    }

    /// A priority below the police's, or the default.
    fn priority(&mut self, raw: Option<&S<u32>>, default: u8) -> Option<u8> {
        let Some(raw) = raw else { return Some(default) };
        match u8::try_from(*raw.get_ref()) {
            Ok(priority) if priority < crate::model::POLICE_PRIORITY => Some(priority),
            _ => {
                self.error(
                    Diagnostic::new(
                        format!("priority {} is out of range", raw.get_ref()),
                        raw.span(),
                    )
                    .label("0 to 253")
                    .help("seL4 priorities go up to 254, which is the police's; give 0 to 253"),
                );
                None
            }
        }
    }

    /// `text` compiled, with `{skill}` standing for `skill`'s name (escaped), or for a
    /// placeholder when no skill is given; `None` (reported) when it is not a valid pattern.
    fn pattern(&mut self, text: &S<String>, skill: Option<&str>) -> Option<crate::model::Pattern> {
        let name = skill.map_or_else(|| "skill".to_owned(), regex::escape);
        let probe = text.get_ref().replace("{skill}", &name);
        match regex::Regex::new(&probe) {
            Ok(regex) => Some(crate::model::Pattern::new(regex)),
            Err(error) => {
                let detail = error.to_string();
                let last = detail
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .trim_start_matches("error: ")
                    .to_owned();
                self.error(
                    Diagnostic::new(format!("`{}` is not a regular expression: {last}", text.get_ref()), text.span())
                        .label("bad pattern")
                        .help("markers are regular expressions: escape `|`, `(`, `[`, `.` and friends with `\\` to match them as they are"),
                );
                None
            }
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
                    .help("paths are relative to the project root (see `hivebuild check --help`)"),
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
}
