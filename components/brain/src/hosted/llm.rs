//! The Brain's LLM: llama.cpp (through `llama-cpp-2`) on SmolLM2-135M-Instruct, greedy, with
//! a GBNF grammar when the output must parse.

use std::num::NonZeroU32;
use std::path::Path;
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use super::MindError;

/// The context a conversation fits in (SmolLM2 was trained on 8192).
const CONTEXT: u32 = 2048;

pub struct Llm {
    backend: &'static LlamaBackend,
    model: LlamaModel,
    template: LlamaChatTemplate,
    threads: i32,
}

/// One generation and what it cost.
#[derive(Clone, Debug, Default)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: usize,
    pub tokens: usize,
    pub prefill: Duration,
    pub decode: Duration,
}

impl Generation {
    /// Prompt tokens per second.
    pub fn prefill_rate(&self) -> f64 {
        rate(self.prompt_tokens, self.prefill)
    }

    /// Generated tokens per second (the first token comes with the prefill).
    pub fn decode_rate(&self) -> f64 {
        rate(self.tokens.saturating_sub(1), self.decode)
    }
}

fn rate(tokens: usize, time: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let tokens = tokens as f64;
    tokens / time.as_secs_f64().max(1e-9)
}

fn llm_error(what: &str) -> impl Fn(&dyn std::fmt::Display) -> MindError + '_ {
    move |e| MindError::Llm(format!("{what}: {e}"))
}

impl Llm {
    /// Load the GGUF at `path` (checked by the caller) to run on `threads` threads.
    pub fn load(path: &Path, threads: usize) -> Result<Self, MindError> {
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| MindError::Model {
                path: path.to_owned(),
                why: format!("llama.cpp cannot load it: {e}"),
            })?;
        let template = model.chat_template(None).map_err(|e| MindError::Model {
            path: path.to_owned(),
            why: format!("it has no chat template: {e}"),
        })?;
        Ok(Self {
            backend,
            model,
            template,
            threads: i32::try_from(threads.max(1)).unwrap_or(1),
        })
    }

    /// The chat prompt for a system line and a user message, ending where the assistant
    /// speaks (the model's own template, from the GGUF).
    pub fn prompt(&self, system: &str, user: &str) -> Result<String, MindError> {
        let message = |role: &str, content: &str| {
            LlamaChatMessage::new(role.into(), content.into())
                .map_err(|e| llm_error("a chat message")(&e))
        };
        let chat = [message("system", system)?, message("user", user)?];
        self.model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|e| llm_error("the chat template")(&e))
    }

    /// Generate up to `max_tokens` after `prompt`, greedily, under `grammar` (GBNF, start
    /// rule `root`) when one is given.
    pub fn generate(
        &self,
        prompt: &str,
        grammar: Option<&str>,
        max_tokens: usize,
    ) -> Result<Generation, MindError> {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(CONTEXT))
            .with_n_batch(CONTEXT)
            .with_n_threads(self.threads)
            .with_n_threads_batch(self.threads);
        let mut context = self
            .model
            .new_context(self.backend, params)
            .map_err(|e| llm_error("a llama.cpp context")(&e))?;
        let vocab = self.model.vocab();
        let tokens = vocab.tokenize(prompt.as_bytes(), false, true);
        let budget = usize::try_from(CONTEXT).unwrap_or(usize::MAX);
        if tokens.is_empty() || tokens.len() + max_tokens > budget {
            return Err(MindError::Llm(format!(
                "a prompt of {} tokens and {max_tokens} to generate does not fit the context of {CONTEXT}",
                tokens.len()
            )));
        }
        let mut sampler = match grammar {
            Some(grammar) => LlamaSampler::chain_simple([
                LlamaSampler::grammar(&self.model, grammar, "root")
                    .map_err(|e| llm_error("the grammar")(&e))?,
                LlamaSampler::greedy(),
            ]),
            None => LlamaSampler::greedy(),
        };
        let mut batch = LlamaBatch::new(budget, 1);
        let last = tokens.len() - 1;
        for (i, token) in tokens.iter().enumerate() {
            batch
                .add(*token, position(i), &[0], i == last)
                .map_err(|e| llm_error("the prompt batch")(&e))?;
        }
        let started = Instant::now();
        context
            .decode(&mut batch)
            .map_err(|e| llm_error("the prompt")(&e))?;
        let mut generation = Generation {
            prompt_tokens: tokens.len(),
            prefill: started.elapsed(),
            ..Generation::default()
        };
        let decoding = Instant::now();
        let mut bytes = Vec::new();
        let mut at = tokens.len();
        while generation.tokens < max_tokens {
            let token: LlamaToken = sampler.sample(&context, batch.n_tokens() - 1);
            generation.tokens += 1;
            if vocab.is_eog(token) {
                break;
            }
            bytes.extend(vocab.token_to_piece(token, false, None));
            batch.clear();
            batch
                .add(token, position(at), &[0], true)
                .map_err(|e| llm_error("a token batch")(&e))?;
            at += 1;
            context
                .decode(&mut batch)
                .map_err(|e| llm_error("a token")(&e))?;
        }
        generation.decode = decoding.elapsed();
        generation.text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(generation)
    }
}

/// llama.cpp's backend: initialised once per process (a second `init` while one lives is an
/// error), its logging off.
pub fn backend() -> Result<&'static LlamaBackend, MindError> {
    static BACKEND: std::sync::OnceLock<LlamaBackend> = std::sync::OnceLock::new();
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = INIT
        .lock()
        .map_err(|_| MindError::Llm("llama.cpp's backend".into()))?;
    if let Some(backend) = BACKEND.get() {
        return Ok(backend);
    }
    let mut backend = LlamaBackend::init().map_err(|e| llm_error("llama.cpp")(&e))?;
    backend.void_logs();
    Ok(BACKEND.get_or_init(|| backend))
}

fn position(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}
