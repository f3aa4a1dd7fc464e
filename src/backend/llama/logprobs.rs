//! Token log-probabilities for OpenAI's `logprobs` / `top_logprobs` request fields.
//!
//! They are what a local-first route's confidence check reads (`crate::route::escalate`), and
//! clients may ask for them too. The probability is the model's own, from the raw logits before
//! sampling settings or a grammar narrowed the choice, as llama-server and OpenAI report it.

use serde_json::{json, Value};

/// The most alternatives OpenAI accepts in `top_logprobs`.
pub const MAX_TOP_LOGPROBS: u8 = 20;

/// One generated token and how likely the model found it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    pub bytes: Vec<u8>,
    pub logprob: f32,
    /// The most likely tokens at this position, most likely first (`top_logprobs` of them).
    pub top: Vec<(Vec<u8>, f32)>,
}

/// The log-softmax of `logits` at `chosen`, and the `top` most likely tokens with theirs.
/// `piece` renders a token id as bytes. Runs once per generated token over the vocabulary
/// (49k entries for SmolLM2: tens of microseconds against milliseconds per model step).
pub fn token_logprob(
    logits: &[f32],
    chosen: usize,
    top: usize,
    mut piece: impl FnMut(usize) -> Vec<u8>,
) -> TokenLogprob {
    let log_total = log_sum_exp(logits);
    let logprob_of = |id: usize| logits.get(id).map_or(f32::NEG_INFINITY, |l| l - log_total);
    let mut alternatives = Vec::new();
    if top > 0 && !logits.is_empty() {
        let mut ids: Vec<usize> = (0..logits.len()).collect();
        let top = top.min(ids.len());
        let by_logit_desc = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]);
        ids.select_nth_unstable_by(top - 1, by_logit_desc);
        ids.truncate(top);
        ids.sort_unstable_by(by_logit_desc);
        alternatives = ids
            .into_iter()
            .map(|id| (piece(id), logprob_of(id)))
            .collect();
    }
    TokenLogprob {
        bytes: piece(chosen),
        logprob: logprob_of(chosen),
        top: alternatives,
    }
}

/// `ln(Σ exp(x))` without overflow.
fn log_sum_exp(values: &[f32]) -> f32 {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return max;
    }
    let sum: f32 = values.iter().map(|v| (v - max).exp()).sum();
    max + sum.ln()
}

/// A choice's `logprobs` object, as OpenAI shapes it: `{"content": [{token, logprob, bytes,
/// top_logprobs}]}`.
pub fn content_json(tokens: &[TokenLogprob]) -> Value {
    let entry = |bytes: &[u8], logprob: f32| {
        json!({
            "token": String::from_utf8_lossy(bytes),
            "logprob": finite(logprob),
            "bytes": bytes,
        })
    };
    let content: Vec<Value> = tokens
        .iter()
        .map(|token| {
            let mut value = entry(&token.bytes, token.logprob);
            value["top_logprobs"] = token
                .top
                .iter()
                .map(|(bytes, logprob)| entry(bytes, *logprob))
                .collect();
            value
        })
        .collect();
    json!({ "content": content })
}

/// JSON has no infinity; OpenAI reports an impossible token as -9999.0.
fn finite(logprob: f32) -> f64 {
    if logprob.is_finite() {
        f64::from(logprob)
    } else {
        -9999.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(id: usize) -> Vec<u8> {
        format!("t{id}").into_bytes()
    }

    #[test]
    fn log_probabilities_sum_to_one_and_rank_the_alternatives() {
        let logits = [1.0f32, 3.0, 2.0, -1.0];
        let picked = token_logprob(&logits, 2, 3, piece);
        let total: f32 = (0..logits.len())
            .map(|id| token_logprob(&logits, id, 0, piece).logprob.exp())
            .sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
        assert_eq!(picked.bytes, b"t2");
        let ranked: Vec<&[u8]> = picked.top.iter().map(|(b, _)| b.as_slice()).collect();
        assert_eq!(ranked, [b"t1".as_slice(), b"t2", b"t0"]);
        assert_eq!(picked.top[1].1, picked.logprob);
    }

    #[test]
    fn huge_logits_do_not_overflow_and_the_json_is_openai_shaped() {
        let logits = [1000.0f32, 1000.0, f32::NEG_INFINITY];
        let half = token_logprob(&logits, 0, 1, piece);
        assert!((half.logprob - 0.5f32.ln()).abs() < 1e-3);
        let never = token_logprob(&logits, 2, 0, piece);
        let json = content_json(&[half, never]);
        assert_eq!(json["content"][0]["token"], "t0");
        assert_eq!(json["content"][0]["bytes"], json!([116, 48]));
        assert_eq!(
            json["content"][0]["top_logprobs"].as_array().unwrap().len(),
            1
        );
        assert_eq!(json["content"][1]["logprob"], -9999.0);
        assert_eq!(json["content"][1]["top_logprobs"], json!([]));
    }
}
