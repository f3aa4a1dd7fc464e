//! Local first, escalate when unsure: the check that decides whether the local model's answer
//! to a cleared request is good enough to return, or whether the request goes on to the rule's
//! escalation target (usually the cloud).
//!
//! Two signals, both configurable per rule: the mean token log-probability of the answer (the
//! local backend is asked for `logprobs`; an answer without them counts as unsure) and the
//! answer's shape (length, a pattern, JSON when JSON was asked for, hedging phrases, not cut off
//! by the token limit). The verdict's reasons are a closed vocabulary ([`Unsure`]): they go to
//! the audit log and metrics, so they never quote the answer.
//!
//! Only cleared traffic reaches this module: the router attaches an escalation to `allow` and
//! `redact` decisions only, so a sensitive request is never escalated.

use regex::Regex;
use serde::Deserialize;

use crate::openai::{ChatCompletionResponse, ChatMessage};

/// `escalate = { to = "cloud", min_mean_logprob = -1.0, stream = "buffer", answer = { ... } }`
/// on a `[[routing.rules]]` entry whose `to` is on premise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateConfig {
    /// The backend that answers when the local answer is not good enough.
    pub to: String,
    /// Answers whose mean token log-probability is below this are escalated (-1.0 is a mean
    /// token probability of about 0.37).
    #[serde(default = "default_min_mean_logprob")]
    pub min_mean_logprob: f64,
    #[serde(default)]
    pub answer: AnswerShape,
    /// Streaming requests: `buffer` the local answer (the client sees its first byte once the
    /// check passed, or the escalation target's stream), or `never` escalate them (the local
    /// answer streams as it is generated, unchecked).
    #[serde(default)]
    pub stream: StreamEscalation,
}

fn default_min_mean_logprob() -> f64 {
    -1.0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamEscalation {
    #[default]
    Buffer,
    Never,
}

/// What a usable answer looks like.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerShape {
    /// Fewer characters (after trimming) is unsure; an empty answer always is.
    #[serde(default = "default_min_chars")]
    pub min_chars: usize,
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// A regular expression the trimmed answer must match somewhere (anchor it for a whole
    /// match), e.g. `^(positive|negative|neutral)$` for a classifier.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The answer must be JSON. Always required when the request's `response_format` asks for
    /// JSON.
    #[serde(default)]
    pub json: bool,
    /// Phrases that show the model hedging (compared case-insensitively).
    #[serde(default = "default_unsure_phrases")]
    pub unsure_phrases: Vec<String>,
    /// Whether an answer cut off by the token limit (`finish_reason: length`) may be returned.
    #[serde(default)]
    pub allow_truncated: bool,
}

impl Default for AnswerShape {
    fn default() -> Self {
        AnswerShape {
            min_chars: default_min_chars(),
            max_chars: None,
            pattern: None,
            json: false,
            unsure_phrases: default_unsure_phrases(),
            allow_truncated: false,
        }
    }
}

fn default_min_chars() -> usize {
    1
}

fn default_unsure_phrases() -> Vec<String> {
    [
        "i don't know",
        "i do not know",
        "i'm not sure",
        "i am not sure",
        "i cannot answer",
        "i can't answer",
        "i'm unable to",
        "i am unable to",
        "as an ai",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Why an answer was judged unsure: the closed vocabulary of audit records and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unsure {
    /// The mean token log-probability is below the rule's minimum.
    LowLogprob,
    /// The backend reported no token log-probabilities.
    NoLogprobs,
    TooShort,
    TooLong,
    PatternMismatch,
    NotJson,
    Hedging,
    Truncated,
    /// The local backend failed or answered in an unexpected form.
    LocalFailed,
}

impl Unsure {
    pub fn as_str(self) -> &'static str {
        match self {
            Unsure::LowLogprob => "low_logprob",
            Unsure::NoLogprobs => "no_logprobs",
            Unsure::TooShort => "too_short",
            Unsure::TooLong => "too_long",
            Unsure::PatternMismatch => "pattern_mismatch",
            Unsure::NotJson => "not_json",
            Unsure::Hedging => "hedging",
            Unsure::Truncated => "truncated",
            Unsure::LocalFailed => "local_failed",
        }
    }
}

/// The outcome of the check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub mean_logprob: Option<f64>,
    /// Empty when the answer may be returned.
    pub unsure: Vec<Unsure>,
}

impl Verdict {
    pub fn confident(&self) -> bool {
        self.unsure.is_empty()
    }

    /// The verdict on a local attempt that produced no usable answer.
    pub fn failed() -> Self {
        Verdict {
            mean_logprob: None,
            unsure: vec![Unsure::LocalFailed],
        }
    }
}

/// A rule's escalation, compiled.
#[derive(Debug, Clone)]
pub struct Escalation {
    pub to: String,
    pub stream: StreamEscalation,
    min_mean_logprob: f64,
    shape: AnswerShape,
    pattern: Option<Regex>,
    hedges: Vec<String>,
}

impl Escalation {
    /// Checks the settings of rule `rule`.
    pub fn compile(rule: &str, config: &EscalateConfig) -> Result<Escalation, String> {
        let at = |what: String| format!("[[routing.rules]] {rule:?} escalate: {what}");
        if !config.min_mean_logprob.is_finite() || config.min_mean_logprob > 0.0 {
            return Err(at(format!(
                "min_mean_logprob = {} must be a log-probability (0 or below)",
                config.min_mean_logprob
            )));
        }
        let shape = &config.answer;
        if let Some(max) = shape.max_chars {
            if max < shape.min_chars {
                return Err(at(format!(
                    "answer.max_chars {max} is below answer.min_chars {}",
                    shape.min_chars
                )));
            }
        }
        let pattern = shape
            .pattern
            .as_deref()
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| at(format!("answer.pattern: {e}")))
            })
            .transpose()?;
        if shape.unsure_phrases.iter().any(|p| p.trim().is_empty()) {
            return Err(at("answer.unsure_phrases has an empty phrase".to_owned()));
        }
        Ok(Escalation {
            to: config.to.clone(),
            stream: config.stream,
            min_mean_logprob: config.min_mean_logprob,
            pattern,
            hedges: shape
                .unsure_phrases
                .iter()
                .map(|p| p.to_lowercase())
                .collect(),
            shape: shape.clone(),
        })
    }

    /// Judges the local answer to a request that asked for JSON (`json_expected`) or not.
    pub fn judge(&self, answer: &ChatCompletionResponse, json_expected: bool) -> Verdict {
        let Some(choice) = answer.choices.first() else {
            return Verdict::failed();
        };
        let mut unsure = Vec::new();
        let mean_logprob = choice.logprobs.as_ref().and_then(mean_logprob);
        match mean_logprob {
            None => unsure.push(Unsure::NoLogprobs),
            Some(mean) if mean < self.min_mean_logprob => unsure.push(Unsure::LowLogprob),
            Some(_) => {}
        }
        if choice.finish_reason.as_deref() == Some("length") && !self.shape.allow_truncated {
            unsure.push(Unsure::Truncated);
        }
        if is_tool_call(&choice.message) {
            // The grammar made the call well-formed; its arguments must still be JSON.
            let arguments_ok = choice.message.tool_calls.iter().flatten().all(|call| {
                serde_json::from_str::<serde_json::Value>(&call.function.arguments).is_ok()
            });
            if !arguments_ok {
                unsure.push(Unsure::NotJson);
            }
        } else {
            self.judge_text(&message_text(&choice.message), json_expected, &mut unsure);
        }
        Verdict {
            mean_logprob,
            unsure,
        }
    }

    fn judge_text(&self, text: &str, json_expected: bool, unsure: &mut Vec<Unsure>) {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 || chars < self.shape.min_chars {
            unsure.push(Unsure::TooShort);
        }
        if self.shape.max_chars.is_some_and(|max| chars > max) {
            unsure.push(Unsure::TooLong);
        }
        if let Some(pattern) = &self.pattern {
            if !pattern.is_match(text) {
                unsure.push(Unsure::PatternMismatch);
            }
        }
        if (self.shape.json || json_expected)
            && serde_json::from_str::<serde_json::Value>(text).is_err()
        {
            unsure.push(Unsure::NotJson);
        }
        if !self.hedges.is_empty() {
            let lower = text.to_lowercase().replace('\u{2019}', "'");
            if self.hedges.iter().any(|h| lower.contains(h.as_str())) {
                unsure.push(Unsure::Hedging);
            }
        }
    }
}

fn is_tool_call(message: &ChatMessage) -> bool {
    message.tool_calls.as_ref().is_some_and(|c| !c.is_empty())
}

fn message_text(message: &ChatMessage) -> String {
    message
        .content
        .iter()
        .flat_map(|c| c.text_parts())
        .collect::<Vec<_>>()
        .concat()
}

/// The mean of `logprobs.content[].logprob`; `None` when there are no tokens.
fn mean_logprob(logprobs: &serde_json::Value) -> Option<f64> {
    let tokens = logprobs.get("content")?.as_array()?;
    let values: Vec<f64> = tokens
        .iter()
        .filter_map(|t| t.get("logprob")?.as_f64())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn escalation(toml_text: &str) -> Escalation {
        let config: EscalateConfig = toml::from_str(toml_text).unwrap();
        Escalation::compile("r", &config).unwrap()
    }

    fn answer(content: &str, logprobs: &[f64], finish: &str) -> ChatCompletionResponse {
        let tokens: Vec<_> = logprobs
            .iter()
            .map(|l| json!({"token": "x", "logprob": l, "bytes": [120], "top_logprobs": []}))
            .collect();
        serde_json::from_value(json!({
            "model": "m",
            "choices": [{"index": 0, "finish_reason": finish,
                "message": {"role": "assistant", "content": content},
                "logprobs": {"content": tokens}}]
        }))
        .unwrap()
    }

    #[test]
    fn a_confident_well_shaped_answer_is_kept() {
        let e = escalation("to = \"cloud\"");
        let verdict = e.judge(&answer("Paris.", &[-0.1, -0.3], "stop"), false);
        assert!(verdict.confident(), "{verdict:?}");
        assert!((verdict.mean_logprob.unwrap() + 0.2).abs() < 1e-9);
    }

    #[test]
    fn each_signal_escalates_on_its_own_and_says_why() {
        let e = escalation(
            "to = \"cloud\"\nmin_mean_logprob = -0.5\n\
             answer = { max_chars = 10, pattern = '^(yes|no)$' }",
        );
        let judge = |content: &str, logprobs: &[f64], finish: &str| {
            e.judge(&answer(content, logprobs, finish), false).unsure
        };
        assert_eq!(judge("yes", &[-0.1], "stop"), vec![]);
        assert_eq!(
            judge("yes", &[-0.1, -2.0], "stop"),
            vec![Unsure::LowLogprob]
        );
        assert_eq!(judge("yes", &[], "stop"), vec![Unsure::NoLogprobs]);
        assert_eq!(judge("yes", &[-0.1], "length"), vec![Unsure::Truncated]);
        assert_eq!(
            judge("  ", &[-0.1], "stop"),
            vec![Unsure::TooShort, Unsure::PatternMismatch]
        );
        assert_eq!(
            judge("maybe, maybe not", &[-0.1], "stop"),
            vec![Unsure::TooLong, Unsure::PatternMismatch]
        );
        let hedging = escalation("to = \"cloud\"");
        let verdict = hedging.judge(
            &answer("I\u{2019}m not sure, sorry.", &[-0.1], "stop"),
            false,
        );
        assert_eq!(verdict.unsure, vec![Unsure::Hedging]);
    }

    #[test]
    fn json_is_required_when_asked_for_by_the_rule_or_the_request() {
        let plain = escalation("to = \"cloud\"");
        let not_json = answer("{\"a\": ", &[-0.1], "stop");
        assert!(plain.judge(&not_json, false).confident());
        assert_eq!(plain.judge(&not_json, true).unsure, vec![Unsure::NotJson]);
        let strict = escalation("to = \"cloud\"\nanswer = { json = true }");
        assert_eq!(strict.judge(&not_json, false).unsure, vec![Unsure::NotJson]);
        assert!(strict
            .judge(&answer("{\"a\": 1}", &[-0.1], "stop"), false)
            .confident());
    }

    #[test]
    fn bad_settings_are_config_errors_naming_the_rule() {
        let bad =
            |text: &str| Escalation::compile("short", &toml::from_str(text).unwrap()).unwrap_err();
        assert!(bad("to = \"c\"\nmin_mean_logprob = 0.5").contains("\"short\""));
        assert!(bad("to = \"c\"\nanswer = { pattern = '(' }").contains("answer.pattern"));
        assert!(bad("to = \"c\"\nanswer = { min_chars = 5, max_chars = 2 }").contains("max_chars"));
        assert!(toml::from_str::<EscalateConfig>("to = \"c\"\nstream = \"maybe\"").is_err());
    }
}
