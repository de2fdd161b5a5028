//! The planner: a request → the router picks a skill (cosine between the request's embedding
//! and each skill's one-line description) → the LLM fills the skill's arguments under the
//! grammar of its interface → the Brain's capabilities are checked → the police dispatches the
//! job → the LLM words the reply. What was asked and answered goes into the memory, and the
//! closest memories come back into the prompts.

use std::net::SocketAddrV4;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::MindError;
use super::embed::{Embedder, cosine};
use super::key::HiveKey;
use super::llm::Llm;
use super::memory::Memory;
use brain::card::{Card, Kind, PeerCard, SkillCard};
use brain::peer;
use brain::protocol::{FRAME_MAX, Message, Routed};

/// Below this similarity no skill fits the request: the LLM answers by itself.
pub const ROUTE_THRESHOLD: f32 = 0.2;
/// How many memories come back into a prompt, and how close they must be.
const RECALL: usize = 3;
const RECALL_THRESHOLD: f32 = 0.5;
/// A skill's result, cut to this many characters in the prompt that words the reply.
const RESULT_IN_PROMPT: usize = 600;

/// How the planner reaches a skill: through the police (its answer, or why there is none).
pub trait Dispatch {
    fn request(&mut self, skill: &str, message: Message) -> Result<Message, String>;

    /// The answer `skill` delivers from the peer at `from` (to a MESSAGE it sent there), if
    /// one comes within `within`.
    fn answer(
        &mut self,
        skill: &str,
        from: SocketAddrV4,
        within: Duration,
    ) -> Option<peer::Delivery>;
}

pub struct Planner {
    pub card: Card,
    pub llm: Llm,
    pub embedder: Embedder,
    pub memory: Memory,
    /// The `files` store, when the Brain holds `store:files:ro`.
    pub files: Option<PathBuf>,
    /// The hive's own key (its `keys` store): it signs what goes to peers.
    pub key: Option<HiveKey>,
    /// Each skill with an interface, and its description's embedding.
    routes: Vec<(SkillCard, Vec<f32>)>,
}

/// What the Brain answers: the plan, the skill called, timings, the reply (`hivebuild ask
/// --json` prints it as it is).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Answer {
    pub request: String,
    /// The skill the router chose (none: no skill fits) and every skill's score.
    pub skill: Option<String>,
    pub scores: Vec<(String, f32)>,
    /// The arguments the LLM filled.
    pub arguments: Option<serde_json::Value>,
    /// The skill's result (its `Done`), as text.
    pub result: Option<String>,
    pub reply: String,
    /// Why the request failed, when it did (the reply says so too).
    pub error: Option<String>,
    pub recalled: Vec<String>,
    pub timings: Timings,
}

/// Milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    pub route: f64,
    pub recall: f64,
    pub fill: f64,
    pub skill: f64,
    pub word: f64,
    pub total: f64,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl Planner {
    pub fn new(
        card: Card,
        llm: Llm,
        embedder: Embedder,
        memory: Memory,
        files: Option<PathBuf>,
    ) -> Result<Self, MindError> {
        let routes = card
            .skills
            .iter()
            .map(|skill| Ok((skill.clone(), embedder.embed(&skill.description)?)))
            .collect::<Result<_, MindError>>()?;
        Ok(Self {
            card,
            llm,
            embedder,
            memory,
            files,
            key: None,
            routes,
        })
    }

    /// Every skill's similarity to `query`, best first.
    pub fn scores(&self, query: &[f32]) -> Vec<(String, f32)> {
        let mut scores: Vec<(String, f32)> = self
            .routes
            .iter()
            .map(|(skill, vector)| (skill.name.clone(), cosine(query, vector)))
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        scores
    }

    /// Answer `request`, reaching skills through `dispatch`.
    pub fn ask(&mut self, request: &str, dispatch: &mut dyn Dispatch) -> Answer {
        let started = Instant::now();
        let mut answer = Answer {
            request: request.to_owned(),
            ..Answer::default()
        };
        if let Err(error) = self.plan(request, dispatch, &mut answer) {
            answer.reply = format!("I could not do that: {error}");
            answer.error = Some(error.to_string());
        }
        answer.timings.total = ms(started);
        answer
    }

    fn plan(
        &mut self,
        request: &str,
        dispatch: &mut dyn Dispatch,
        answer: &mut Answer,
    ) -> Result<(), MindError> {
        let at = Instant::now();
        let query = self.embedder.embed(request)?;
        answer.scores = self.scores(&query);
        answer.timings.route = ms(at);
        let at = Instant::now();
        answer.recalled = self
            .memory
            .recall(&query, RECALL)
            .into_iter()
            .filter(|r| r.score >= RECALL_THRESHOLD)
            .map(|r| r.text)
            .collect();
        answer.timings.recall = ms(at);
        let context = if answer.recalled.is_empty() {
            String::new()
        } else {
            format!(
                "Earlier requests and what came of them:\n{}\n",
                answer.recalled.join("\n")
            )
        };
        let chosen = answer
            .scores
            .first()
            .filter(|(_, score)| *score >= ROUTE_THRESHOLD)
            .map(|(name, _)| name.clone());
        let Some(name) = chosen else {
            let at = Instant::now();
            let prompt = self.llm.prompt(
                "You are the Brain of a small agent system. Answer in one or two short sentences.",
                &format!("{context}{request}"),
            )?;
            answer.reply = self.llm.generate(&prompt, None, 64)?.text.trim().to_owned();
            answer.timings.word = ms(at);
            return self.remember(&query, request, answer);
        };
        answer.skill = Some(name.clone());
        let skill = self
            .card
            .skill(&name)
            .cloned()
            .expect("routes come from the card");
        let at = Instant::now();
        let arguments = self.fill(&skill, request)?;
        answer.arguments = Some(arguments.clone());
        answer.timings.fill = ms(at);
        let (job, to) = self.job(&skill, &arguments)?;
        let at = Instant::now();
        let reply = match (dispatch.request(&name, Message::Job(job)), to) {
            // A message to a peer is done when the peer's answer is back.
            (Ok(Message::Done(_)), Some(to)) => self.wait_for_peer(dispatch, &name, to),
            (reply, _) => reply,
        };
        answer.timings.skill = ms(at);
        let result = match reply {
            Ok(Message::Done(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(Message::Error(why)) => return Err(MindError::Skill(name, why)),
            Ok(other) => {
                return Err(MindError::Skill(
                    name,
                    format!("answered {other:?}, not `Done`"),
                ));
            }
            Err(why) => return Err(MindError::Skill(name, why)),
        };
        answer.result = Some(result.clone());
        let at = Instant::now();
        let excerpt: String = result.chars().take(RESULT_IN_PROMPT).collect();
        let prompt = self.llm.prompt(
            "You are the Brain of a small agent system. Summarise the tool's result for the \
             user in one short sentence.",
            &format!("{context}The user asked: {request}\nThe `{name}` skill returned:\n{excerpt}"),
        )?;
        answer.reply = self.llm.generate(&prompt, None, 64)?.text.trim().to_owned();
        answer.timings.word = ms(at);
        self.remember(&query, request, answer)
    }

    /// The peers this hive can send to: those with an address, but itself.
    pub fn reachable_peers(&self) -> Vec<&PeerCard> {
        let me = self.key.as_ref().map(HiveKey::public);
        self.card
            .peers
            .iter()
            .filter(|p| p.address.is_some())
            .filter(|p| me.is_none() || brain::card::decode_key(&p.key) != me)
            .collect()
    }

    /// The answer of the peer at `to` that `skill` delivers, in words (who said what) as the
    /// skill's `Done`; or why there is none.
    fn wait_for_peer(
        &self,
        dispatch: &mut dyn Dispatch,
        skill: &str,
        to: SocketAddrV4,
    ) -> Result<Message, String> {
        let within = Duration::from_millis(peer::ANSWER_MS);
        let delivered = dispatch
            .answer(skill, to, within)
            .ok_or_else(|| format!("no answer from the peer at {to} within {within:?}"))?;
        let said = format!(
            "{} answered: {}",
            self.peer_name(&delivered.key),
            String::from_utf8_lossy(&delivered.body)
        );
        Ok(Message::Done(said.into_bytes()))
    }

    /// A peer by its `[peers]` name, quoted, when it has one.
    fn peer_name(&self, key: &[u8; peer::KEY]) -> String {
        self.card
            .peer_by_key(key)
            .map_or_else(|| "an unnamed peer".to_owned(), |p| format!("`{}`", p.name))
    }

    /// Answer a peer's message that `skill` delivered (`bytes`: a [`peer::Delivery`]): the
    /// LLM words a short answer, the hive's key signs it, `skill` sends it back. The message
    /// is words to answer, never a request to plan: no other skill is asked for it. What
    /// happened, in a few words (never the message's own bytes).
    pub fn answer_peer(
        &mut self,
        skill: &str,
        bytes: &[u8],
        dispatch: &mut dyn Dispatch,
    ) -> Result<String, MindError> {
        let delivery = peer::Delivery::decode(bytes).ok_or_else(|| {
            MindError::Job(format!(
                "`{skill}` delivered {} bytes, not a peer's message",
                bytes.len()
            ))
        })?;
        let name = self.peer_name(&delivery.key);
        if delivery.is_answer() {
            return Ok(format!(
                "an answer from {name} came after its asker stopped waiting; dropped"
            ));
        }
        let Some(key) = &self.key else {
            return Ok(format!(
                "a message from {name} ({} bytes); this hive has no key to answer with",
                delivery.body.len()
            ));
        };
        let text = String::from_utf8_lossy(&delivery.body);
        let prompt = self.llm.prompt(
            "You are the Brain of a small agent system. Another hive sent you a message. \
             Answer it in one short, friendly sentence.",
            &format!("The hive {name} says: {text}"),
        )?;
        let words = self.llm.generate(&prompt, None, 40)?.text.trim().to_owned();
        let body = cut(&words, peer::MAX_BODY);
        let datagram = key.sign(peer::REPLY | peer::MESSAGE, body.as_bytes());
        match dispatch.request(
            skill,
            Message::Job(peer::send_job(delivery.from, &datagram)),
        ) {
            Ok(Message::Done(_)) => Ok(format!(
                "a message from {name} ({} bytes); answered ({} bytes)",
                delivery.body.len(),
                body.len()
            )),
            Ok(Message::Error(why)) | Err(why) => Err(MindError::Skill(skill.to_owned(), why)),
            Ok(other) => Err(MindError::Skill(
                skill.to_owned(),
                format!("answered {other:?}, not `Done`"),
            )),
        }
    }

    /// The skill's arguments, as the LLM fills them under the skill's grammar.
    fn fill(&self, skill: &SkillCard, request: &str) -> Result<serde_json::Value, MindError> {
        if skill.request.is_empty() {
            return Ok(serde_json::json!({}));
        }
        let peers: Vec<String> = self
            .reachable_peers()
            .into_iter()
            .map(|p| p.name.clone())
            .collect();
        if sends_to_peers(skill) {
            if self.key.is_none() {
                return Err(MindError::NotGranted(
                    "this hive has no key to sign with: `hivebuild key generate --out <keys store>/hive`"
                        .into(),
                ));
            }
            if peers.is_empty() {
                return Err(MindError::Job(
                    "the hive knows no peer with an address to send to (`[peers.NAME]`)".into(),
                ));
            }
        }
        let described: Vec<String> = skill
            .request
            .iter()
            .map(|a| {
                let kind = match &a.kind {
                    Kind::Text => "text".to_owned(),
                    Kind::Integer => "a whole number".to_owned(),
                    Kind::File => "a file path, as written in the request".to_owned(),
                    Kind::OneOf(words) => format!("one of {}", words.join(", ")),
                    Kind::Peer => format!("the peer hive, one of {}", peers.join(", ")),
                };
                format!("- {}: {kind}", a.name)
            })
            .collect();
        let prompt = self.llm.prompt(
            "You fill in the arguments of a tool call as JSON, taking the values from the \
             request.",
            &format!(
                "Tool `{}`: {}.\nArguments:\n{}\nRequest: {request}",
                skill.name,
                skill.description,
                described.join("\n")
            ),
        )?;
        let grammar = brain::grammar::request(skill, &brain::grammar::paths_in(request), &peers);
        let generated = self.llm.generate(&prompt, Some(&grammar), 96)?;
        serde_json::from_str(&generated.text).map_err(|e| {
            MindError::Llm(format!(
                "the arguments `{}` do not parse ({e})",
                generated.text
            ))
        })
    }

    /// The job for `skill`: the bytes of its `file` argument, a signed message to a peer (and
    /// where it goes), or its arguments as JSON.
    fn job(
        &self,
        skill: &SkillCard,
        arguments: &serde_json::Value,
    ) -> Result<(Vec<u8>, Option<SocketAddrV4>), MindError> {
        let channel = format!("channel:{}", skill.name);
        if !self.card.holds(&channel) {
            return Err(MindError::NotGranted(format!(
                "the Brain holds no `{channel}`"
            )));
        }
        let (job, to) = if let Some(file) = skill.request.iter().find(|a| a.kind == Kind::File) {
            let path = arguments[&file.name].as_str().unwrap_or_default();
            (self.read_file(path)?, None)
        } else if sends_to_peers(skill) {
            let (job, to) = self.message(skill, arguments)?;
            (job, Some(to))
        } else {
            let json = serde_json::to_vec(arguments).expect("a JSON value serialises");
            (json, None)
        };
        // A job travels to the police in one frame, with the skill's name.
        let empty = Routed::Skill {
            skill: skill.name.clone(),
            message: Message::Job(Vec::new()),
        };
        let room = FRAME_MAX - empty.encode().len();
        if job.len() > room {
            return Err(MindError::Job(format!(
                "the job is {} bytes; a frame carries at most {room}",
                job.len()
            )));
        }
        Ok((job, to))
    }

    /// The job that sends a peer the request's message, signed by the hive's key: the
    /// manifest's checks leave a `peer` argument and one `text` argument.
    fn message(
        &self,
        skill: &SkillCard,
        arguments: &serde_json::Value,
    ) -> Result<(Vec<u8>, SocketAddrV4), MindError> {
        let argument = |kind: &Kind| {
            skill
                .request
                .iter()
                .find(|a| a.kind == *kind)
                .and_then(|a| arguments[&a.name].as_str())
                .unwrap_or_default()
        };
        let name = argument(&Kind::Peer);
        let text = argument(&Kind::Text);
        let to = self
            .reachable_peers()
            .into_iter()
            .find(|p| p.name == name)
            .and_then(|p| p.address.as_ref()?.parse().ok())
            .ok_or_else(|| MindError::Job(format!("no peer `{name}` to send to")))?;
        if text.len() > peer::MAX_BODY {
            return Err(MindError::Job(format!(
                "the message is {} bytes; a peer message carries at most {}",
                text.len(),
                peer::MAX_BODY
            )));
        }
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| MindError::NotGranted("this hive has no key to sign with".into()))?;
        let job = peer::send_job(to, &key.sign(peer::MESSAGE, text.as_bytes()));
        Ok((job, to))
    }

    /// A file of the `files` store, by a relative path that stays inside it.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, MindError> {
        let Some(store) = &self.files else {
            return Err(MindError::NotGranted(
                "the Brain holds no `store:files:ro` to read files from".into(),
            ));
        };
        let relative = Path::new(path);
        if path.is_empty()
            || !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(MindError::Job(format!(
                "`{path}` is not a path inside the files store"
            )));
        }
        std::fs::read(store.join(relative))
            .map_err(|e| MindError::Job(format!("cannot read `{path}` in the files store: {e}")))
    }

    fn remember(&mut self, query: &[f32], request: &str, answer: &Answer) -> Result<(), MindError> {
        let skill = answer.skill.as_deref().unwrap_or("no skill");
        let reply: String = answer.reply.chars().take(200).collect();
        self.memory
            .remember(query.to_vec(), &format!("- {request} ({skill}): {reply}"))
    }
}

/// Whether `skill`'s request names a peer: its job is a signed message to it.
fn sends_to_peers(skill: &SkillCard) -> bool {
    skill.request.iter().any(|a| a.kind == Kind::Peer)
}

/// `text`, cut to at most `bytes` bytes on a character boundary.
fn cut(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosted::{embed, llm, memory, models};
    use brain::card::{Argument, CARD_VERSION};

    /// The models store `ci/install-models` fills, or why the test does not run.
    pub(crate) fn models_store(test: &str) -> Option<PathBuf> {
        // Where ci/install-models puts them, and hivebuild looks.
        let store = brain::stores::default_folder("models");
        if store.join(models::LLM.path).is_file() {
            return Some(store);
        }
        let message = format!(
            "{test}: did not run: no models in `{}` (run ci/install-models)",
            store.display()
        );
        assert!(
            std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
            "{message}"
        );
        eprintln!("{message}");
        None
    }

    fn card() -> Card {
        let skill = |name: &str, description: &str, request| SkillCard {
            name: name.into(),
            description: description.into(),
            request,
        };
        Card {
            version: CARD_VERSION,
            hive: "test".into(),
            caps: vec![
                "channel:pdf".into(),
                "store:models:ro".into(),
                "store:files:ro".into(),
                "channel:net".into(),
            ],
            peers: vec![
                PeerCard {
                    name: "alice".into(),
                    key: hex(&secret_key(ALICE).verifying_key().to_bytes()),
                    address: Some("10.0.2.2:4101".into()),
                },
                PeerCard {
                    name: "bob".into(),
                    key: hex(&secret_key(BOB).verifying_key().to_bytes()),
                    address: Some("10.0.2.2:4102".into()),
                },
            ],
            skills: vec![
                skill(
                    "pdf",
                    "extract the text of a PDF document",
                    vec![Argument {
                        name: "path".into(),
                        kind: Kind::File,
                    }],
                ),
                skill(
                    "net",
                    "send a message to a peer hive over the network",
                    vec![
                        Argument {
                            name: "peer".into(),
                            kind: Kind::Peer,
                        },
                        Argument {
                            name: "text".into(),
                            kind: Kind::Text,
                        },
                    ],
                ),
                skill(
                    "sign",
                    "sign a document with the hive's key",
                    vec![Argument {
                        name: "path".into(),
                        kind: Kind::File,
                    }],
                ),
            ],
        }
    }

    const ALICE: &[u8; 32] = b"test hive alice: a key for tests";
    const BOB: &[u8; 32] = b"test hive bob: a key for tests!!";

    fn secret_key(seed: &[u8; 32]) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(seed)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `seed` as the hive's key, in a `keys` store under `scratch`.
    fn hive_key(scratch: &Path, seed: &[u8; 32]) -> HiveKey {
        use std::os::unix::fs::PermissionsExt as _;
        let store = scratch.join("keys");
        std::fs::create_dir_all(&store).unwrap();
        let path = store.join(crate::hosted::key::FILE);
        std::fs::write(&path, hex(seed)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        HiveKey::load(&store).unwrap().unwrap()
    }

    /// A police that answers `pdf` jobs with a fixed text and `net` jobs with bob's signed
    /// answer (as the net skill hands it on: key, body), and counts what it was sent.
    struct FakePolice {
        jobs: Vec<(String, Vec<u8>)>,
    }

    impl Dispatch for FakePolice {
        fn request(&mut self, skill: &str, message: Message) -> Result<Message, String> {
            let Message::Job(bytes) = message else {
                return Err("only jobs".into());
            };
            self.jobs.push((skill.to_owned(), bytes));
            if skill == "net" {
                return Ok(Message::Done(Vec::new()));
            }
            Ok(Message::Done(b"Hive quarterly report\n".to_vec()))
        }

        fn answer(
            &mut self,
            skill: &str,
            from: SocketAddrV4,
            _within: Duration,
        ) -> Option<peer::Delivery> {
            (skill == "net").then(|| peer::Delivery {
                from,
                opcode: peer::REPLY | peer::MESSAGE,
                key: secret_key(BOB).verifying_key().to_bytes(),
                body: b"hello alice".to_vec(),
            })
        }
    }

    /// The datagram of a `net` job, checked: sent to `to`, signed by `by`; its opcode and body.
    fn sent(job: &[u8], to: &str, by: &[u8; 32]) -> (u8, Vec<u8>) {
        use ed25519_dalek::Verifier as _;
        let to: std::net::SocketAddrV4 = to.parse().unwrap();
        assert_eq!(&job[..peer::ENDPOINT], &peer::send_job(to, b"")[..]);
        let datagram = &job[peer::ENDPOINT..];
        let (header, rest) = datagram.split_at(peer::HEADER);
        let (key, rest) = rest.split_at(peer::KEY);
        let (signature, body) = rest.split_at(peer::SIGNATURE);
        let public = secret_key(by).verifying_key();
        assert_eq!(key, public.to_bytes());
        let signature = ed25519_dalek::Signature::from_slice(signature).unwrap();
        assert!(
            public
                .verify(&[header, key, body].concat(), &signature)
                .is_ok()
        );
        (header[3], body.to_vec())
    }

    #[test]
    fn the_brain_signs_what_it_sends_a_peer_and_answers_what_a_peer_delivers() {
        let test = "the_brain_signs_what_it_sends_a_peer_and_answers_what_a_peer_delivers";
        let Some(store) = models_store(test) else {
            return;
        };
        let scratch = std::env::temp_dir().join(format!("brain-peers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        let llm = llm::Llm::load(&models::LLM.checked(&store).unwrap(), 2).unwrap();
        let embedder = embed::Embedder::load(&store).unwrap();
        let memory = memory::Memory::open(&scratch.join("memory")).unwrap();
        let mut planner = Planner::new(card(), llm, embedder, memory, None).unwrap();
        let mut police = FakePolice { jobs: Vec::new() };

        // No key: nothing is sent.
        let refused = planner.ask("send hello to the peer hive bob", &mut police);
        assert_eq!(refused.skill.as_deref(), Some("net"), "{refused:#?}");
        assert!(
            refused.error.as_deref().unwrap().contains("no key"),
            "{refused:#?}"
        );
        assert!(police.jobs.is_empty());

        // Alice's key: the grammar leaves bob (alice is this hive), the message goes to bob's
        // address signed by alice, and bob's answer comes back named.
        planner.key = Some(hive_key(&scratch, ALICE));
        assert_eq!(planner.reachable_peers().len(), 1);
        let answer = planner.ask("send hello to the peer hive bob", &mut police);
        assert_eq!(answer.error, None, "{answer:#?}");
        let arguments = answer.arguments.clone().unwrap();
        assert_eq!(arguments["peer"], "bob", "{answer:#?}");
        let (opcode, body) = sent(&police.jobs[0].1, "10.0.2.2:4102", ALICE);
        assert_eq!(opcode, peer::MESSAGE);
        assert_eq!(body, arguments["text"].as_str().unwrap().as_bytes());
        assert_eq!(
            answer.result.as_deref(),
            Some("`bob` answered: hello alice"),
            "{answer:#?}"
        );

        // Bob's message, delivered: the answer is worded, signed by alice, sent where it
        // came from, as a reply.
        let from: std::net::SocketAddrV4 = "10.0.2.2:40000".parse().unwrap();
        let delivery = peer::Delivery {
            from,
            opcode: peer::MESSAGE,
            key: secret_key(BOB).verifying_key().to_bytes(),
            body: b"how are you, alice?".to_vec(),
        };
        let said = planner
            .answer_peer("net", &delivery.encode(), &mut police)
            .unwrap();
        assert!(
            said.contains("from `bob`") && said.contains("answered"),
            "{said}"
        );
        let (opcode, body) = sent(&police.jobs[1].1, "10.0.2.2:40000", ALICE);
        assert_eq!(opcode, peer::REPLY | peer::MESSAGE);
        assert!(!body.is_empty() && body.len() <= peer::MAX_BODY);
        assert!(planner.answer_peer("net", b"short", &mut police).is_err());
        // A late answer is not answered.
        let late = peer::Delivery {
            opcode: peer::REPLY | peer::MESSAGE,
            ..delivery
        };
        let said = planner
            .answer_peer("net", &late.encode(), &mut police)
            .unwrap();
        assert!(said.contains("dropped"), "{said}");
        assert_eq!(police.jobs.len(), 2);
        std::fs::remove_dir_all(scratch).unwrap();
    }

    #[test]
    fn the_planner_routes_fills_under_the_grammar_checks_caps_dispatches_and_remembers() {
        let test =
            "the_planner_routes_fills_under_the_grammar_checks_caps_dispatches_and_remembers";
        let Some(store) = models_store(test) else {
            return;
        };
        let scratch = std::env::temp_dir().join(format!("brain-planner-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(scratch.join("files/samples")).unwrap();
        std::fs::write(scratch.join("files/samples/report.pdf"), b"%PDF-1.4 fake").unwrap();
        let llm = llm::Llm::load(&models::LLM.checked(&store).unwrap(), 2).unwrap();
        let embedder = embed::Embedder::load(&store).unwrap();
        let memory = memory::Memory::open(&scratch.join("memory")).unwrap();
        let mut planner =
            Planner::new(card(), llm, embedder, memory, Some(scratch.join("files"))).unwrap();
        let mut police = FakePolice { jobs: Vec::new() };

        let answer = planner.ask("extract the text of samples/report.pdf", &mut police);
        assert_eq!(answer.error, None, "{answer:#?}");
        assert_eq!(answer.skill.as_deref(), Some("pdf"), "{answer:#?}");
        assert_eq!(
            answer.arguments,
            Some(serde_json::json!({"path": "samples/report.pdf"}))
        );
        assert_eq!(police.jobs, [("pdf".to_owned(), b"%PDF-1.4 fake".to_vec())]);
        assert_eq!(answer.result.as_deref(), Some("Hive quarterly report\n"));
        assert!(!answer.reply.is_empty());

        // The router sends other requests elsewhere; the Brain holds no channel to `sign`,
        // so nothing is dispatched.
        let net = planner.scores(
            &planner
                .embedder
                .embed("send hello to the peer hive bob")
                .unwrap(),
        );
        assert_eq!(net[0].0, "net", "{net:?}");
        let refused = planner.ask("sign the document contract.pdf with our key", &mut police);
        assert_eq!(refused.skill.as_deref(), Some("sign"), "{refused:#?}");
        assert!(
            refused
                .error
                .as_deref()
                .unwrap()
                .contains("no `channel:sign`"),
            "{refused:#?}"
        );
        assert_eq!(police.jobs.len(), 1);

        // A path out of the files store is refused before anything is sent.
        let escape = planner.ask("extract the text of ../secret.pdf", &mut police);
        assert!(escape.error.is_some(), "{escape:#?}");
        assert_eq!(police.jobs.len(), 1);

        // What was answered is remembered (not what was refused), and recalled for a like one.
        assert_eq!(planner.memory.len(), 1);
        let again = planner.ask("extract the text of samples/report.pdf", &mut police);
        assert!(
            again
                .recalled
                .iter()
                .any(|r| r.contains("samples/report.pdf")),
            "{again:#?}"
        );
        std::fs::remove_dir_all(scratch).unwrap();
    }

    #[test]
    fn the_engine_generates_a_bounded_reply_in_the_models_chat_template() {
        let test = "the_engine_generates_a_bounded_reply_in_the_models_chat_template";
        let Some(store) = models_store(test) else {
            return;
        };
        // Speed belongs to `brain bench`; here, that the engine generates and counts.
        let llm = llm::Llm::load(&models::LLM.checked(&store).unwrap(), 2).unwrap();
        let prompt = llm.prompt("You are terse.", "Say hello.").unwrap();
        assert!(prompt.contains("<|im_start|>user\nSay hello."), "{prompt}");
        let generation = llm.generate(&prompt, None, 8).unwrap();
        assert!(generation.prompt_tokens > 5);
        assert!((1..=8).contains(&generation.tokens));
        assert!(!generation.text.is_empty());
    }
}
