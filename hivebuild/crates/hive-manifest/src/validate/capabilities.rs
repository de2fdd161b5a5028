//! Capabilities: each parses, is granted once, fits its holder, and channels are two-sided
//! between components that exist.

use std::collections::BTreeSet;
use std::ops::Range;

use super::{Checker, Granted};
use crate::Component;
use crate::caps::{Capability, KINDS};
use crate::diagnostic::Diagnostic;
use crate::raw::S;

impl Checker<'_> {
    pub(super) fn capabilities(
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
            let channels = caps.iter().filter(|(c, _)| c.kind() == "channel").count();
            if capability.kind() == "channel" && channels == crate::model::MAX_CHANNELS {
                self.error(
                    Diagnostic::new(
                        format!(
                            "{component} has more than {} channels",
                            crate::model::MAX_CHANNELS
                        ),
                        text.span(),
                    )
                    .label("over Microkit's limit")
                    .help("a protection domain has 62 channel ids (Microkit's 0–61), and two are kept for the police and the Brain"),
                );
            }
            caps.push((capability, text.span()));
        }
        let result = caps.iter().map(|(c, _)| c.clone()).collect();
        granted.push(Granted { component, caps });
        result
    }

    /// Every channel names an existing peer, and the peer declares the channel back.
    pub(super) fn check_channels(&mut self, granted: &[Granted], skill_names: &BTreeSet<String>) {
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
