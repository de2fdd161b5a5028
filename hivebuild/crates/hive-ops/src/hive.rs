//! The hosted hive, running: the police with the built skills (paused VMs in its pools, lazy
//! skills started when the Brain first asks) and the Brain as a process of its own, thinking
//! with its models. `ask` and `run` (on a hosted target whose Brain has its `mind`) both
//! start it here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use brain::card::{self, Card, SkillCard};
use hive_manifest::model::ArgumentKind;
use hive_manifest::{Capability, Manifest, SystemKind, Target};
use hive_plan::Role;
use hive_police::{Brain, BrainConfig, Config, Event, Police, SkillImage};

use crate::{Context, Error, Result};

/// The Brain's feature that gives it its mind.
pub const MIND: &str = "mind";

#[derive(Debug, thiserror::Error)]
pub enum HiveError {
    #[error("target `{target}` does not run the hosted lane (its skills boot inside seL4)")]
    NotHosted { target: String },
    #[error("the Brain of hive `{hive}` is built without its mind")]
    NoMind { hive: String },
    #[error("the hosted Brain binary is missing from its build output `{}`", .0.display())]
    NoBrainBinary(PathBuf),
    #[error(transparent)]
    Police(#[from] hive_police::StartError),
    #[error(transparent)]
    Brain(#[from] hive_police::BrainError),
    #[error("the Brain's answer is not JSON: {0}")]
    BadAnswer(String),
    #[error("the Brain could not do it: {0}")]
    Failed(String),
    #[error("this machine's CPU lacks {} , which target `{target}` builds its hosted Brain for (`cpu = \"{cpu}\"`)", .missing.join(", "))]
    Cpu {
        target: String,
        cpu: String,
        missing: Vec<&'static str>,
    },
    #[error("the hive's key: {0}")]
    Key(String),
}

impl HiveError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotHosted { .. } => Some("use a hosted target: `--target x86_64`".into()),
            Self::NoMind { .. } => Some(format!(
                "add `features = [\"{MIND}\"]` to the manifest's `[brain]` section"
            )),
            Self::Brain(hive_police::BrainError::Exited { log, .. })
                if log.contains("ci/install-models") =>
            {
                Some("install the models: `ci/install-models`".into())
            }
            Self::Cpu { target, .. } => Some(format!(
                "lower or remove `cpu` in the `[rust]` section of target `{target}`'s file, then build again"
            )),
            _ => None,
        }
    }
}

/// The hosted Brain runs on this machine: it must have what the target builds the Brain for,
/// or the Brain would die of an illegal instruction.
pub fn check_cpu(target: &Target) -> std::result::Result<(), HiveError> {
    let Some(cpu) = &target.rust.cpu else {
        return Ok(());
    };
    let missing = missing_cpu_features(cpu);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(HiveError::Cpu {
            target: target.name.clone(),
            cpu: cpu.clone(),
            missing,
        })
    }
}

/// The features of an x86-64 psABI level (`x86-64-v2` … `v4`) this CPU lacks. Another name (a
/// model such as `znver3`, or an aarch64 CPU) is not checked: nothing is reported missing.
fn missing_cpu_features(cpu: &str) -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let v2: [(&str, bool); 5] = [
            ("sse4.2", has!("sse4.2")),
            ("ssse3", has!("ssse3")),
            ("popcnt", has!("popcnt")),
            ("cmpxchg16b", has!("cmpxchg16b")),
            ("sse3", has!("sse3")),
        ];
        let v3 = [
            ("avx", has!("avx")),
            ("avx2", has!("avx2")),
            ("bmi1", has!("bmi1")),
            ("bmi2", has!("bmi2")),
            ("f16c", has!("f16c")),
            ("fma", has!("fma")),
            ("lzcnt", has!("lzcnt")),
            ("movbe", has!("movbe")),
        ];
        let v4 = [
            ("avx512f", has!("avx512f")),
            ("avx512bw", has!("avx512bw")),
            ("avx512cd", has!("avx512cd")),
            ("avx512dq", has!("avx512dq")),
            ("avx512vl", has!("avx512vl")),
        ];
        let needed: Vec<(&'static str, bool)> = match cpu {
            "x86-64-v2" => v2.to_vec(),
            "x86-64-v3" => [&v2[..], &v3[..]].concat(),
            "x86-64-v4" => [&v2[..], &v3[..], &v4[..]].concat(),
            _ => Vec::new(),
        };
        needed
            .into_iter()
            .filter(|(_, present)| !present)
            .map(|(name, _)| name)
            .collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = cpu;
        Vec::new()
    }
}

/// Where the Brain's stores are and how it runs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--brain-store NAME=PATH`, over the defaults ([`store_folder`]).
    pub stores: Vec<(String, PathBuf)>,
    pub threads: Option<usize>,
}

/// The default folder of store `name`: `files` is the current folder (requests name files
/// relative to where they are asked); every other store's is [`brain::stores::default_folder`]
/// (`$HIVE_STORES/NAME`, by default `~/.local/share/hive/stores/NAME`, where
/// `ci/install-models` puts the models).
pub fn store_folder(name: &str) -> PathBuf {
    if name == "files" {
        return std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    }
    brain::stores::default_folder(name)
}

pub struct Hive {
    pub police: Arc<Police>,
    pub brain: Arc<Brain>,
    pub brain_binary: PathBuf,
    /// The Brain's stores, by name.
    pub stores: Vec<(String, PathBuf)>,
    /// What the police did, in order (also told to the Brain as it happens).
    pub events: mpsc::Receiver<Event>,
    pub run_dir: tempfile::TempDir,
}

impl Hive {
    /// Ask the Brain `request`: its answer document, and each skill the police started
    /// meanwhile with its pool → ready time.
    pub fn ask(&self, request: &str) -> Result<(serde_json::Value, Vec<(String, f64)>)> {
        // What the police did before (eager skills starting) is not this request's.
        while self.events.try_recv().is_ok() {}
        let json = self
            .brain
            .ask(request, Duration::from_mins(5))
            .map_err(HiveError::from)?;
        let answer: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| HiveError::BadAnswer(format!("{e}: {json}")))?;
        // Each start of the skill that answered (an eager skill's first start may still be on
        // its way from before the request).
        let called = answer["skill"].as_str().map(str::to_owned);
        let spawned = self
            .events
            .try_iter()
            .filter_map(|event| match event {
                Event::Ready { skill, ms, .. } if Some(&skill) == called.as_ref() => {
                    Some((skill, ms))
                }
                _ => None,
            })
            .collect();
        Ok((answer, spawned))
    }
}

/// The hive card of `manifest`: what its Brain knows of it.
pub fn card(manifest: &Manifest) -> Card {
    let skills = manifest
        .skills
        .values()
        .filter_map(|skill| {
            let interface = skill.interface.as_ref()?;
            Some(SkillCard {
                name: skill.name.clone(),
                description: interface.description.clone(),
                request: interface
                    .request
                    .iter()
                    .map(|a| card::Argument {
                        name: a.name.clone(),
                        kind: match &a.kind {
                            ArgumentKind::Text => card::Kind::Text,
                            ArgumentKind::Integer => card::Kind::Integer,
                            ArgumentKind::File => card::Kind::File,
                            ArgumentKind::OneOf(words) => card::Kind::OneOf(words.clone()),
                            ArgumentKind::Peer => card::Kind::Peer,
                        },
                    })
                    .collect(),
            })
        })
        .collect();
    Card {
        version: card::CARD_VERSION,
        hive: manifest.hive.name.clone(),
        caps: manifest
            .brain
            .caps
            .iter()
            .map(ToString::to_string)
            .collect(),
        skills,
        peers: manifest
            .peers
            .values()
            .map(|peer| card::PeerCard {
                name: peer.name.clone(),
                key: hive_sign::hex(&peer.key),
                address: peer
                    .address
                    .map(|a| hive_qemu::skill::reached_from_guest(a).to_string()),
            })
            .collect(),
    }
}

/// Whether the manifest's Brain is built with its mind.
pub fn has_mind(manifest: &Manifest) -> bool {
    manifest.brain.features.iter().any(|f| f == MIND)
}

/// Build the hive and start it: the police with every skill that serves the Brain over a
/// channel (Unikraft, or stand-ins built with the skill runtime), then the Brain.
pub fn start(
    cx: &Context<'_>,
    manifest: &Manifest,
    target: &Target,
    options: &Options,
    note: &dyn Fn(&str),
) -> Result<Hive> {
    if target.system != SystemKind::Standins || target.qemu.is_none() {
        return Err(HiveError::NotHosted {
            target: target.name.clone(),
        }
        .into());
    }
    if !has_mind(manifest) {
        return Err(HiveError::NoMind {
            hive: manifest.hive.name.clone(),
        }
        .into());
    }
    check_cpu(target)?;
    let built = crate::build::build(cx, manifest, target)?;
    let brain_output = built
        .report
        .output(&Role::Brain)
        .expect("the plan builds the Brain");
    let binary = crate::run::brain_binary(brain_output)
        .ok_or_else(|| HiveError::NoBrainBinary(brain_output.to_owned()))?;
    let (events_in, events) = mpsc::channel();
    let stores = brain_stores(manifest, options);
    let listen = match identity(manifest, &stores)? {
        Some(me) => {
            let listen = listen(manifest, &me);
            let mut said = format!(
                "==> this hive is `{0}` (its key is `[peers.{0}]`'s)",
                me.name
            );
            for (skill, address) in &listen {
                let _ = write!(said, "; {skill} listens on udp {address}");
            }
            note(&said);
            listen
        }
        None => BTreeMap::new(),
    };
    let police = Arc::new(police(manifest, target, &built, events_in, listen, note)?);
    let run_dir = tempfile::Builder::new()
        .prefix("hive-run-")
        .tempdir()
        .map_err(Error::io(
            crate::Area::Test,
            "create a folder in",
            std::env::temp_dir(),
        ))?;
    note("==> starting the Brain (loading its models)");
    let brain = Arc::new(
        Brain::start(
            &BrainConfig {
                binary: binary.clone(),
                card: card(manifest),
                stores: stores.clone(),
                run_dir: run_dir.path().to_owned(),
                threads: options.threads,
                ready_within: Duration::from_mins(2),
                skill_timeout: Duration::from_mins(1),
                transcript: None,
            },
            Arc::clone(&police),
        )
        .map_err(HiveError::from)?,
    );
    if let hive_police::Network::Shared(why) = &brain.network {
        note(&format!(
            "==> warning: the Brain shares the host's network ({why})"
        ));
    }
    // The police's events go to the Brain as notices, and on to the caller.
    let told = brain.relay(events);
    Ok(Hive {
        police,
        brain,
        brain_binary: binary,
        stores,
        events: told,
        run_dir,
    })
}

/// The police with every Unikraft skill of the build, under the accelerator a probe boot of
/// one of them allows (TCG where KVM cannot run Unikraft).
fn police(
    manifest: &Manifest,
    target: &Target,
    built: &crate::build::Built,
    events: mpsc::Sender<Event>,
    listen: BTreeMap<String, SocketAddrV4>,
    note: &dyn Fn(&str),
) -> Result<Police> {
    let skills: Vec<SkillImage> = manifest
        .skills
        .values()
        .filter(|s| built.plan.serves_brain(&s.name))
        .map(|skill| SkillImage {
            skill: skill.clone(),
            image: built
                .report
                .artefact(&built.plan.skill_image(&skill.name))
                .expect("the plan builds every skill"),
        })
        .collect();
    let cache = crate::build::kvm_cache(&built.store);
    let accel = skills.first().map_or(hive_qemu::Accel::Tcg, |first| {
        let marker = format!("{}: ready", first.skill.name);
        let choice = hive_qemu::choose_accel(target, &first.image, Some(&marker), Some(&cache));
        note(&format!(
            "==> skills run under {:?}: {}",
            choice.accel, choice.reason
        ));
        choice.accel
    });
    let machine =
        hive_qemu::machine_for(target, accel).map_err(hive_qemu::suite::SuiteError::from)?;
    note(&format!(
        "==> police: {} skill{} ({})",
        skills.len(),
        if skills.len() == 1 { "" } else { "s" },
        skills
            .iter()
            .map(|s| format!(
                "{}{}",
                s.skill.name,
                if s.skill.lazy { " (lazy)" } else { "" }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(Police::start(
        Config {
            machine,
            accel,
            target: target.clone(),
            brain_caps: manifest.brain.caps.clone(),
            skills,
            pool: 1,
            fault_line: fault_line(manifest),
            ready_within: Duration::from_secs(30),
            listen,
        },
        events,
    )
    .map_err(HiveError::from)?)
}

/// A console line that says a skill faulted: the manifest's `[tests.smoke] fail` patterns
/// (to the end of the line), else `CRIT:`.
fn fault_line(manifest: &Manifest) -> regex::Regex {
    let patterns: Vec<&str> = manifest
        .tests
        .smoke
        .iter()
        .flat_map(|s| s.fail.iter().map(|p| p.regex().as_str()))
        .collect();
    let pattern = if patterns.is_empty() {
        "CRIT:.*".to_owned()
    } else {
        format!("(?:{}).*", patterns.join("|"))
    };
    regex::Regex::new(&pattern).expect("the manifest's fail patterns are patterns")
}

/// The file in the Brain's `keys` store that holds the hive's own ed25519 key (64 hex digits,
/// readable by its owner only: `hivebuild key generate --out <keys store>/hive`).
pub const HIVE_KEY: &str = "hive.key";

/// Which of the manifest's `[peers]` this hive is: the one whose key is the hive's own (in its
/// Brain's `keys` store). `None` when the Brain holds no keys store or it has no key yet.
pub fn identity(
    manifest: &Manifest,
    stores: &[(String, PathBuf)],
) -> Result<Option<hive_manifest::model::Peer>> {
    let Some((_, keys)) = stores.iter().find(|(name, _)| name == "keys") else {
        return Ok(None);
    };
    let path = keys.join(HIVE_KEY);
    if !path.exists() {
        return Ok(None);
    }
    let key = hive_sign::PrivateKey::load(&path).map_err(|e| HiveError::Key(e.to_string()))?;
    let public = key.public().bytes();
    Ok(manifest.peers.values().find(|p| p.key == public).cloned())
}

/// Where this hive's network skills listen: each skill with `peers` and a UDP port, at `me`'s
/// address.
pub fn listen(
    manifest: &Manifest,
    me: &hive_manifest::model::Peer,
) -> BTreeMap<String, SocketAddrV4> {
    let Some(address) = me.address else {
        return BTreeMap::new();
    };
    manifest
        .skills
        .values()
        .filter(|s| !s.peers.is_empty())
        .filter(|s| {
            hive_manifest::caps::net_ports(&s.caps)
                .any(|(protocol, _)| protocol == hive_manifest::caps::Protocol::Udp)
        })
        .map(|s| (s.name.clone(), address))
        .collect()
}

/// The folder of each store the Brain's capabilities name.
fn brain_stores(manifest: &Manifest, options: &Options) -> Vec<(String, PathBuf)> {
    manifest
        .brain
        .caps
        .iter()
        .filter_map(|cap| match cap {
            Capability::Store { name, .. } => Some(name.clone()),
            _ => None,
        })
        .map(|name| {
            let path = options
                .stores
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| store_folder(&name), |(_, p)| p.clone());
            (name, path)
        })
        .collect()
}

/// An answer of the Brain for people: its reply, the skill's result, the skill called, the
/// skills started for it and the timings.
pub fn answer_text(answer: &serde_json::Value, spawned: &[(String, f64)]) -> String {
    let mut text = String::new();
    if let Some(reply) = answer["reply"].as_str() {
        text.push_str(reply.trim());
        text.push('\n');
    }
    if let Some(result) = answer["result"].as_str() {
        let _ = writeln!(text, "\n{}", result.trim_end());
    }
    let skill = answer["skill"].as_str().unwrap_or("none");
    let t = &answer["timings"];
    let mut spawn = String::new();
    for (skill, ms) in spawned {
        let _ = write!(spawn, ", {skill} started in {ms:.1} ms");
    }
    let ms = |key: &str| t[key].as_f64().unwrap_or_default();
    let _ = write!(
        text,
        "\nskill: {skill}{spawn}; route {:.1} ms, fill {:.0} ms, skill {:.1} ms, reply {:.0} ms, total {:.0} ms\n",
        ms("route"),
        ms("fill"),
        ms("skill"),
        ms("word"),
        ms("total"),
    );
    text
}
