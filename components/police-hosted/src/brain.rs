//! The Brain as the police runs it on the hosted lane: a process of its own, started with the
//! hive card and its stores, speaking `Routed` frames on its stdin and stdout. The police
//! passes its skill requests on (only as the grants allow), tells it what becomes of the
//! skills, asks it people's requests, and watches its beats. It has no network (a network
//! namespace of its own, when the machine allows one) and never sees a skill's console.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brain::card::Card;
use brain::protocol::{Deframer, Message, Routed, SkillState};

use crate::police::{Event, Police};

/// How the Brain process is started.
#[derive(Clone, Debug)]
pub struct BrainConfig {
    /// The hosted Brain built with its `mind` feature.
    pub binary: PathBuf,
    pub card: Card,
    /// The folders its `store:` capabilities name.
    pub stores: Vec<(String, PathBuf)>,
    /// Where the card and the Brain's log are written.
    pub run_dir: PathBuf,
    /// LLM threads (`None`: the Brain's default, every core).
    pub threads: Option<usize>,
    /// How long it may take to load its models and send its first beat.
    pub ready_within: Duration,
    /// How long the police waits for a skill's answer on its behalf.
    pub skill_timeout: Duration,
    /// A file to append every byte the Brain is sent to: what it received, for tests that
    /// check nothing a stranger sent got through. `None`: none kept.
    pub transcript: Option<PathBuf>,
}

/// Whether the Brain got a network namespace of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// No interface but loopback, its own.
    Isolated,
    /// The host's network: why no namespace could be made.
    Shared(String),
}

#[derive(Debug, thiserror::Error)]
pub enum BrainError {
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the Brain `{binary}`: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("the Brain did not beat within {within:?}; its last words: {log}")]
    NotReady { within: Duration, log: String },
    #[error("the Brain exited ({status}); its last words: {log}")]
    Exited { status: String, log: String },
    #[error("no answer from the Brain within {0:?}")]
    Timeout(Duration),
}

/// What the Brain's stdout said, as the reader thread saw it.
struct Shared {
    answers: BTreeMap<u32, Sender<String>>,
    beats: u64,
}

/// The Brain's stdin, and the transcript of what went in.
struct ToBrain {
    stdin: ChildStdin,
    transcript: Option<std::fs::File>,
}

pub struct Brain {
    child: Mutex<Child>,
    stdin: Arc<Mutex<ToBrain>>,
    shared: Arc<Mutex<Shared>>,
    next_id: Mutex<u32>,
    log: PathBuf,
    pub network: Network,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn write(to: &Mutex<ToBrain>, routed: &Routed) -> bool {
    let Ok(frame) = routed.frame() else {
        return false;
    };
    let mut to = to.lock().expect("brain stdin");
    if let Some(transcript) = to.transcript.as_mut() {
        let _ = transcript.write_all(&frame);
    }
    to.stdin
        .write_all(&frame)
        .and_then(|()| to.stdin.flush())
        .is_ok()
}

/// The last lines of the Brain's log (its stderr).
fn last_words(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
    if tail.is_empty() { "none".into() } else { tail }
}

/// A network namespace for the Brain: `unshare -n` (root), else `unshare -rn` (an
/// unprivileged user namespace), else none, and why.
fn network_wrapper() -> (Vec<&'static str>, Network) {
    let works = |args: &[&str]| {
        Command::new("unshare")
            .args(args)
            .arg("true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for args in [&["-n"][..], &["-r", "-n"][..]] {
        if works(args) {
            let mut wrapper = vec!["unshare"];
            wrapper.extend_from_slice(args);
            wrapper.push("--");
            return (wrapper, Network::Isolated);
        }
    }
    (
        Vec::new(),
        Network::Shared("`unshare -n` and `unshare -rn` both failed here".into()),
    )
}

impl Brain {
    /// Start the Brain and wait for its first beat. Its skill requests go to `police`; what
    /// becomes of the skills reaches it through [`Brain::notice`].
    pub fn start(config: &BrainConfig, police: Arc<Police>) -> Result<Self, BrainError> {
        std::fs::create_dir_all(&config.run_dir).map_err(|source| BrainError::Write {
            path: config.run_dir.clone(),
            source,
        })?;
        let card = config.run_dir.join("card.json");
        let json = serde_json::to_vec_pretty(&config.card).expect("a card serialises");
        std::fs::write(&card, json).map_err(|source| BrainError::Write {
            path: card.clone(),
            source,
        })?;
        let log = config.run_dir.join("brain.log");
        let log_file = std::fs::File::create(&log).map_err(|source| BrainError::Write {
            path: log.clone(),
            source,
        })?;
        let (wrapper, network) = network_wrapper();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&config.binary);
                command
            }
            None => Command::new(&config.binary),
        };
        command.arg("serve").arg("--card").arg(&card);
        for (name, path) in &config.stores {
            command
                .arg("--store")
                .arg(format!("{name}={}", path.display()));
        }
        if let Some(threads) = config.threads {
            command.arg("--threads").arg(threads.to_string());
        }
        let transcript = match &config.transcript {
            None => None,
            Some(path) => {
                Some(
                    std::fs::File::create(path).map_err(|source| BrainError::Write {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|source| BrainError::Spawn {
                binary: config.binary.clone(),
                source,
            })?;
        let stdin = Arc::new(Mutex::new(ToBrain {
            stdin: child.stdin.take().expect("piped"),
            transcript,
        }));
        let stdout = child.stdout.take().expect("piped");
        let shared = Arc::new(Mutex::new(Shared {
            answers: BTreeMap::new(),
            beats: 0,
        }));
        let reader = {
            let shared = Arc::clone(&shared);
            let stdin = Arc::clone(&stdin);
            let timeout = config.skill_timeout;
            std::thread::spawn(move || read(stdout, &shared, &stdin, &police, timeout))
        };
        let brain = Self {
            child: Mutex::new(child),
            stdin,
            shared,
            next_id: Mutex::new(0),
            log,
            network,
            threads: vec![reader],
        };
        let deadline = Instant::now() + config.ready_within;
        loop {
            if brain.beats() > 0 {
                return Ok(brain);
            }
            if let Some(status) = brain.exited() {
                return Err(BrainError::Exited {
                    status,
                    log: last_words(&brain.log),
                });
            }
            if Instant::now() > deadline {
                return Err(BrainError::NotReady {
                    within: config.ready_within,
                    log: last_words(&brain.log),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Beats received so far.
    pub fn beats(&self) -> u64 {
        self.shared.lock().expect("brain").beats
    }

    /// The Brain's exit status, once it has exited.
    pub fn exited(&self) -> Option<String> {
        match self.child.lock().expect("brain").try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// Ask the Brain `text`; its answer (a JSON document), or why there is none.
    pub fn ask(&self, text: &str, within: Duration) -> Result<String, BrainError> {
        let id = {
            let mut next = self.next_id.lock().expect("ids");
            *next = next.wrapping_add(1);
            *next
        };
        let (answer, answered) = mpsc::channel();
        self.shared
            .lock()
            .expect("brain")
            .answers
            .insert(id, answer);
        let sent = write(
            &self.stdin,
            &Routed::Ask {
                id,
                text: text.to_owned(),
            },
        );
        let result = if sent {
            answered.recv_timeout(within)
        } else {
            Err(RecvTimeoutError::Disconnected)
        };
        self.shared.lock().expect("brain").answers.remove(&id);
        match result {
            Ok(json) => Ok(json),
            Err(RecvTimeoutError::Timeout) => Err(BrainError::Timeout(within)),
            Err(RecvTimeoutError::Disconnected) => {
                // The stream ended: give the process a moment to be reaped, then say how.
                let deadline = Instant::now() + Duration::from_secs(2);
                let status = loop {
                    if let Some(status) = self.exited() {
                        break status;
                    }
                    if Instant::now() > deadline {
                        break "its stream closed".to_owned();
                    }
                    std::thread::sleep(Duration::from_millis(10));
                };
                Err(BrainError::Exited {
                    status,
                    log: last_words(&self.log),
                })
            }
        }
    }

    /// Tell the Brain each of the police's `events` as it comes, in a thread of its own, and
    /// hand them on: what a running hive does with its police's events.
    pub fn relay(self: &Arc<Self>, events: mpsc::Receiver<Event>) -> mpsc::Receiver<Event> {
        let (on, relayed) = mpsc::channel();
        let brain = Arc::clone(self);
        std::thread::spawn(move || {
            for event in events {
                brain.notice(&event);
                if on.send(event).is_err() {
                    return;
                }
            }
        });
        relayed
    }

    /// Tell the Brain what happened to a skill (the police's events, as they come).
    pub fn notice(&self, event: &Event) {
        let routed = match event {
            Event::Ready { skill, .. } => Routed::Notice {
                skill: skill.clone(),
                state: SkillState::Running,
            },
            Event::Faulted { skill, .. } => Routed::Notice {
                skill: skill.clone(),
                state: SkillState::Faulted,
            },
            Event::Stopped { skill, .. } => Routed::Notice {
                skill: skill.clone(),
                state: SkillState::Stopped,
            },
            Event::Delivered { skill, payload } => Routed::Skill {
                skill: skill.clone(),
                message: Message::Deliver(payload.clone()),
            },
            Event::Refused { .. } => return,
        };
        write(&self.stdin, &routed);
    }
}

/// Read the Brain's frames until its stdout closes: beats are counted, answers handed to
/// their askers, skill requests passed to the police (each in a thread of its own, so a slow
/// skill holds up nothing else).
fn read(
    mut stdout: std::process::ChildStdout,
    shared: &Mutex<Shared>,
    stdin: &Arc<Mutex<ToBrain>>,
    police: &Arc<Police>,
    timeout: Duration,
) {
    let mut deframer = Deframer::new();
    let mut buffer = vec![0; 64 * 1024];
    'stream: loop {
        let n = match stdout.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        deframer.push(&buffer[..n]);
        while let Some(frame) = deframer.next_routed() {
            let Ok(routed) = frame else {
                break 'stream; // a broken stream is not trusted any further
            };
            match routed {
                Routed::Beat(_) => {
                    shared.lock().expect("brain").beats += 1;
                }
                Routed::Answer { id, text } => {
                    if let Some(answer) = shared.lock().expect("brain").answers.remove(&id) {
                        let _ = answer.send(text);
                    }
                }
                Routed::Skill { skill, message } => {
                    let police = Arc::clone(police);
                    let stdin = Arc::clone(stdin);
                    std::thread::spawn(move || {
                        let reply = match police.request(&skill, message, timeout) {
                            Ok(message) => Routed::Skill { skill, message },
                            Err(refusal) => Routed::Refused {
                                skill,
                                reason: refusal.to_string(),
                            },
                        };
                        write(&stdin, &reply);
                    });
                }
                // Only the police sends these.
                Routed::Ask { .. } | Routed::Notice { .. } | Routed::Refused { .. } => {}
            }
        }
    }
    // Askers waiting now learn the Brain is gone.
    shared.lock().expect("brain").answers.clear();
}

impl Drop for Brain {
    fn drop(&mut self) {
        let child = self.child.get_mut().expect("brain");
        let _ = child.kill();
        let _ = child.wait();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
