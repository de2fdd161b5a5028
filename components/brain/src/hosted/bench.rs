//! `brain bench --store models=PATH [--threads N] [--json]`: the engine's figures. LLM prefill
//! and decode through the Brain's engine, next to a plain llama.cpp loop (the `llama-cpp-2`
//! crate with nothing of the Brain's: its own batch, a greedy sampler) on the same GGUF and
//! threads; the router's time per request; memory recall at 10 000 entries.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use serde::Serialize;

use super::embed::{Embedder, cosine, normalised};
use super::llm::Llm;
use super::memory::Memory;
use super::{Args, MindError, models};

/// Tokens generated per measured run.
const TOKENS: usize = 96;
const RUNS: usize = 3;
const MEMORY_ENTRIES: usize = 10_000;

#[derive(Debug, Default, Serialize)]
pub struct Figures {
    pub threads: usize,
    pub brain_prefill_tok_s: f64,
    pub brain_decode_tok_s: f64,
    pub llama_cpp_prefill_tok_s: f64,
    pub llama_cpp_decode_tok_s: f64,
    pub prompt_tokens: usize,
    pub router_ms_p50: f64,
    pub embed_ms_p50: f64,
    pub recall_ms_p50: f64,
    pub recall_entries: usize,
}

const REQUEST: &str = "Write a short story about a hive of bees that learns to build a \
                       radio, with three characters and a happy ending.";

pub fn run(args: &Args) -> Result<Figures, MindError> {
    let store = args
        .store("models")
        .ok_or_else(|| MindError::Usage("give the models: --store models=PATH".into()))?;
    let gguf = models::LLM.checked(store)?;
    let mut figures = Figures {
        threads: args.threads,
        ..Figures::default()
    };
    // The Brain's engine: best of RUNS.
    let llm = Llm::load(&gguf, args.threads)?;
    let prompt = llm.prompt("You are a helpful assistant.", REQUEST)?;
    for _ in 0..RUNS {
        let generation = llm.generate(&prompt, None, TOKENS)?;
        figures.prompt_tokens = generation.prompt_tokens;
        figures.brain_prefill_tok_s = figures.brain_prefill_tok_s.max(generation.prefill_rate());
        figures.brain_decode_tok_s = figures.brain_decode_tok_s.max(generation.decode_rate());
    }
    drop(llm);
    // llama.cpp as the crate gives it, same GGUF, prompt and threads.
    let (prefill, decode) = plain_llama_cpp(&gguf, &prompt, args.threads)?;
    figures.llama_cpp_prefill_tok_s = prefill;
    figures.llama_cpp_decode_tok_s = decode;

    let embedder = Embedder::load(store)?;
    let descriptions = [
        "extract the text of a PDF document",
        "send a message to a peer hive over the network",
        "sign a document with the hive's key",
        "search the web for a page",
    ];
    let vectors: Vec<Vec<f32>> = descriptions
        .iter()
        .map(|d| embedder.embed(d))
        .collect::<Result<_, _>>()?;
    let mut embeds = Vec::new();
    let mut routes = Vec::new();
    for i in 0..20 {
        let request = format!("extract the text of samples/report-{i}.pdf");
        let started = Instant::now();
        let query = embedder.embed(&request)?;
        embeds.push(started.elapsed());
        let best = vectors
            .iter()
            .map(|v| cosine(&query, v))
            .fold(f32::MIN, f32::max);
        std::hint::black_box(best);
        routes.push(started.elapsed());
    }
    figures.embed_ms_p50 = p50_ms(&mut embeds);
    figures.router_ms_p50 = p50_ms(&mut routes);

    let folder = std::env::temp_dir().join(format!("brain-bench-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let mut memory = Memory::open(&folder)?;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        #[allow(clippy::cast_precision_loss)]
        let x = (seed >> 40) as f32 / (1u64 << 24) as f32;
        x - 0.5
    };
    let entries: Vec<(Vec<f32>, String)> = (0..MEMORY_ENTRIES)
        .map(|i| {
            let vector = normalised((0..super::embed::DIMENSIONS).map(|_| random()).collect());
            (vector, format!("- request {i} (pdf): answered"))
        })
        .collect();
    memory.remember_all(entries)?;
    drop(memory);
    let memory = Memory::open(&folder)?;
    figures.recall_entries = memory.len();
    let mut recalls = Vec::new();
    for _ in 0..50 {
        let query = normalised((0..super::embed::DIMENSIONS).map(|_| random()).collect());
        let started = Instant::now();
        std::hint::black_box(memory.recall(&query, 3));
        recalls.push(started.elapsed());
    }
    figures.recall_ms_p50 = p50_ms(&mut recalls);
    let _ = std::fs::remove_dir_all(&folder);
    Ok(figures)
}

fn p50_ms(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

/// Prefill and decode tokens/s of the crate's plain loop, best of RUNS.
fn plain_llama_cpp(
    gguf: &std::path::Path,
    prompt: &str,
    threads: usize,
) -> Result<(f64, f64), MindError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| MindError::Llm(format!("{what}: {e}"));
    let backend = super::llm::backend()?;
    let model = LlamaModel::load_from_file(backend, gguf, &LlamaModelParams::default())
        .map_err(|e| fail("model", &e))?;
    let threads = i32::try_from(threads).unwrap_or(1);
    let tokens = model.vocab().tokenize(prompt.as_bytes(), false, true);
    let (mut prefill, mut decode) = (0.0_f64, 0.0_f64);
    for _ in 0..RUNS {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(2048))
            .with_n_batch(2048)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let mut context = model
            .new_context(backend, params)
            .map_err(|e| fail("context", &e))?;
        let mut batch = LlamaBatch::new(2048, 1);
        batch
            .add_sequence(&tokens, 0, false)
            .map_err(|e| fail("batch", &e))?;
        let started = Instant::now();
        context
            .decode(&mut batch)
            .map_err(|e| fail("prefill", &e))?;
        let prefill_time = started.elapsed();
        let mut sampler = LlamaSampler::greedy();
        let started = Instant::now();
        let mut n = 0;
        let mut position = i32::try_from(tokens.len()).unwrap_or(i32::MAX);
        while n < TOKENS {
            let token = sampler.sample(&context, batch.n_tokens() - 1);
            n += 1;
            if model.vocab().is_eog(token) {
                break;
            }
            batch.clear();
            batch
                .add(token, position, &[0], true)
                .map_err(|e| fail("batch", &e))?;
            position += 1;
            context.decode(&mut batch).map_err(|e| fail("decode", &e))?;
        }
        #[allow(clippy::cast_precision_loss)]
        {
            prefill = prefill.max(tokens.len() as f64 / prefill_time.as_secs_f64());
            decode = decode.max((n - 1) as f64 / started.elapsed().as_secs_f64());
        }
    }
    Ok((prefill, decode))
}

/// The figures as a table for people.
pub fn print(figures: &Figures) {
    let ratio = figures.brain_decode_tok_s / figures.llama_cpp_decode_tok_s.max(1e-9);
    println!(
        "engine ({} threads, prompt of {} tokens, {TOKENS} generated, best of {RUNS}):",
        figures.threads, figures.prompt_tokens
    );
    println!(
        "  {:<22} {:>12} {:>12}",
        "", "prefill tok/s", "decode tok/s"
    );
    println!(
        "  {:<22} {:>12.1} {:>12.1}",
        "brain (llama-cpp-2)", figures.brain_prefill_tok_s, figures.brain_decode_tok_s
    );
    println!(
        "  {:<22} {:>12.1} {:>12.1}",
        "llama.cpp plain loop", figures.llama_cpp_prefill_tok_s, figures.llama_cpp_decode_tok_s
    );
    println!("  decode ratio brain / llama.cpp: {ratio:.2}");
    println!(
        "router: {:.2} ms per request p50 (embedding {:.2} ms)",
        figures.router_ms_p50, figures.embed_ms_p50
    );
    println!(
        "memory recall: {:.3} ms p50 at {} entries",
        figures.recall_ms_p50, figures.recall_entries
    );
}
