//! The capability graph: who can talk to whom, who has network, stores, devices and memory.
//! For people reviewing a hive's privileges (`hivebuild caps`).

use std::fmt::Write as _;

use hive_manifest::{Capability, Manifest};

struct Node<'a> {
    name: &'a str,
    memory: String,
    caps: &'a [Capability],
    notes: String,
}

/// One component of the graph, for machines (`hivebuild caps --json`).
#[derive(Debug, serde::Serialize)]
pub struct Component {
    pub name: String,
    pub memory: String,
    pub caps: Vec<String>,
    pub notes: String,
}

/// The Brain and every skill with the capabilities the manifest grants them.
pub fn components(manifest: &Manifest) -> Vec<Component> {
    nodes(manifest)
        .into_iter()
        .map(|node| Component {
            name: node.name.to_owned(),
            memory: node.memory,
            caps: node.caps.iter().map(ToString::to_string).collect(),
            notes: node.notes,
        })
        .collect()
}

fn nodes(manifest: &Manifest) -> Vec<Node<'_>> {
    let mut nodes = vec![Node {
        name: "brain",
        memory: manifest.brain.memory.to_string(),
        caps: &manifest.brain.caps,
        notes: format!("priority {}", manifest.brain.priority),
    }];
    for skill in manifest.skills.values() {
        nodes.push(Node {
            name: &skill.name,
            memory: skill.memory.to_string(),
            caps: &skill.caps,
            notes: format!(
                "priority {}, restart {}{}",
                skill.priority,
                match skill.restart {
                    hive_manifest::model::Restart::Never => "never".to_owned(),
                    restart => format!("{} (limit {})", restart.as_str(), skill.restart_limit),
                },
                if skill.lazy { ", lazy" } else { "" }
            ),
        });
    }
    nodes
}

fn of_kind(caps: &[Capability], kind: &str) -> Vec<String> {
    caps.iter()
        .filter(|c| c.kind() == kind)
        .map(|c| {
            c.to_string()
                .split_once(':')
                .map_or_else(String::new, |(_, rest)| rest.to_owned())
        })
        .collect()
}

/// A table for people.
pub fn to_text(manifest: &Manifest) -> String {
    let mut out = format!(
        "capabilities of hive `{}` {}\n",
        manifest.hive.name, manifest.hive.version
    );
    let skills: Vec<&str> = manifest.skills.keys().map(String::as_str).collect();
    let _ = writeln!(
        out,
        "  police: fault handler and control channel of {}; channel to brain; console input",
        if skills.is_empty() {
            "nothing".to_owned()
        } else {
            skills.join(", ")
        }
    );
    for node in nodes(manifest) {
        let _ = writeln!(
            out,
            "  {}: memory {}, {}",
            node.name, node.memory, node.notes
        );
        for (kind, label) in [
            ("channel", "talks to"),
            ("net", "network"),
            ("store", "stores"),
            ("device", "devices"),
        ] {
            let list = of_kind(node.caps, kind);
            if !list.is_empty() {
                let _ = writeln!(out, "      {label}: {}", list.join(", "));
            }
        }
    }
    out
}

/// Graphviz DOT: components as boxes, channels as two-way edges, the police's fault edges
/// dashed, network, stores and devices as their own nodes.
pub fn to_dot(manifest: &Manifest) -> String {
    let mut out = format!(
        "graph \"{}\" {{\n  node [shape=box];\n  police [style=bold];\n  police -- brain [label=\"faults\"];\n",
        manifest.hive.name
    );
    for skill in manifest.skills.keys() {
        let _ = writeln!(
            out,
            "  police -- \"{skill}\" [style=dashed, label=\"parent\"];"
        );
    }
    for node in nodes(manifest) {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"];",
            node.name, node.name, node.memory
        );
        for peer in of_kind(node.caps, "channel") {
            if node.name < peer.as_str() {
                let _ = writeln!(out, "  \"{}\" -- \"{peer}\";", node.name);
            }
        }
        for (kind, shape) in [
            ("net", "ellipse"),
            ("store", "cylinder"),
            ("device", "component"),
        ] {
            for what in of_kind(node.caps, kind) {
                let _ = writeln!(
                    out,
                    "  \"{kind}:{what}\" [shape={shape}, label=\"{kind} {what}\"];\n  \"{}\" -- \"{kind}:{what}\" [color=red];",
                    node.name
                );
            }
        }
    }
    out.push_str("}\n");
    out
}
