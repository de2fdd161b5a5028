//! The hosted Brain's mind (feature `mind`): it thinks with a local LLM, routes requests to
//! skills by embeddings, remembers on disk, and reaches skills only through the police.
//!
//! `brain serve --card FILE --store NAME=PATH ...` is started by the police: Routed frames
//! (`crate::protocol::Routed`) on stdin and stdout, words for people on stderr. It beats
//! twenty times a second (`Beat`), answers each `Ask` with a JSON `Answer`
//! ([`plan::Answer`]) and asks the police for skills with `Skill` messages.
//! `brain bench --store models=PATH` measures the engine.

pub mod bench;
pub mod embed;
pub mod key;
pub mod llm;
pub mod memory;
pub mod models;
pub mod plan;

use std::collections::VecDeque;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brain::card::{CARD_VERSION, Card};
use brain::protocol::{Deframer, Message, Routed};

#[derive(Debug, thiserror::Error)]
pub enum MindError {
    #[error("model file `{path}`: {why}")]
    Model { path: PathBuf, why: String },
    #[error("the LLM failed: {0}")]
    Llm(String),
    #[error("the embedder failed: {0}")]
    Embed(String),
    #[error("memory `{path}`: {why}")]
    Memory { path: PathBuf, why: String },
    #[error("the hive's key `{path}`: {why}")]
    Key { path: PathBuf, why: String },
    #[error("hive card `{path}`: {why}")]
    Card { path: PathBuf, why: String },
    #[error("refused: {0}")]
    NotGranted(String),
    #[error("{0}")]
    Job(String),
    #[error("skill `{0}`: {1}")]
    Skill(String, String),
    #[error("{0}")]
    Usage(String),
}

/// The command line of `brain serve` and `brain bench`.
#[derive(Debug, Default)]
pub struct Args {
    pub card: Option<PathBuf>,
    /// `--store NAME=PATH`: the folders the Brain's `store:` capabilities name.
    pub stores: Vec<(String, PathBuf)>,
    pub threads: usize,
}

impl Args {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, MindError> {
        let mut parsed = Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            ..Self::default()
        };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| MindError::Usage(format!("`{arg}` needs a value")))
            };
            match arg.as_str() {
                "--card" => parsed.card = Some(value()?.into()),
                "--store" => {
                    let value = value()?;
                    let (name, path) = value.split_once('=').ok_or_else(|| {
                        MindError::Usage(format!("`--store {value}`: write NAME=PATH"))
                    })?;
                    parsed.stores.push((name.to_owned(), path.into()));
                }
                "--threads" => {
                    let value = value()?;
                    parsed.threads = value.parse().map_err(|_| {
                        MindError::Usage(format!("`--threads {value}`: not a number"))
                    })?;
                }
                _ => return Err(MindError::Usage(format!("unknown argument `{arg}`"))),
            }
        }
        Ok(parsed)
    }

    /// The folder of store `name`, if the command line gave it.
    pub fn store(&self, name: &str) -> Option<&PathBuf> {
        self.stores.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    fn required_store(&self, name: &str) -> Result<&PathBuf, MindError> {
        self.store(name).ok_or_else(|| {
            MindError::Usage(format!("give the `{name}` store: --store {name}=PATH"))
        })
    }
}

pub fn read_card(path: &std::path::Path) -> Result<Card, MindError> {
    let error = |why: String| MindError::Card {
        path: path.to_owned(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let card: Card = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
    if card.version != CARD_VERSION {
        return Err(error(format!(
            "version {}, this Brain reads version {CARD_VERSION}",
            card.version
        )));
    }
    Ok(card)
}

/// Load the mind the card and stores describe.
pub fn planner(args: &Args) -> Result<plan::Planner, MindError> {
    let card_path = args
        .card
        .as_ref()
        .ok_or_else(|| MindError::Usage("give the hive card: --card FILE".into()))?;
    let card = read_card(card_path)?;
    if !card.holds("store:models:ro") {
        return Err(MindError::NotGranted(
            "the Brain holds no `store:models:ro`: it has no models to think with".into(),
        ));
    }
    let models = args.required_store("models")?;
    let llm = llm::Llm::load(&models::LLM.checked(models)?, args.threads)?;
    let embedder = embed::Embedder::load(models)?;
    let memory = if card.holds("store:memory:rw") {
        memory::Memory::open(args.required_store("memory")?)?
    } else {
        // No memory store granted: it remembers for this run only.
        memory::Memory::open(
            &std::env::temp_dir().join(format!("hive-brain-memory-{}", std::process::id())),
        )?
    };
    if memory.dropped > 0 {
        eprintln!(
            "brain: the memory's last {} bytes were a torn entry (a crash while writing); cut off",
            memory.dropped
        );
    }
    let files = if card.holds("store:files:ro") {
        Some(args.required_store("files")?.clone())
    } else {
        None
    };
    let key = if card.holds("store:keys:ro") {
        key::HiveKey::load(args.required_store("keys")?)?
    } else {
        None
    };
    let mut planner = plan::Planner::new(card, llm, embedder, memory, files)?;
    planner.key = key;
    Ok(planner)
}

type Out = Arc<Mutex<std::io::Stdout>>;

fn send(out: &Out, routed: &Routed) {
    if let Ok(frame) = routed.frame() {
        let mut out = out.lock().expect("stdout");
        let _ = out.write_all(&frame).and_then(|()| out.flush());
    }
}

/// Serve the police on stdin/stdout until stdin closes.
pub fn serve(args: &Args) -> Result<(), MindError> {
    let mut planner = planner(args)?;
    let out: Out = Arc::new(Mutex::new(std::io::stdout()));
    // 20 Hz: a watcher that wants 10 Hz (issue 14's fault tests) has margin for the
    // scheduler's jitter; at exactly 10 Hz a 2.8 s window measured 9.9.
    let beats = Arc::clone(&out);
    std::thread::spawn(move || {
        for n in 1.. {
            send(&beats, &Routed::Beat(n));
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let (frames, incoming) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut deframer = Deframer::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            deframer.push(&buffer[..n]);
            while let Some(frame) = deframer.next_routed() {
                match frame {
                    Ok(routed) => {
                        if frames.send(routed).is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        eprintln!("brain: the police's stream is broken ({error:?}); stopping");
                        return;
                    }
                }
            }
        }
    });
    eprintln!(
        "brain: ready ({} skills with an interface)",
        planner.card.skills.len()
    );
    let mut police = Police {
        out: &out,
        incoming: &incoming,
        queued: VecDeque::new(),
    };
    loop {
        let next = match police.queued.pop_front() {
            Some(routed) => routed,
            None => match incoming.recv() {
                Ok(routed) => routed,
                Err(_) => return Ok(()),
            },
        };
        match next {
            Routed::Ask { id, text } => {
                let answer = planner.ask(&text, &mut police);
                let json = serde_json::to_string(&answer).expect("an answer serialises");
                send(&out, &Routed::Answer { id, text: json });
            }
            Routed::Notice { skill, state } => eprintln!("brain: {skill} is {state:?}"),
            Routed::Skill {
                skill,
                message: Message::Deliver(bytes),
            } => match planner.answer_peer(&skill, &bytes, &mut police) {
                Ok(said) => eprintln!("brain: {said}"),
                Err(error) => eprintln!("brain: a delivery from {skill}: {error}"),
            },
            Routed::Skill { skill, message } => {
                eprintln!("brain: {skill} sent {} unasked", describe(&message));
            }
            other => eprintln!("brain: ignored {other:?} from the police"),
        }
    }
}

/// A message in a few words (never its bytes: what a skill sends is not printed).
fn describe(message: &Message) -> String {
    match message {
        Message::Deliver(bytes) | Message::Done(bytes) | Message::Job(bytes) => {
            format!("{} bytes", bytes.len())
        }
        other => format!("{other:?}"),
    }
}

/// The police as the planner sees it: a request goes out, and the next `Skill` or `Refused`
/// for that skill is its answer; anything else that arrives meanwhile waits its turn.
struct Police<'a> {
    out: &'a Out,
    incoming: &'a Receiver<Routed>,
    queued: VecDeque<Routed>,
}

impl plan::Dispatch for Police<'_> {
    fn answer(
        &mut self,
        skill: &str,
        from: std::net::SocketAddrV4,
        within: Duration,
    ) -> Option<brain::peer::Delivery> {
        let answers = |routed: &Routed| match routed {
            Routed::Skill {
                skill: by,
                message: Message::Deliver(bytes),
            } if by == skill => {
                brain::peer::Delivery::decode(bytes).filter(|d| d.is_answer() && d.from == from)
            }
            _ => None,
        };
        if let Some(at) = self.queued.iter().position(|r| answers(r).is_some()) {
            return self.queued.remove(at).as_ref().and_then(answers);
        }
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(routed) => match answers(&routed) {
                    Some(delivery) => return Some(delivery),
                    None => self.queued.push_back(routed),
                },
                Err(_) => return None,
            }
        }
    }

    fn request(&mut self, skill: &str, message: Message) -> Result<Message, String> {
        send(
            self.out,
            &Routed::Skill {
                skill: skill.to_owned(),
                message,
            },
        );
        loop {
            match self.incoming.recv() {
                Ok(Routed::Skill {
                    skill: from,
                    message,
                }) if from == skill => {
                    if let Message::Deliver(_) = message {
                        self.queued.push_back(Routed::Skill {
                            skill: from,
                            message,
                        });
                        continue;
                    }
                    return Ok(message);
                }
                Ok(Routed::Refused {
                    skill: from,
                    reason,
                }) if from == skill => {
                    return Err(reason);
                }
                Ok(other) => self.queued.push_back(other),
                Err(_) => return Err("the police closed the stream".into()),
            }
        }
    }
}
