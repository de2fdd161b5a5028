//! `[brain]`, `[skills.*]` and `[update]`.

use std::collections::BTreeMap;
use std::ops::Range;

use toml_edit::Item;

use super::{Checker, Granted};
use crate::Component;
use crate::diagnostic::Diagnostic;
use crate::model::{
    Argument, ArgumentKind, Brain, DEFAULT_BRAIN_MEMORY, DEFAULT_RESTART_LIMIT,
    DEFAULT_SKILL_MEMORY, Interface, Peer, Restart, Skill, SkillBuild, Update,
};
use crate::raw::{self, S, section};
use crate::units::parse_duration;

impl Checker<'_> {
    pub(super) fn brain(&mut self, raw: &raw::Brain, granted: &mut Vec<Granted>) -> Option<Brain> {
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
        let priority = self.priority(raw.priority.as_ref(), crate::model::DEFAULT_BRAIN_PRIORITY);
        Some(Brain {
            path: path?,
            memory: memory?,
            caps,
            features: raw.features.clone(),
            priority: priority?,
        })
    }

    pub(super) fn raw_skills(
        &mut self,
        item: Option<&Item>,
    ) -> BTreeMap<String, (raw::Skill, Range<usize>)> {
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

    pub(super) fn skill(
        &mut self,
        name: String,
        (raw, span): (raw::Skill, Range<usize>),
        granted: &mut Vec<Granted>,
        known_peers: &BTreeMap<String, Peer>,
    ) -> Option<Skill> {
        let build = match (&raw.template, &raw.path) {
            (Some(template), None) => {
                if self.layers.template(template.get_ref()).is_some() {
                    Some(SkillBuild::Template(template.get_ref().clone()))
                } else {
                    let known = self.layers.known_templates().join("`, `");
                    self.error(
                        Diagnostic::new(
                            format!("unknown skill template `{}`", template.get_ref()),
                            template.span(),
                        )
                        .label("no such folder in `unikraft-templates/`")
                        .help(format!(
                            "use one of the templates `{known}`, or give the skill a `path`"
                        )),
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
        let priority = self.priority(raw.priority.as_ref(), crate::model::DEFAULT_SKILL_PRIORITY);
        let peers = self.peers(&name, &raw.peers, &caps, known_peers);
        let interface = match raw.interface {
            None => Some(None),
            Some(interface) => Some(Some(self.interface(&name, interface, !peers.is_empty()))),
        };
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
            priority: priority?,
            interface: interface?,
            peers,
        })
    }

    /// `[peers.NAME]`: other hives, each by its key and, if it can be sent to, its address.
    pub(super) fn peers_section(&mut self, item: Option<&Item>) -> BTreeMap<String, Peer> {
        let mut peers: BTreeMap<String, Peer> = BTreeMap::new();
        for (name, item) in self.named_tables(item, "peers") {
            let Some(raw) =
                section::<raw::Peer>(item, &format!("peers.{name}"), &mut self.diagnostics)
            else {
                continue;
            };
            let address = raw.address.as_ref().and_then(|text| {
                let parsed = text.get_ref().parse::<std::net::SocketAddrV4>();
                match parsed {
                    Ok(address) if address.port() != 0 => Some(address),
                    _ => {
                        self.error(
                            Diagnostic::new(
                                format!("bad peer address `{}`", text.get_ref()),
                                text.span(),
                            )
                            .label("not an IPv4 address and port")
                            .help("write where the peer's network skill listens, e.g. `127.0.0.1:4101`"),
                        );
                        None
                    }
                }
            });
            let Some(key) = self.peer_key(&raw.key) else {
                continue;
            };
            if let Some(other) = peers.values().find(|p| p.key == key) {
                self.error(
                    Diagnostic::new(
                        format!("peers `{}` and `{name}` have the same key", other.name),
                        raw.key.span(),
                    )
                    .label("the same key as before")
                    .help("each peer hive has a key of its own"),
                );
                continue;
            }
            peers.insert(name.clone(), Peer { name, key, address });
        }
        peers
    }

    /// An ed25519 public key: 64 hex digits.
    fn peer_key(&mut self, key: &S<String>) -> Option<[u8; 32]> {
        let mut bytes = [0_u8; 32];
        let text = key.get_ref();
        // ASCII first: 64 bytes of other text may cut a character in two (found by fuzzing).
        let parsed = text.len() == 64
            && text.is_ascii()
            && bytes.iter_mut().enumerate().all(|(i, byte)| {
                u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                    .map(|b| *byte = b)
                    .is_ok()
            });
        if parsed {
            Some(bytes)
        } else {
            self.error(
                Diagnostic::new(format!("bad peer key `{text}`"), key.span())
                    .label("not an ed25519 public key")
                    .help("write the peer hive's public key as 64 hex digits"),
            );
            None
        }
    }

    /// A skill's `peers`: keys (64 hex digits) or names of `[peers.NAME]`, of a skill on the
    /// network.
    fn peers(
        &mut self,
        skill: &str,
        raw: &[S<String>],
        caps: &[crate::Capability],
        known: &BTreeMap<String, Peer>,
    ) -> Vec<[u8; 32]> {
        let on_network = crate::caps::net_ports(caps).next().is_some();
        let mut keys = Vec::new();
        for entry in raw {
            if !on_network {
                self.error(
                    Diagnostic::new(
                        format!("skill `{skill}` has peers but no `net:` capability"),
                        entry.span(),
                    )
                    .label("nothing reaches this skill from a peer")
                    .help("grant it a port (`net:udp:4001`) or remove `peers`"),
                );
                return Vec::new();
            }
            let text = entry.get_ref();
            let key = if let Some(peer) = known.get(text) {
                peer.key
            } else if text.len() == 64 || !crate::is_identifier(text) {
                let Some(key) = self.peer_key(entry) else {
                    continue;
                };
                key
            } else {
                self.error(
                    Diagnostic::new(format!("no peer `{text}`"), entry.span())
                        .label("not a `[peers]` entry")
                        .help(format!(
                            "add `[peers.{text}]` with its `key` (and `address`), or write the key itself"
                        )),
                );
                continue;
            };
            if keys.contains(&key) {
                self.error(
                    Diagnostic::new(format!("peer `{text}` is listed twice"), entry.span())
                        .label("listed before"),
                );
            } else {
                keys.push(key);
            }
        }
        keys
    }

    /// `sends`: the skill has `peers` (a `peer` argument names one of them).
    fn interface(&mut self, skill: &str, raw: raw::Interface, sends: bool) -> Interface {
        let description = raw.description.get_ref().trim();
        if description.is_empty() || description.contains('\n') {
            self.error(
                Diagnostic::new(
                    format!("skill `{skill}` needs a one-line description"),
                    raw.description.span(),
                )
                .label("empty or several lines")
                .help("the planner's router compares a request with this line: say what the skill does, e.g. \"extract the text of a PDF document\""),
            );
        }
        let mut request = Vec::new();
        let mut files = 0;
        let mut peer_span = None;
        for (name, kind) in raw.request {
            let parsed = ArgumentKind::parse(kind.get_ref());
            let Some(parsed) = parsed else {
                self.error(
                    Diagnostic::new(
                        format!("unknown argument kind `{}`", kind.get_ref()),
                        kind.span(),
                    )
                    .label(format!("the kind of `{name}`"))
                    .help("use `text`, `integer`, `file`, `peer` or `one-of:WORD|WORD`"),
                );
                continue;
            };
            if parsed == ArgumentKind::File {
                files += 1;
                if files > 1 {
                    self.error(
                        Diagnostic::new(
                            format!("skill `{skill}` takes more than one file"),
                            kind.span(),
                        )
                        .label("a second `file` argument")
                        .help("a job carries one file's bytes: keep one `file` argument"),
                    );
                }
            }
            if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') || name.is_empty() {
                self.error(
                    Diagnostic::new(format!("bad argument name `{name}`"), kind.span())
                        .label("argument declared here")
                        .help("argument names are lower-case words joined by `_`"),
                );
            }
            if parsed == ArgumentKind::Peer {
                peer_span = Some(kind.span());
            }
            request.push(Argument { name, kind: parsed });
        }
        if let Some(span) = peer_span {
            let messages = request
                .iter()
                .filter(|a| a.kind == ArgumentKind::Text)
                .count();
            if !sends {
                self.error(
                    Diagnostic::new(format!("skill `{skill}` takes a peer but has no `peers`"), span)
                        .label("a `peer` argument")
                        .help("list the hives it may reach in its `peers` (names of `[peers.NAME]` with an `address`)"),
                );
            } else if request.len() != 2 || messages != 1 {
                self.error(
                    Diagnostic::new(
                        format!("skill `{skill}`'s request takes a peer and one message"),
                        span,
                    )
                    .label("a `peer` argument")
                    .help("a request with a `peer` has exactly one other argument, of kind `text`: the message the Brain signs and sends"),
                );
            }
        }
        Interface {
            description: description.to_owned(),
            request,
        }
    }

    pub(super) fn update(&mut self, raw: raw::Update) -> Update {
        self.identifier(&raw.channel, "update channel");
        Update {
            channel: raw.channel.into_inner(),
            trust_root: raw.trust_root.into_inner(),
        }
    }
}
