//! Sentence embeddings for the router and the memory: all-MiniLM-L6-v2 (a 6-layer BERT, 384
//! dimensions) with candle, mean-pooled over the tokens and normalised, so cosine similarity
//! is a dot product.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use super::MindError;
use super::models::EMBEDDER;

pub const DIMENSIONS: usize = 384;

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

fn embed_error(e: &dyn std::fmt::Display) -> MindError {
    MindError::Embed(e.to_string())
}

impl Embedder {
    /// Load the embedder's files from the `models` store (each checked against its sha256).
    pub fn load(store: &Path) -> Result<Self, MindError> {
        let [weights, tokenizer, config] = EMBEDDER.map(|file| file.read(store));
        let ((weights, weight_bytes), (tokenizer, tokenizer_bytes), (config, config_bytes)) =
            (weights?, tokenizer?, config?);
        let config: Config =
            serde_json::from_slice(&config_bytes).map_err(|e| MindError::Model {
                path: config.clone(),
                why: format!("not a BERT configuration: {e}"),
            })?;
        let mut tokenizer =
            Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| MindError::Model {
                path: tokenizer.clone(),
                why: format!("not a tokenizer: {e}"),
            })?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: 256,
                ..Default::default()
            }))
            .map_err(|e| embed_error(&e))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weight_bytes, DType::F32, &device).map_err(
            |e| MindError::Model {
                path: weights.clone(),
                why: format!("not safetensors: {e}"),
            },
        )?;
        let model = BertModel::load(vb, &config).map_err(|e| MindError::Model {
            path: weights,
            why: format!("not all-MiniLM-L6-v2's weights: {e}"),
        })?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// The unit-length embedding of `text`.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, MindError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| embed_error(&e))?;
        let ids = Tensor::new(encoding.get_ids(), &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(|e| embed_error(&e))?;
        let types = ids.zeros_like().map_err(|e| embed_error(&e))?;
        let mask = Tensor::new(encoding.get_attention_mask(), &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(|e| embed_error(&e))?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(|e| embed_error(&e))?;
        // Mean over the tokens (one sentence, no padding), then unit length.
        let pooled = hidden
            .mean(1)
            .and_then(|t| t.squeeze(0))
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| embed_error(&e))?;
        Ok(normalised(pooled))
    }
}

pub fn normalised(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    for x in &mut vector {
        *x /= norm;
    }
    vector
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
