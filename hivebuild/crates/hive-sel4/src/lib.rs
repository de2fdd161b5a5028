//! The seL4 side of a hive: the Microkit system description (`.system` XML) generated from
//! the manifest's capabilities and the board, and the capability graph for least-privilege
//! review.
//!
//! The rules, in one place (the protection domains in `components/` follow the same
//! conventions, written down for C in `components/pd-base/include/hive_protocol.h`):
//! - the **police** is a protection domain at priority 254 and the parent (fault handler) of
//!   every skill, which are its children with ids 0, 1, ... in name order; it maps the
//!   board's console UART and takes its receive interrupt;
//! - the **Brain** is its own protection domain (priority 200 unless the manifest says),
//!   with a scheduling budget of [`BRAIN_BUDGET_US`] per [`HEARTBEAT_US`]: its heartbeat;
//!   skills default to priority 100 and get [`SKILL_QUANTUM_US`] time slices;
//! - each component's `memory` is a memory region of that size mapped read-write at
//!   [`MEMORY_VADDR`], its address in the program's variable `hive_memory`;
//! - the police starts every skill (a lazy one when the Brain asks, by a protected call on
//!   their channel, whose Brain end is `pp`);
//! - channel ids: the police's are the Brain's channel (0), one per skill (1 + child id) and
//!   the console interrupt ([`CONSOLE_IRQ_ID`]); the Brain's are the police's (0) and one per
//!   skill it holds `channel:` to (1 + that skill's child id); a skill's are the police's (0,
//!   its control channel), the Brain's (1) and its other peers' (2, 3, ... in name order);
//! - each Brain–skill channel has a 4 KiB mailbox, mapped in the skill at [`MAILBOX_VADDR`]
//!   and in the Brain at [`MAILBOX_VADDR`] + id × 4 KiB;
//! - `net:`, `store:` and `device:` capabilities are listed in the description as comments:
//!   Microkit has nothing to grant them with yet (the network skill's driver and the Brain's
//!   store enforce them when they exist).

pub mod board;
pub mod graph;

/// What the police protection domain (`components/police/`) answers to on the console and
/// says there, for the tests that drive it.
pub mod police {
    /// Typed on the console: a request for `skill`, which the police passes to the Brain
    /// (which has the police start a lazy skill).
    pub fn ask(skill: &str) -> String {
        format!("ask {skill}")
    }

    /// The police's line with the time from its start of `skill` to the skill's ready
    /// notification, by the generic timer: microseconds in capture group 1. (Skill names
    /// are letters, digits, `-` and `_`: nothing to escape.)
    pub fn ready_in(skill: &str) -> String {
        format!(r"police: {skill} ready in (\d+) us")
    }
}

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hive_manifest::model::POLICE_PRIORITY;
use hive_manifest::{Capability, Manifest};

pub use board::{Board, BoardError, Console, Uart, boards_file, load_board};

/// Where every component's memory is mapped.
pub const MEMORY_VADDR: u64 = 0x2000_0000;
/// Where mailboxes are mapped (in the Brain, one page per channel id from here).
pub const MAILBOX_VADDR: u64 = 0x3000_0000;
pub const MAILBOX_SIZE: u64 = 0x1000;
/// Where the police maps the console UART's page.
pub const CONSOLE_VADDR: u64 = 0x3000_0000;
/// The police's id for the console's receive interrupt (Microkit's last id).
pub const CONSOLE_IRQ_ID: u32 = 61;
/// The Brain's period and budget, in microseconds: it beats once per period.
pub const HEARTBEAT_US: u64 = 100_000;
pub const BRAIN_BUDGET_US: u64 = 2_000;
/// A skill's time slice among skills of its priority (budget = period), in microseconds.
/// Microkit's default (1 ms) cuts console lines of skills booting together into pieces.
pub const SKILL_QUANTUM_US: u64 = 50_000;

/// Protection domain → (peer → channel id).
pub type ChannelIds = BTreeMap<String, BTreeMap<String, u32>>;

/// Channel ids, by the rules above.
pub fn channel_ids(manifest: &Manifest) -> ChannelIds {
    let child: BTreeMap<&str, u32> = manifest
        .skills
        .keys()
        .map(String::as_str)
        .zip(0..)
        .collect();
    let mut ids = ChannelIds::new();
    let police = ids.entry("police".into()).or_default();
    police.insert("brain".into(), 0);
    for (name, id) in &child {
        police.insert((*name).to_owned(), 1 + id);
    }
    let brain = ids.entry("brain".into()).or_default();
    brain.insert("police".into(), 0);
    for capability in &manifest.brain.caps {
        if let Capability::Channel { peer } = capability
            && let Some(id) = child.get(peer.as_str())
        {
            brain.insert(peer.clone(), 1 + id);
        }
    }
    for skill in manifest.skills.values() {
        let mut peers: Vec<&str> = skill
            .caps
            .iter()
            .filter_map(|c| match c {
                Capability::Channel { peer } if peer != "brain" => Some(peer.as_str()),
                _ => None,
            })
            .collect();
        peers.sort_unstable();
        peers.dedup();
        let own = ids.entry(skill.name.clone()).or_default();
        own.insert("police".into(), 0);
        if brain_talks_to(manifest, &skill.name) {
            own.insert("brain".into(), 1);
        }
        for (peer, id) in peers.into_iter().zip(2..) {
            own.insert(peer.to_owned(), id);
        }
    }
    ids
}

/// Whether the Brain and skill `name` share a channel (granted on both sides).
fn brain_talks_to(manifest: &Manifest, name: &str) -> bool {
    hive_manifest::caps::has_channel(&manifest.brain.caps, name)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A component's program, its memory, and (as comments) what Microkit cannot grant yet.
fn component_body(out: &mut String, indent: &str, name: &str, caps: &[Capability]) {
    let _ = writeln!(out, "{indent}<program_image path=\"{name}.elf\" />");
    let _ = writeln!(
        out,
        "{indent}<map mr=\"{name}_memory\" vaddr=\"{MEMORY_VADDR:#x}\" perms=\"rw\" setvar_vaddr=\"hive_memory\" />"
    );
    for capability in caps
        .iter()
        .filter(|c| !matches!(c, Capability::Channel { .. }))
    {
        let _ = writeln!(
            out,
            "{indent}<!-- granted {capability}: not a Microkit object yet -->"
        );
    }
}

fn mailbox(skill: &str) -> String {
    format!("mailbox_brain_{}", escape(skill))
}

/// The Microkit system description of a hive on a board, in document order: memory
/// regions, the police with the skills as its children, the Brain, then the channels.
pub fn system_xml(manifest: &Manifest, board: &Board) -> String {
    let ids = channel_ids(manifest);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<!-- Generated by hivebuild from {} (hive `{}` {}) for board {}. -->",
        escape(&manifest.file.display().to_string()),
        manifest.hive.name,
        manifest.hive.version,
        escape(&board.name),
    );
    out.push_str("<system>\n");
    memory_regions(&mut out, manifest, board, &ids["brain"]);
    out.push('\n');
    police_pd(&mut out, manifest, board, &ids["brain"]);
    brain_pd(&mut out, manifest, &ids["brain"]);
    channels(&mut out, &ids);
    out.push_str("</system>\n");
    out
}

/// The Brain's, each skill's and each mailbox's memory, and the console's registers.
fn memory_regions(
    out: &mut String,
    manifest: &Manifest,
    board: &Board,
    brain_ids: &BTreeMap<String, u32>,
) {
    let _ = writeln!(
        out,
        "    <memory_region name=\"brain_memory\" size=\"{:#x}\" />",
        manifest.brain.memory.0
    );
    for skill in manifest.skills.values() {
        let _ = writeln!(
            out,
            "    <memory_region name=\"{}_memory\" size=\"{:#x}\" />",
            escape(&skill.name),
            skill.memory.0
        );
    }
    for skill in brain_ids.keys().filter(|peer| *peer != "police") {
        let _ = writeln!(
            out,
            "    <memory_region name=\"{}\" size=\"{MAILBOX_SIZE:#x}\" />",
            mailbox(skill)
        );
    }
    let _ = writeln!(
        out,
        "    <memory_region name=\"console\" size=\"0x1000\" phys_addr=\"{:#x}\" />",
        board.console.page
    );
}

/// The police, holding the console's receive side, with each skill a child it restarts.
fn police_pd(
    out: &mut String,
    manifest: &Manifest,
    board: &Board,
    brain_ids: &BTreeMap<String, u32>,
) {
    let _ = writeln!(
        out,
        "    <protection_domain name=\"police\" priority=\"{POLICE_PRIORITY}\">"
    );
    out.push_str("        <program_image path=\"police.elf\" />\n");
    let _ = writeln!(
        out,
        "        <!-- the console's receive side ({}) -->\n        <map mr=\"console\" vaddr=\"{CONSOLE_VADDR:#x}\" perms=\"rw\" cached=\"false\" setvar_vaddr=\"console_regs\" />\n        <irq irq=\"{}\" id=\"{CONSOLE_IRQ_ID}\" />",
        board.console.uart.as_str(),
        board.console.irq
    );
    for (child, skill) in manifest.skills.values().enumerate() {
        let name = escape(&skill.name);
        let _ = writeln!(
            out,
            "        <!-- restart {}, limit {}{} -->",
            skill.restart.as_str(),
            skill.restart_limit,
            if skill.lazy { ", lazy" } else { "" }
        );
        let _ = writeln!(
            out,
            "        <protection_domain name=\"{name}\" priority=\"{}\" id=\"{child}\" budget=\"{SKILL_QUANTUM_US}\" period=\"{SKILL_QUANTUM_US}\">",
            skill.priority
        );
        component_body(out, "            ", &name, &skill.caps);
        if brain_ids.contains_key(&skill.name) {
            let _ = writeln!(
                out,
                "            <map mr=\"{}\" vaddr=\"{MAILBOX_VADDR:#x}\" perms=\"rw\" />",
                mailbox(&skill.name)
            );
        }
        out.push_str("        </protection_domain>\n");
    }
    out.push_str("    </protection_domain>\n\n");
}

/// The Brain, with a mailbox mapped for each skill it talks to.
fn brain_pd(out: &mut String, manifest: &Manifest, brain_ids: &BTreeMap<String, u32>) {
    let _ = writeln!(
        out,
        "    <protection_domain name=\"brain\" priority=\"{}\" budget=\"{BRAIN_BUDGET_US}\" period=\"{HEARTBEAT_US}\">",
        manifest.brain.priority
    );
    component_body(out, "        ", "brain", &manifest.brain.caps);
    for (skill, id) in brain_ids.iter().filter(|(peer, _)| *peer != "police") {
        let _ = writeln!(
            out,
            "        <map mr=\"{}\" vaddr=\"{:#x}\" perms=\"rw\" />",
            mailbox(skill),
            MAILBOX_VADDR + u64::from(*id) * MAILBOX_SIZE
        );
    }
    out.push_str("    </protection_domain>\n");
}

/// Each channel once, in name order; a pair exists when both ends have an id for it.
fn channels(out: &mut String, ids: &ChannelIds) {
    for (owner, peers) in ids {
        for (peer, id) in peers {
            let Some(back) = ids.get(peer).and_then(|p| p.get(owner)) else {
                continue;
            };
            if owner < peer {
                // The Brain calls the police (a protected procedure call: start a skill,
                // take the news); the police's priority is above the Brain's.
                let pp = if (owner.as_str(), peer.as_str()) == ("brain", "police") {
                    " pp=\"true\""
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    "\n    <channel>\n        <end pd=\"{}\" id=\"{id}\"{pp} />\n        <end pd=\"{}\" id=\"{back}\" />\n    </channel>\n",
                    escape(owner),
                    escape(peer)
                );
            }
        }
    }
}
