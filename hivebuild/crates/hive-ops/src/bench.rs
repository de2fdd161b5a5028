//! `bench`: the running hosted hive's figures, in one run. On-demand spawn latency of a lazy
//! skill (the police takes a paused VM from the pool, resumes it, the skill answers): from a
//! request at the police, and from the Brain's own request (its `skill` timing, a job through
//! the police); then the Brain's engine (`brain bench`: LLM prefill and decode next to a plain
//! llama.cpp loop on the same GGUF and threads, router time, memory recall at 10 000 entries).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use brain::protocol::Message;
use hive_process::ProcessBuilder;
use hive_qemu::latency::Stats;

use crate::hive::{self, HiveError, Options};
use crate::{Context, Error, Outcome, Result};

pub struct Benched {
    pub skill: String,
    /// Police request → first answer (a `Ping`), ms.
    pub from_police: Stats,
    /// The Brain's request → the skill's first answer (its job's `Done`), ms.
    pub from_brain: Option<Stats>,
    /// What `brain bench --json` printed.
    pub engine: serde_json::Value,
}

/// Measure the hive of `manifest` on `target`: `runs` spawns at the police, a few through
/// the Brain with `request`, then the engine.
pub fn bench(
    cx: &Context<'_>,
    manifest: &Path,
    target: Option<&str>,
    runs: usize,
    request: &str,
    options: &Options,
    note: &dyn Fn(&str),
) -> Result<Benched> {
    let (manifest, target) = crate::project::load(manifest, target)?;
    let hive = hive::start(cx, &manifest, &target, options, note)?;
    let skill = manifest
        .skills
        .values()
        .find(|s| s.lazy && s.interface.is_some())
        .map(|s| s.name.clone())
        .ok_or_else(|| {
            Error::usage("`bench` spawns a lazy skill with an `[interface]`; this hive has none")
        })?;
    note(&format!(
        "==> {runs} on-demand spawns of `{skill}` at the police"
    ));
    let mut from_police = Vec::new();
    for n in 0..runs {
        wait_pool(&hive, &skill)?;
        let started = Instant::now();
        let answer = hive
            .police
            .request(
                &skill,
                Message::Ping(u32::try_from(n).unwrap_or(0)),
                Duration::from_secs(30),
            )
            .map_err(|e| HiveError::Failed(e.to_string()))?;
        from_police.push(started.elapsed().as_secs_f64() * 1000.0);
        if !matches!(answer, Message::Pong(_)) {
            return Err(
                HiveError::Failed(format!("`{skill}` answered {answer:?} to a ping")).into(),
            );
        }
        hive.police.retire(&skill);
    }
    let brain_runs = runs.min(5);
    note(&format!(
        "==> {brain_runs} on-demand spawns of `{skill}` from the Brain (\"{request}\")"
    ));
    let mut from_brain = Vec::new();
    for _ in 0..brain_runs {
        wait_pool(&hive, &skill)?;
        let (answer, _) = hive.ask(request)?;
        if let Some(error) = answer["error"].as_str() {
            return Err(HiveError::Failed(error.to_owned()).into());
        }
        if answer["skill"].as_str() != Some(skill.as_str()) {
            return Err(HiveError::Failed(format!(
                "the Brain sent \"{request}\" to {}, not `{skill}`",
                answer["skill"]
            ))
            .into());
        }
        from_brain.extend(answer["timings"]["skill"].as_f64());
        hive.police.retire(&skill);
    }
    note("==> the Brain's engine (brain bench)");
    let mut engine = ProcessBuilder::new(&hive.brain_binary)
        .arg("bench")
        .arg("--json");
    for (name, path) in &hive.stores {
        engine = engine
            .arg("--store")
            .arg(format!("{name}={}", path.display()));
    }
    if let Some(threads) = options.threads {
        engine = engine.arg("--threads").arg(threads.to_string());
    }
    let output = engine.output().map_err(|e| Error::Brain(Box::new(e)))?;
    let engine = serde_json::from_slice(&output.stdout).map_err(|e| {
        HiveError::BadAnswer(format!(
            "`brain bench`: {e}: {}",
            String::from_utf8_lossy(&output.stdout)
        ))
    })?;
    Ok(Benched {
        skill,
        from_police: Stats::of(&from_police).expect("at least one run"),
        from_brain: Stats::of(&from_brain),
        engine,
    })
}

fn wait_pool(hive: &hive::Hive, skill: &str) -> Result<()> {
    if hive.police.pool_ready(skill, 1, Duration::from_mins(1)) {
        Ok(())
    } else {
        Err(HiveError::Failed(format!("`{skill}`'s pool did not fill within 60 s")).into())
    }
}

impl Outcome for Benched {
    fn text(&self) -> String {
        let e = &self.engine;
        let f = |key: &str| e[key].as_f64().unwrap_or_default();
        let row = |what: &str, s: &Stats| {
            format!(
                "  {what:<44} {:>6.1} {:>6.1} {:>6.1}  ({} runs)\n",
                s.median_ms, s.p99_ms, s.max_ms, s.runs
            )
        };
        let mut text = format!(
            "on-demand spawn of `{}` (pool → resumed → first answer), ms:\n  {:<44} {:>6} {:>6} {:>6}\n",
            self.skill, "", "p50", "p99", "max"
        );
        text.push_str(&row(
            "police request → first answer (ping)",
            &self.from_police,
        ));
        if let Some(brain) = &self.from_brain {
            text.push_str(&row("Brain request → first answer (its job)", brain));
        }
        let _ = write!(
            text,
            "LLM ({} threads, {} prompt tokens):   prefill tok/s   decode tok/s\n  \
             the Brain's engine (llama-cpp-2) {:>14.1} {:>14.1}\n  \
             llama.cpp, plain loop            {:>14.1} {:>14.1}\n  \
             decode, Brain / llama.cpp: {:.2}\n",
            f("threads"),
            f("prompt_tokens"),
            f("brain_prefill_tok_s"),
            f("brain_decode_tok_s"),
            f("llama_cpp_prefill_tok_s"),
            f("llama_cpp_decode_tok_s"),
            f("brain_decode_tok_s") / f("llama_cpp_decode_tok_s").max(1e-9),
        );
        let _ = write!(
            text,
            "router: {:.1} ms per request (p50)\nmemory recall: {:.2} ms at {} entries (p50)\n",
            f("router_ms_p50"),
            f("recall_ms_p50"),
            f("recall_entries"),
        );
        text
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "skill": self.skill,
            "spawn_from_police_ms": self.from_police,
            "spawn_from_brain_ms": self.from_brain,
            "engine": self.engine,
        })
    }
}
