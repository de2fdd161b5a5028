//! Derivations: what `derivation { ... }` makes, written in `ATerm` form, with the output and
//! `.drv` paths Nix computes for them (`hashDerivationModulo`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use crate::path::{STORE_DIR, fixed_source_path, hex, make_store_path, text_path};

/// A derivation with one output, `out`, as `derivation { ... }` describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Derivation {
    pub name: String,
    pub system: String,
    pub builder: String,
    pub args: Vec<String>,
    /// Attributes besides `name`, `system`, `builder` and `out` (and a fixed output's
    /// `outputHash`, `outputHashAlgo`, `outputHashMode`), which are added as Nix adds them.
    pub env: BTreeMap<String, String>,
    /// `.drv` paths of the derivations whose `out` this one reads.
    pub input_drvs: BTreeSet<String>,
    /// Store paths (sources) this one reads.
    pub input_srcs: BTreeSet<String>,
    /// A fixed output: the sha256 of its NAR (`outputHashMode = "recursive"`).
    pub fixed: Option<[u8; 32]>,
}

/// A derivation with its paths: what `nix-instantiate` would have written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub drv_path: String,
    pub out_path: String,
    /// The `.drv` file's contents.
    pub aterm: String,
    /// What the `.drv` file refers to: its input derivations and sources.
    pub references: BTreeSet<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DerivationError {
    /// An input derivation was not added to the set first.
    UnknownInput { name: String, input: String },
    /// A name Nix does not accept in a store path.
    InvalidName(String),
}

impl std::fmt::Display for DerivationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownInput { name, input } => {
                write!(
                    f,
                    "derivation `{name}` reads `{input}`, which was not added before it"
                )
            }
            Self::InvalidName(name) => write!(f, "`{name}` is not a valid store path name"),
        }
    }
}

impl std::error::Error for DerivationError {}

/// Derivations added in dependency order, each one's paths computed from those before it.
#[derive(Debug, Default)]
pub struct DerivationSet {
    /// `.drv` path → its `hashDerivationModulo`.
    modulo: HashMap<String, [u8; 32]>,
}

impl DerivationSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Compute the derivation's paths and its `.drv` text.
    pub fn add(&mut self, drv: &Derivation) -> Result<Planned, DerivationError> {
        if !crate::is_valid_name(&drv.name) || !crate::is_valid_name(&format!("{}.drv", drv.name)) {
            return Err(DerivationError::InvalidName(drv.name.clone()));
        }
        let mut modulo_inputs = BTreeSet::new();
        for input in &drv.input_drvs {
            let hash = self
                .modulo
                .get(input)
                .ok_or_else(|| DerivationError::UnknownInput {
                    name: drv.name.clone(),
                    input: input.clone(),
                })?;
            modulo_inputs.insert(hex(hash));
        }
        let modulo_inputs: Vec<String> = modulo_inputs.into_iter().collect();
        let real_inputs: Vec<String> = drv.input_drvs.iter().cloned().collect();

        let (out_path, modulo) = if let Some(nar) = &drv.fixed {
            let out = fixed_source_path(nar, &drv.name);
            let fingerprint = format!("fixed:out:r:sha256:{}:{out}", hex(nar));
            (out, Sha256::digest(fingerprint.as_bytes()).into())
        } else {
            // The output path comes from the derivation with its output masked.
            let masked = unparse(drv, "", &modulo_inputs);
            let hash: [u8; 32] = Sha256::digest(masked.as_bytes()).into();
            let out = make_store_path("output:out", &hash, &drv.name);
            let modulo = Sha256::digest(unparse(drv, &out, &modulo_inputs).as_bytes());
            (out, modulo.into())
        };
        let aterm = unparse(drv, &out_path, &real_inputs);
        let references: BTreeSet<String> = drv
            .input_drvs
            .iter()
            .chain(&drv.input_srcs)
            .cloned()
            .collect();
        let drv_path = text_path(
            &format!("{}.drv", drv.name),
            aterm.as_bytes(),
            references.iter().map(String::as_str),
        );
        self.modulo.insert(drv_path.clone(), modulo);
        Ok(Planned {
            drv_path,
            out_path,
            aterm,
            references,
        })
    }
}

/// The `ATerm` text, with `out` at `out` (empty: masked) and the input derivations named by
/// `inputs` (their paths, or the hex of their `hashDerivationModulo`), each giving `out`.
fn unparse(drv: &Derivation, out: &str, inputs: &[String]) -> String {
    let mut env = drv.env.clone();
    env.insert("name".into(), drv.name.clone());
    env.insert("system".into(), drv.system.clone());
    env.insert("builder".into(), drv.builder.clone());
    env.insert("out".into(), out.to_owned());
    let (algo, hash) = match &drv.fixed {
        Some(nar) => {
            env.insert("outputHash".into(), nix_base32::to_nix_base32(nar));
            env.insert("outputHashAlgo".into(), "sha256".into());
            env.insert("outputHashMode".into(), "recursive".into());
            ("r:sha256".to_owned(), hex(nar))
        }
        None => (String::new(), String::new()),
    };
    let mut text = String::from("Derive([(");
    list(&mut text, ["out", out, &algo, &hash]);
    text.push_str(")],[");
    for (i, input) in inputs.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push('(');
        string(&mut text, input);
        text.push_str(",[\"out\"])");
    }
    text.push_str("],[");
    list(&mut text, drv.input_srcs.iter().map(String::as_str));
    text.push_str("],");
    string(&mut text, &drv.system);
    text.push(',');
    string(&mut text, &drv.builder);
    text.push_str(",[");
    list(&mut text, drv.args.iter().map(String::as_str));
    text.push_str("],[");
    for (i, (key, value)) in env.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push('(');
        string(&mut text, key);
        text.push(',');
        string(&mut text, value);
        text.push(')');
    }
    text.push_str("])");
    debug_assert!(out.is_empty() || out.starts_with(STORE_DIR));
    text
}

fn list<'a>(text: &mut String, items: impl IntoIterator<Item = &'a str>) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        string(text, item);
    }
}

/// A quoted string, escaped as Nix's `printString` does.
fn string(text: &mut String, value: &str) {
    text.push('"');
    for c in value.chars() {
        match c {
            '"' => text.push_str("\\\""),
            '\\' => text.push_str("\\\\"),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '\t' => text.push_str("\\t"),
            c => {
                let _ = write!(text, "{c}");
            }
        }
    }
    text.push('"');
}

#[cfg(test)]
mod tests;
