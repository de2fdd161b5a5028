//! The grammar the LLM fills a skill's request under: a JSON object with exactly the skill's
//! arguments, in order, each value of its kind. Written in llama.cpp's GBNF; the model cannot
//! produce anything else, so a 135M model's arguments always parse.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::card::{Kind, SkillCard};

/// The words of `request` that look like file paths (plain path characters, with a `.` or
/// a `/`, not starting with `.` or `/`): a `file` argument is one of them when there are any.
pub fn paths_in(request: &str) -> Vec<String> {
    let mut paths: Vec<String> = request
        .split_whitespace()
        .map(|w| w.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']))
        .map(|w| w.trim_start_matches(['(', '"', '\'']))
        .filter(|w| {
            w.len() <= 120
                && (w.contains('.') || w.contains('/'))
                && w.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        })
        .map(String::from)
        .collect();
    paths.dedup();
    paths
}

/// The GBNF of `skill`'s request object (its start rule is `root`). A `file` argument is one
/// of `paths` (the request's own, [`paths_in`]) when there are any, else any relative path; a
/// `peer` argument is one of `peers` (names: the caller has checked there is one).
pub fn request(skill: &SkillCard, paths: &[String], peers: &[String]) -> String {
    let mut root = String::from("root ::= \"{\" ");
    for (i, argument) in skill.request.iter().enumerate() {
        if i > 0 {
            root.push_str("\", \" ");
        }
        root.push_str(&format!(
            "\"\\\"{}\\\": \" {} ",
            argument.name,
            value_rule(&argument.kind)
        ));
    }
    root.push_str("\"}\"\n");
    root.push_str(concat!(
        // One line of text, no quotes or backslashes to escape, at most 200 characters.
        "text ::= \"\\\"\" [^\"\\\\\\n]{1,200} \"\\\"\"\n",
        "integer ::= \"-\"? [0-9]{1,18}\n",
    ));
    if paths.is_empty() {
        // A relative path of plain characters.
        root.push_str("path ::= \"\\\"\" [a-zA-Z0-9_] [a-zA-Z0-9_./-]{0,120} \"\\\"\"\n");
    } else {
        root.push_str("path ::= ");
        root.push_str(&alternatives(paths));
        root.push('\n');
    }
    if !peers.is_empty() {
        root.push_str("peer ::= ");
        root.push_str(&alternatives(peers));
        root.push('\n');
    }
    root
}

fn value_rule(kind: &Kind) -> String {
    match kind {
        Kind::Text => "text".into(),
        Kind::Integer => "integer".into(),
        Kind::File => "path".into(),
        Kind::OneOf(words) => alternatives(words),
        Kind::Peer => "peer".into(),
    }
}

/// `("\"a\"" | "\"b\"")`: one of `words`, quoted (plain characters only, as the manifest
/// and [`paths_in`] allow).
fn alternatives(words: &[String]) -> String {
    let mut rule = String::from("(");
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            rule.push_str(" | ");
        }
        rule.push_str(&format!("\"\\\"{word}\\\"\""));
    }
    rule.push(')');
    rule
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::card::Argument;

    #[test]
    fn a_request_is_an_object_of_the_declared_arguments_in_order() {
        let skill = SkillCard {
            name: "pdf".into(),
            description: "extract the text of a PDF document".into(),
            request: vec![
                Argument {
                    name: "mode".into(),
                    kind: Kind::OneOf(vec!["text".into(), "title".into()]),
                },
                Argument {
                    name: "path".into(),
                    kind: Kind::File,
                },
            ],
        };
        let grammar = request(&skill, &[], &[]);
        let root = grammar.lines().next().unwrap();
        assert_eq!(
            root,
            r#"root ::= "{" "\"mode\": " ("\"text\"" | "\"title\"") ", " "\"path\": " path "}""#
        );
        assert!(
            grammar.contains("\npath ::= \"\\\"\" [a-zA-Z0-9_]"),
            "{grammar}"
        );
        let paths = paths_in("extract the text of samples/report.pdf, then of (b.pdf).");
        assert_eq!(paths, ["samples/report.pdf", "b.pdf"]);
        let grammar = request(&skill, &paths, &[]);
        assert!(
            grammar.contains(r#"path ::= ("\"samples/report.pdf\"" | "\"b.pdf\"")"#),
            "{grammar}"
        );
    }

    #[test]
    fn a_peer_argument_is_one_of_the_peers_the_brain_may_send_to() {
        let skill = SkillCard {
            name: "net".into(),
            description: "send a message to a peer hive".into(),
            request: vec![
                Argument {
                    name: "peer".into(),
                    kind: Kind::Peer,
                },
                Argument {
                    name: "text".into(),
                    kind: Kind::Text,
                },
            ],
        };
        let grammar = request(&skill, &[], &["alice".into(), "bob".into()]);
        assert!(
            grammar.starts_with(r#"root ::= "{" "\"peer\": " peer ", " "\"text\": " text "}""#),
            "{grammar}"
        );
        assert!(
            grammar.contains(r#"peer ::= ("\"alice\"" | "\"bob\"")"#),
            "{grammar}"
        );
    }

    #[test]
    fn only_plain_relative_paths_are_taken_from_a_request() {
        assert_eq!(
            paths_in("read /etc/passwd and ../up.txt and a\"b.pdf and ok.txt"),
            ["ok.txt"]
        );
        assert!(paths_in("no paths here").is_empty());
    }
}
