//! `POST /v1/embeddings` as sluice forwards it, and the answer a local model gives.
//!
//! Inputs are text only: token-id inputs cannot be scanned, so the front end refuses them. Every
//! field besides `model` and `input` (`encoding_format`, `dimensions`, `user`, vendor fields)
//! travels in `extra`, scanned like every other forwarded field.

use base64::Engine;
use serde_json::{json, Value};

use super::Extra;

/// An embeddings request: texts to embed, as one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: Vec<String>,
    pub extra: Extra,
}

impl EmbeddingsRequest {
    /// `"float"` (the default) or `"base64"` (little-endian f32s, what the openai SDKs ask for).
    pub fn encoding_format(&self) -> Option<&str> {
        self.extra.get("encoding_format").and_then(Value::as_str)
    }

    /// The vector length the client asked for, if any.
    pub fn dimensions(&self) -> Option<u64> {
        self.extra.get("dimensions").and_then(Value::as_u64)
    }

    /// The JSON body an OpenAI-compatible upstream receives.
    pub fn to_json(&self) -> Value {
        let mut body = self.extra.clone();
        body.insert("model".into(), Value::String(self.model.clone()));
        body.insert(
            "input".into(),
            Value::Array(self.input.iter().cloned().map(Value::String).collect()),
        );
        Value::Object(body)
    }
}

/// The answer body for `vectors`, in the encoding the request asked for; `model` is the name the
/// client asked for.
pub fn embeddings_answer(
    request: &EmbeddingsRequest,
    vectors: &[Vec<f32>],
    prompt_tokens: u64,
) -> Value {
    let base64 = request.encoding_format() == Some("base64");
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": request.model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_answers_are_little_endian_f32s() {
        let mut extra = Extra::new();
        extra.insert("encoding_format".into(), json!("base64"));
        let request = EmbeddingsRequest {
            model: "m".into(),
            input: vec!["a".into()],
            extra,
        };
        let answer = embeddings_answer(&request, &[vec![1.0, -0.5]], 3);
        let encoded = answer["data"][0]["embedding"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            bytes,
            [1.0f32.to_le_bytes(), (-0.5f32).to_le_bytes()].concat()
        );
        assert_eq!(answer["usage"]["prompt_tokens"], 3);
        assert_eq!(
            request.to_json(),
            json!({"model": "m", "input": ["a"], "encoding_format": "base64"})
        );
    }
}
