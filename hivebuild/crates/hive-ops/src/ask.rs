//! `ask`: start the hosted hive, ask its Brain one request, show the answer (the plan, the
//! skill called, its timings, the reply) and stop the hive.

use crate::hive::{self, HiveError, Options};
use crate::{Context, Outcome, Result};
use std::path::Path;

/// The Brain's answer, with what the police did meanwhile.
pub struct Asked {
    /// The Brain's answer document (`brain::hosted::plan::Answer`).
    pub answer: serde_json::Value,
    /// Each skill the police started while the request ran, with its pool → ready time.
    pub spawned: Vec<(String, f64)>,
    pub network_isolated: bool,
}

/// Ask the hive of `manifest` on `target` one request.
pub fn ask(
    cx: &Context<'_>,
    manifest: &Path,
    target: Option<&str>,
    request: &str,
    options: &Options,
    note: &dyn Fn(&str),
) -> Result<Asked> {
    let (manifest, target) = crate::project::load(manifest, target)?;
    let hive = hive::start(cx, &manifest, &target, options, note)?;
    let (answer, spawned) = hive.ask(request)?;
    Ok(Asked {
        answer,
        spawned,
        network_isolated: hive.brain.network == hive_police::Network::Isolated,
    })
}

impl Outcome for Asked {
    fn text(&self) -> String {
        hive::answer_text(&self.answer, &self.spawned)
    }

    fn json(&self) -> serde_json::Value {
        let mut json = self.answer.clone();
        json["spawned"] = self
            .spawned
            .iter()
            .map(|(skill, ms)| serde_json::json!({ "skill": skill, "ready_ms": ms }))
            .collect();
        json["brain_network_isolated"] = self.network_isolated.into();
        json
    }

    fn verdict(&self) -> Result<()> {
        match self.answer["error"].as_str() {
            Some(error) => Err(HiveError::Failed(error.to_owned()).into()),
            None => Ok(()),
        }
    }
}
