//! Editing a manifest in place (`hivebuild skill add` / `skill remove`). `toml_edit` keeps
//! every comment and the layout; a new skill's table goes right after the last skill's.
//! Channels are two-sided, so an edit keeps both sides: adding a skill with `channel:PEER`
//! gives PEER `channel:NAME`, and removing a skill takes `channel:NAME` from every other
//! component. These functions only make the new text; the caller validates it as `check`
//! does ([`crate::parse_manifest`]) before anything is written.

use toml_edit::{Array, DocumentMut, Item, Table, value};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the manifest cannot be edited: {0}")]
    Syntax(String),
    #[error(
        "`{0}` is not a usable skill name (lowercase letters, digits, `-` and `_`, starting with a letter)"
    )]
    BadName(String),
    #[error("the hive already has a skill `{0}`")]
    Exists(String),
    #[error("the hive has no skill `{name}`{}", if known.is_empty() { String::new() } else { format!(" (it has `{}`)", known.join("`, `")) })]
    NoSuchSkill { name: String, known: Vec<String> },
    #[error("`{0}` in the manifest is not a table")]
    NotATable(String),
}

/// A skill to add: built from a template or a folder, with what it may touch.
#[derive(Clone, Debug, Default)]
pub struct NewSkill {
    pub name: String,
    /// A folder of `unikraft-templates/`.
    pub template: Option<String>,
    /// The skill's own sources, relative to the project.
    pub path: Option<String>,
    pub memory: Option<String>,
    pub caps: Vec<String>,
}

/// The edited text, and what else the edit changed (for the user to read).
#[derive(Debug)]
pub struct Edited {
    pub text: String,
    pub also: Vec<String>,
}

/// `text` with `[skills.NAME]` added after the last skill, and the other side of each of its
/// channels.
pub fn add_skill(text: &str, skill: &NewSkill) -> Result<Edited, EditError> {
    if !crate::is_identifier(&skill.name) || skill.name == "brain" {
        return Err(EditError::BadName(skill.name.clone()));
    }
    let mut document = parse(text)?;
    let last_skill = skill_tables(&document).filter_map(Table::position).max();
    let skills = document
        .entry("skills")
        .or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        })
        .as_table_mut()
        .ok_or_else(|| EditError::NotATable("skills".into()))?;
    if skills.contains_key(&skill.name) {
        return Err(EditError::Exists(skill.name.clone()));
    }
    let mut table = Table::new();
    if let Some(template) = &skill.template {
        table["template"] = value(template.as_str());
    }
    if let Some(path) = &skill.path {
        table["path"] = value(path.as_str());
    }
    if let Some(memory) = &skill.memory {
        table["memory"] = value(memory.as_str());
    }
    table["caps"] = value(skill.caps.iter().map(String::as_str).collect::<Array>());
    skills.insert(&skill.name, Item::Table(table));

    // Right after the last skill: later tables move down one place.
    if let Some(last) = last_skill {
        shift_positions(document.as_table_mut(), last);
        if let Some(table) = document["skills"][skill.name.as_str()].as_table_mut() {
            table.set_position(Some(last + 1));
        }
    }

    let mut also = Vec::new();
    let own = format!("channel:{}", skill.name);
    for cap in &skill.caps {
        let Some(peer) = cap.strip_prefix("channel:") else {
            continue;
        };
        let Some(caps) = caps_of(&mut document, peer) else {
            continue; // no such peer: validation names it
        };
        if !caps.iter().any(|c| c.as_str() == Some(own.as_str())) {
            caps.push(own.as_str());
            also.push(format!("gave `{peer}` `{own}`"));
        }
    }
    Ok(Edited {
        text: document.to_string(),
        also,
    })
}

/// `text` without `[skills.NAME]`, and without `channel:NAME` in any other component's caps.
pub fn remove_skill(text: &str, name: &str) -> Result<Edited, EditError> {
    let mut document = parse(text)?;
    let known: Vec<String> = document
        .get("skills")
        .and_then(Item::as_table)
        .map(|skills| skills.iter().map(|(key, _)| key.to_owned()).collect())
        .unwrap_or_default();
    let removed = document
        .get_mut("skills")
        .and_then(Item::as_table_mut)
        .and_then(|skills| skills.remove(name));
    if removed.is_none() {
        return Err(EditError::NoSuchSkill {
            name: name.to_owned(),
            known,
        });
    }
    let own = format!("channel:{name}");
    let mut also = Vec::new();
    let peers = std::iter::once("brain".to_owned()).chain(known.into_iter().filter(|k| k != name));
    for peer in peers {
        if let Some(caps) = caps_of(&mut document, &peer) {
            let before = caps.len();
            caps.retain(|c| c.as_str() != Some(own.as_str()));
            if caps.len() != before {
                also.push(format!("took `{own}` from `{peer}`"));
            }
        }
    }
    Ok(Edited {
        text: document.to_string(),
        also,
    })
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|error| EditError::Syntax(error.message().to_owned()))
}

fn skill_tables(document: &DocumentMut) -> impl Iterator<Item = &Table> {
    document
        .get("skills")
        .and_then(Item::as_table)
        .into_iter()
        .flat_map(|skills| skills.iter().filter_map(|(_, item)| item.as_table()))
}

/// The `caps` array of `brain` or of skill `name`, if it has one.
fn caps_of<'a>(document: &'a mut DocumentMut, name: &str) -> Option<&'a mut Array> {
    // `Table::get_mut` looks up without inserting (indexing an `Item` would insert).
    let root = document.as_table_mut();
    let table = if name == "brain" {
        root.get_mut("brain")?
    } else {
        root.get_mut("skills")?.as_table_mut()?.get_mut(name)?
    };
    table.as_table_like_mut()?.get_mut("caps")?.as_array_mut()
}

/// Every table placed after `after` moves down one place.
fn shift_positions(table: &mut Table, after: isize) {
    if let Some(position) = table.position()
        && position > after
    {
        table.set_position(Some(position + 1));
    }
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(child) => shift_positions(child, after),
            Item::ArrayOfTables(array) => {
                for child in array.iter_mut() {
                    shift_positions(child, after);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"# A hive.
[hive]
name = "x"   # its name

[brain]
caps = ["channel:net"]   # who the Brain talks to

# The network skill.
[skills.net]
template = "net-listener"
caps = ["channel:brain"]

[update]
channel = "stable"
"#;

    #[test]
    fn add_keeps_comments_and_puts_the_skill_after_the_last_one() {
        let edited = add_skill(
            MANIFEST,
            &NewSkill {
                name: "pdf".into(),
                path: Some("skills/pdf".into()),
                caps: vec!["channel:brain".into()],
                ..NewSkill::default()
            },
        )
        .unwrap();
        assert_eq!(
            edited.text,
            r#"# A hive.
[hive]
name = "x"   # its name

[brain]
caps = ["channel:net", "channel:pdf"]   # who the Brain talks to

# The network skill.
[skills.net]
template = "net-listener"
caps = ["channel:brain"]

[skills.pdf]
path = "skills/pdf"
caps = ["channel:brain"]

[update]
channel = "stable"
"#
        );
        assert_eq!(edited.also, ["gave `brain` `channel:pdf`"]);

        let removed = remove_skill(&edited.text, "pdf").unwrap();
        assert_eq!(removed.text, MANIFEST, "remove undoes add");
        assert_eq!(removed.also, ["took `channel:pdf` from `brain`"]);
    }

    #[test]
    fn names_and_existence_are_checked() {
        let add = |name: &str| {
            add_skill(
                MANIFEST,
                &NewSkill {
                    name: name.into(),
                    template: Some("t".into()),
                    ..NewSkill::default()
                },
            )
        };
        assert!(matches!(add("net"), Err(EditError::Exists(_))));
        let stranger = add_skill(
            MANIFEST,
            &NewSkill {
                name: "ocr".into(),
                template: Some("t".into()),
                caps: vec!["channel:nobody".into()],
                ..NewSkill::default()
            },
        )
        .unwrap();
        assert!(
            !stranger.text.contains("nobody ="),
            "a peer that is not there is left for validation to name: {}",
            stranger.text
        );
        assert!(matches!(add("Net"), Err(EditError::BadName(_))));
        assert!(matches!(add("brain"), Err(EditError::BadName(_))));
        let error = remove_skill(MANIFEST, "pdf").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the hive has no skill `pdf` (it has `net`)"
        );
    }
}
