//! One generation on one slot: decode the prompt, then sample, detokenize and send token by token.
//!
//! Runs on the slot's own thread, never on the async runtime. It stops at the end-of-generation
//! token, a stop sequence, the token limit or the end of the context, and as soon as nobody is
//! listening (the client disconnected and the receiver was dropped) or the gateway shuts down.

use std::sync::atomic::{AtomicBool, Ordering};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use super::logprobs::{token_logprob, TokenLogprob};
use super::text::{StopFilter, Utf8Assembler};
use crate::backend::BackendError;

/// Sampling and stopping settings of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    pub max_tokens: u32,
    /// 0 means greedy.
    pub temperature: f32,
    pub top_p: f32,
    /// 0 disables top-k.
    pub top_k: u32,
    pub seed: u32,
    pub stops: Vec<String>,
    /// A GBNF grammar (rule `root`) the answer must follow: JSON mode, a JSON schema or a tool
    /// call.
    pub grammar: Option<String>,
    /// Report each token's log-probability, with this many alternatives (`logprobs`,
    /// `top_logprobs`); `None` reports none.
    pub logprobs: Option<u8>,
}

/// Why generation ended normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

/// What a slot reports about a job, in order: `Started`, any number of `Text`, then `Finished`
/// or `Failed`.
#[derive(Debug)]
pub enum GenEvent {
    Started {
        prompt_tokens: usize,
    },
    Text(String),
    /// The tokens behind the next `Text` (or the end), when log-probabilities were asked for.
    Logprobs(Vec<TokenLogprob>),
    Finished {
        reason: FinishReason,
        completion_tokens: usize,
    },
    Failed(BackendError),
}

/// Why a generation ended early.
pub enum Interrupted {
    /// The receiver is gone: nobody to report to.
    Disconnected,
    Failed(BackendError),
}

/// Generates an answer to `prompt`, sending `Text` events; returns how it ended.
pub fn generate(
    context: &mut LlamaContext<'_>,
    model: &LlamaModel,
    prompt: &[LlamaToken],
    params: &GenParams,
    events: &mpsc::Sender<GenEvent>,
    shutdown: &AtomicBool,
) -> Result<(FinishReason, usize), Interrupted> {
    let interrupted = || {
        if events.is_closed() {
            Some(Interrupted::Disconnected)
        } else if shutdown.load(Ordering::Relaxed) {
            Some(Interrupted::Failed(BackendError::Cancelled))
        } else {
            None
        }
    };
    let decode_failed = || {
        Interrupted::Failed(BackendError::unavailable(
            "llama.cpp could not decode the batch",
        ))
    };

    context.clear_kv_cache();
    let n_ctx = context.n_ctx() as usize;
    let n_batch = (context.n_batch() as usize).max(1);
    let mut batch = LlamaBatch::new(n_batch, 1);
    let last = prompt.len().saturating_sub(1);
    for (chunk_index, chunk) in prompt.chunks(n_batch).enumerate() {
        batch.clear();
        for (offset, token) in chunk.iter().enumerate() {
            let position = chunk_index * n_batch + offset;
            batch
                .add(*token, position as i32, &[0], position == last)
                .map_err(|_| decode_failed())?;
        }
        context.decode(&mut batch).map_err(|_| decode_failed())?;
        if let Some(why) = interrupted() {
            return Err(why);
        }
    }

    let vocab = model.vocab();
    let mut picker = TokenPicker::new(model, params)?;
    let mut assembler = Utf8Assembler::default();
    let mut filter = StopFilter::new(params.stops.iter().cloned());
    let mut piece = Vec::with_capacity(32);
    let mut logits_index = batch.n_tokens() - 1;
    let mut position = prompt.len();
    let mut generated = 0usize;
    // Tokens whose text the stop filter still holds travel with the next text sent.
    let mut scored: Vec<TokenLogprob> = Vec::new();
    let send =
        |text: String, scored: &mut Vec<TokenLogprob>, last: bool| -> Result<(), Interrupted> {
            if !scored.is_empty() && (last || !text.is_empty()) {
                events
                    .blocking_send(GenEvent::Logprobs(std::mem::take(scored)))
                    .map_err(|_| Interrupted::Disconnected)?;
            }
            if text.is_empty() {
                return Ok(());
            }
            events
                .blocking_send(GenEvent::Text(text))
                .map_err(|_| Interrupted::Disconnected)
        };
    loop {
        let token = picker.pick(context, logits_index);
        if let Some(top) = params.logprobs {
            let render = |id: usize| {
                let mut bytes = Vec::new();
                vocab.token_to_piece_into(LlamaToken(id as i32), &mut bytes, false, None);
                bytes
            };
            scored.push(token_logprob(
                context.get_logits_ith(logits_index),
                token.0 as usize,
                usize::from(top),
                render,
            ));
        }
        if vocab.is_eog(token) {
            // The end-of-generation token is not part of the answer's content.
            scored.pop();
            send(
                filter.push(&assembler.finish()).text + &filter.finish(),
                &mut scored,
                true,
            )?;
            return Ok((FinishReason::Stop, generated));
        }
        generated += 1;
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, false, None);
        let filtered = filter.push(&assembler.push(&piece));
        if filtered.stopped {
            send(filtered.text, &mut scored, true)?;
            return Ok((FinishReason::Stop, generated));
        }
        send(filtered.text, &mut scored, false)?;
        if generated >= params.max_tokens as usize || position >= n_ctx {
            let tail = filter.push(&assembler.finish());
            let finish = if tail.stopped {
                FinishReason::Stop
            } else {
                FinishReason::Length
            };
            let rest = if tail.stopped {
                String::new()
            } else {
                filter.finish()
            };
            send(tail.text + &rest, &mut scored, true)?;
            return Ok((finish, generated));
        }
        if let Some(why) = interrupted() {
            return Err(why);
        }
        batch.clear();
        batch
            .add(token, position as i32, &[0], true)
            .map_err(|_| decode_failed())?;
        context.decode(&mut batch).map_err(|_| decode_failed())?;
        position += 1;
        logits_index = 0;
    }
}

/// Chooses each next token.
///
/// The chain is the one llama-server uses for these settings (top-k, top-p, temperature, a
/// seeded draw; greedy at temperature 0). The grammar is checked on the chain's pick and
/// applied to the whole vocabulary only when the pick breaks it, as llama-server does: running
/// the grammar over every candidate costs more than the model step itself.
struct TokenPicker {
    chain: LlamaSampler,
    grammar: Option<LlamaSampler>,
}

impl TokenPicker {
    fn new(model: &LlamaModel, params: &GenParams) -> Result<Self, Interrupted> {
        let grammar = match &params.grammar {
            Some(grammar) => Some(LlamaSampler::grammar(model, grammar, "root").map_err(|_| {
                Interrupted::Failed(BackendError::BadRequest {
                    message: "llama.cpp could not load the grammar for this response_format or these tools".to_owned(),
                    param: None,
                })
            })?),
            None => None,
        };
        let chain = if params.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            let mut chain = Vec::with_capacity(4);
            if params.top_k > 0 {
                chain.push(LlamaSampler::top_k(params.top_k as i32));
            }
            if params.top_p < 1.0 {
                chain.push(LlamaSampler::top_p(params.top_p, 1));
            }
            chain.push(LlamaSampler::temp(params.temperature));
            chain.push(LlamaSampler::dist(params.seed));
            LlamaSampler::chain_simple(chain)
        };
        Ok(TokenPicker { chain, grammar })
    }

    fn pick(&mut self, context: &LlamaContext<'_>, logits_index: i32) -> LlamaToken {
        let token = self.chain.sample(context, logits_index);
        let Some(grammar) = &mut self.grammar else {
            return token;
        };
        let mut pick = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
        pick.apply_sampler(grammar);
        let token = if pick.data[0].logit().is_finite() {
            token
        } else {
            let mut candidates = context.token_data_array_ith(logits_index);
            candidates.apply_sampler(grammar);
            candidates.apply_sampler(&mut self.chain);
            candidates.selected_token().unwrap_or(token)
        };
        grammar.accept(token);
        token
    }
}
