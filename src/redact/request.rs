//! Rewriting a chat request for a cloud model: every masked entity replaced by its placeholder.
//!
//! The rewrite works on the request exactly as sluice re-serializes it for the backend, through
//! the same scan units the detectors saw (`openai::extract`): each unit's leaves locate its text
//! in the request by JSON pointer, so every detected span is mapped back to the one string it came
//! from, wherever that is (message content, content parts, names, tool-call arguments, tool
//! definitions, unmodelled fields). An entity that straddles two strings is masked in both.
//! Inside tool-call arguments (JSON text) a span is widened so it never cuts an escape sequence.
//! After the detected spans, every other occurrence of a masked value is masked as well
//! ([`super::text`]). The result is a request in which no masked value survives, and the
//! [`Restorer`] that undoes it on the answer.

use std::sync::Arc;

use serde_json::Value;

use super::escape;
use super::format::PlaceholderFormat;
use super::restore::{Restorer, TextContext};
use super::text::{apply, combine, to_byte_spans, Edit, Sweeper};
use super::union_spans;
use super::vault::Pseudonyms;
use crate::detect::Entity;
use crate::openai::extract::{leaf_text, ScanUnit};
use crate::openai::ChatCompletionRequest;

/// A request ready for a cloud model, and how to restore its answer.
pub struct RedactedRequest {
    pub request: ChatCompletionRequest,
    pub restorer: Arc<Restorer>,
    /// How many distinct values were masked.
    pub masked: usize,
}

impl std::fmt::Debug for RedactedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactedRequest")
            .field("masked", &self.masked)
            .finish_non_exhaustive()
    }
}

/// Why a request could not be rewritten (it is then not forwarded). Messages carry no request
/// text, not even field names, which clients choose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    #[error("the request cannot be encoded for redaction")]
    Encode,
    #[error("the scan results do not match the request")]
    ScanMismatch,
    #[error("the redacted request is not a valid chat request")]
    Decode,
    /// A masked value sits where a placeholder cannot go (an object key, a number, the model
    /// name): the request must stay on premise.
    #[error("a masked value is in a field that cannot carry a placeholder")]
    Unmaskable,
}

/// One scanned piece of the request and the spans to mask in it.
struct LeafText<'u> {
    pointer: &'u str,
    rewritable: bool,
    context: TextContext,
    text: String,
    detected: Vec<Edit>,
}

/// Rewrites `request` with the entities that `mask` selects replaced by placeholders of `format`.
/// `units` and `entities` are the scan of this very request (entities per unit, code points).
pub fn redact_request(
    request: &ChatCompletionRequest,
    units: &[ScanUnit],
    entities: &[Arc<Vec<Entity>>],
    mask: impl Fn(&Entity) -> bool,
    format: &PlaceholderFormat,
) -> Result<RedactedRequest, RedactError> {
    if units.len() != entities.len() {
        return Err(RedactError::ScanMismatch);
    }
    let mut value = serde_json::to_value(request).map_err(|_| RedactError::Encode)?;
    let mut pseudonyms = Pseudonyms::new(format.clone());
    for unit in units {
        pseudonyms.reserve_look_alikes(&unit.text);
    }
    let mut leaves: Vec<LeafText> = Vec::new();
    for (unit, found) in units.iter().zip(entities) {
        let spans = union_spans(found.iter().filter(|e| mask(e)));
        let mut first = 0;
        for leaf in &unit.leaves {
            let text = leaf_text(&value, leaf).ok_or(RedactError::ScanMismatch)?;
            let leaf_end = leaf.start + leaf.chars;
            while spans.get(first).is_some_and(|s| s.1 <= leaf.start) {
                first += 1;
            }
            // A span may run on into the next leaf, so `first` stays where it is.
            let local: Vec<(usize, usize, &str)> = spans[first..]
                .iter()
                .take_while(|s| s.0 < leaf_end)
                .map(|&(s, e, ty)| {
                    (
                        s.max(leaf.start) - leaf.start,
                        e.min(leaf_end) - leaf.start,
                        ty,
                    )
                })
                .collect();
            if !local.is_empty() && text.chars().count() != leaf.chars {
                return Err(RedactError::ScanMismatch);
            }
            if !local.is_empty() && !leaf.kind.rewritable() {
                return Err(RedactError::Unmaskable);
            }
            let context = context_of_pointer(&leaf.pointer);
            let detected = intern_spans(&mut pseudonyms, &text, &local, context)?;
            leaves.push(LeafText {
                pointer: &leaf.pointer,
                rewritable: leaf.kind.rewritable(),
                context,
                text,
                detected,
            });
        }
    }
    let plain = Sweeper::new(&pseudonyms, TextContext::Plain);
    let json = leaves
        .iter()
        .any(|l| l.context == TextContext::JsonArguments)
        .then(|| Sweeper::new(&pseudonyms, TextContext::JsonArguments));
    for leaf in leaves {
        let sweeper = match (leaf.context, &json) {
            (TextContext::JsonArguments, Some(json)) => json,
            _ => &plain,
        };
        let swept = sweeper.find(&leaf.text);
        if leaf.detected.is_empty() && swept.is_empty() {
            continue;
        }
        // A masked value found again in a key or a number (a tool call id used as a schema key,
        // a card number repeated as `seed`) cannot be replaced there.
        if !leaf.rewritable {
            return Err(RedactError::Unmaskable);
        }
        let edits = combine(
            &mut pseudonyms,
            &leaf.text,
            leaf.context,
            leaf.detected,
            swept,
        );
        let rewritten = apply(&leaf.text, &edits, &pseudonyms);
        *value
            .pointer_mut(leaf.pointer)
            .ok_or(RedactError::ScanMismatch)? = Value::String(rewritten);
    }
    let request = serde_json::from_value(value).map_err(|_| RedactError::Decode)?;
    Ok(RedactedRequest {
        request,
        restorer: Arc::new(Restorer::new(&pseudonyms)),
        masked: pseudonyms.len(),
    })
}

/// Tool-call arguments (and the legacy `function_call`'s) are JSON text.
fn context_of_pointer(pointer: &str) -> TextContext {
    let in_call = pointer.contains("/tool_calls/") || pointer.contains("/function_call/");
    if pointer.starts_with("/messages/") && in_call && pointer.ends_with("/arguments") {
        TextContext::JsonArguments
    } else {
        TextContext::Plain
    }
}

/// Interns the values of `spans` (code points into `text`) and returns them as byte edits.
fn intern_spans(
    pseudonyms: &mut Pseudonyms,
    text: &str,
    spans: &[(usize, usize, &str)],
    context: TextContext,
) -> Result<Vec<Edit>, RedactError> {
    let mut bytes = to_byte_spans(text, spans);
    if context == TextContext::JsonArguments {
        let sequences = escape::escape_sequences(text);
        let mut widened: Vec<(usize, usize, &str)> = Vec::with_capacity(bytes.len());
        for (s, e, ty) in bytes {
            let (s, e) = escape::widen_to_sequences(&sequences, s, e);
            match widened.last_mut() {
                Some(last) if s < last.1 => last.1 = last.1.max(e),
                _ => widened.push((s, e, ty)),
            }
        }
        bytes = widened;
    }
    Ok(bytes
        .into_iter()
        .filter(|(s, e, _)| s < e)
        .map(|(start, end, ty)| {
            let raw = &text[start..end];
            let pseudonym = match context {
                TextContext::Plain => pseudonyms.intern(ty, raw),
                TextContext::JsonArguments => pseudonyms.intern_json(ty, raw),
            };
            Edit {
                start,
                end,
                pseudonym,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;
    use crate::openai::extract::extract;
    use crate::openai::parse_request;
    use crate::redact::restore::RestoreBudget;

    fn entity(ty: &str, start: usize, end: usize) -> Entity {
        Entity {
            decoded: None,
            entity_type: ty.into(),
            start,
            end,
            score: 0.9,
            detector: DetectorKind::Ner,
            rule_id: "t".into(),
            validated: false,
            context: vec![],
        }
    }

    /// Entities for every occurrence of each `(type, value)` in each unit, as a detector would
    /// report them (code points).
    fn detect(units: &[ScanUnit], values: &[(&str, &str)]) -> Vec<Arc<Vec<Entity>>> {
        units
            .iter()
            .map(|u| {
                let mut found = Vec::new();
                for (ty, v) in values {
                    for (byte, _) in u.text.match_indices(v) {
                        let start = u.text[..byte].chars().count();
                        found.push(entity(ty, start, start + v.chars().count()));
                    }
                }
                Arc::new(found)
            })
            .collect()
    }

    fn redact(
        body: &serde_json::Value,
        values: &[(&str, &str)],
    ) -> (ChatCompletionRequest, RedactedRequest) {
        let request = parse_request(&serde_json::to_vec(body).unwrap()).unwrap();
        let units = extract(&serde_json::to_value(&request).unwrap()).units;
        let entities = detect(&units, values);
        let redacted = redact_request(
            &request,
            &units,
            &entities,
            |_| true,
            &PlaceholderFormat::default(),
        )
        .unwrap();
        (request, redacted)
    }

    fn forwarded(r: &RedactedRequest) -> String {
        serde_json::to_string(&r.request).unwrap()
    }

    #[test]
    fn a_value_in_a_tool_call_id_gets_one_placeholder_in_both_fields() {
        let id = "call_jane@example.com";
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "assistant", "tool_calls": [{"id": id, "type": "function",
                "function": {"name": "mail", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": id, "content": "sent"}
        ]});
        let (_, redacted) = redact(&body, &[("EMAIL_ADDRESS", "jane@example.com")]);
        let v = serde_json::to_value(&redacted.request).unwrap();
        let call_id = v["messages"][0]["tool_calls"][0]["id"].as_str().unwrap();
        assert_eq!(call_id, "call_<EMAIL_ADDRESS_1>");
        assert_eq!(v["messages"][1]["tool_call_id"], call_id);
    }

    #[test]
    fn values_in_function_names_keys_and_numbers_cannot_be_masked() {
        let hi = || serde_json::json!([{"role": "user", "content": "hi"}]);
        for (body, value) in [
            (
                serde_json::json!({"model": "m", "messages": hi(),
                    "tools": [{"type": "function", "function": {"name": "mail_JaneRoe"}}]}),
                "JaneRoe",
            ),
            (
                serde_json::json!({"model": "m", "messages": hi(), "metadata": {"Jane Roe": "vip"}}),
                "Jane Roe",
            ),
            (
                serde_json::json!({"model": "m", "messages": hi(), "seed": 4514397298150617u64}),
                "4514397298150617",
            ),
            // Found in a message, the value repeats where no placeholder can go.
            (
                serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "Jane Roe"}],
                    "metadata": {"Jane Roe": "vip"}}),
                "Jane Roe",
            ),
        ] {
            let request = parse_request(&serde_json::to_vec(&body).unwrap()).unwrap();
            let units = extract(&serde_json::to_value(&request).unwrap()).units;
            let entities = detect(&units, &[("PERSON", value)]);
            let result = redact_request(
                &request,
                &units,
                &entities,
                |_| true,
                &PlaceholderFormat::default(),
            );
            assert_eq!(result.unwrap_err(), RedactError::Unmaskable, "{body}");
        }
    }

    #[test]
    fn nothing_detected_leaves_the_request_unchanged() {
        let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hello"}],
            "metadata": {"k": "v"}, "temperature": 0.5});
        let (original, redacted) = redact(&body, &[]);
        assert_eq!(redacted.request, original);
        assert!(redacted.restorer.is_empty());
    }

    #[test]
    fn same_value_same_placeholder_across_messages_tools_and_fields() {
        let body = serde_json::json!({"model": "m",
            "messages": [
                {"role": "system", "content": "Assist Jane Roe."},
                {"role": "user", "name": "jroe", "content": [{"type": "text", "text": "I am Jane Roe, jane@example.com"}]},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "mail", "arguments": "{\"to\":\"jane@example.com\",\"name\":\"Jane Roe\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sent to jane@example.com"}
            ],
            "user": "Jane Roe"
        });
        let (_, redacted) = redact(
            &body,
            &[
                ("PERSON", "Jane Roe"),
                ("EMAIL_ADDRESS", "jane@example.com"),
            ],
        );
        let out = forwarded(&redacted);
        assert!(!out.contains("Jane") && !out.contains("jane@"), "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["messages"][0]["content"], "Assist <PERSON_1>.");
        assert_eq!(
            v["messages"][1]["content"][0]["text"],
            "I am <PERSON_1>, <EMAIL_ADDRESS_1>"
        );
        let args: serde_json::Value = serde_json::from_str(
            v["messages"][2]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            args,
            serde_json::json!({"to": "<EMAIL_ADDRESS_1>", "name": "<PERSON_1>"})
        );
        assert_eq!(v["messages"][3]["content"], "sent to <EMAIL_ADDRESS_1>");
        assert_eq!(v["user"], "<PERSON_1>");
        assert_eq!(redacted.masked, 2);
    }

    #[test]
    fn undetected_repeats_are_masked_too() {
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "user", "content": "Patient Jane Roe was seen."},
            {"role": "user", "content": "Later, Jane Roe called. Janet Roeder did not."}
        ]});
        let request = parse_request(&serde_json::to_vec(&body).unwrap()).unwrap();
        let units = extract(&serde_json::to_value(&request).unwrap()).units;
        let mut entities = detect(&units, &[("PERSON", "Jane Roe")]);
        entities[1] = Arc::new(Vec::new());
        let redacted = redact_request(
            &request,
            &units,
            &entities,
            |_| true,
            &PlaceholderFormat::default(),
        )
        .unwrap();
        let v = serde_json::to_value(&redacted.request).unwrap();
        assert_eq!(
            v["messages"][1]["content"],
            "Later, <PERSON_1> called. Janet Roeder did not."
        );
    }

    #[test]
    fn overlapping_entities_of_two_types_are_masked_as_one() {
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "user", "content": "Call 555-867-5309 now"}]});
        let request = parse_request(&serde_json::to_vec(&body).unwrap()).unwrap();
        let units = extract(&serde_json::to_value(&request).unwrap()).units;
        let mut entities = vec![Arc::new(vec![
            entity("PHONE_NUMBER", 5, 17),
            entity("US_SSN", 9, 17),
        ])];
        // The model name is a unit of its own, with nothing in it.
        entities.resize(units.len(), Arc::default());
        let redacted = redact_request(
            &request,
            &units,
            &entities,
            |_| true,
            &PlaceholderFormat::default(),
        )
        .unwrap();
        let v = serde_json::to_value(&redacted.request).unwrap();
        assert_eq!(v["messages"][0]["content"], "Call <PHONE_NUMBER_1> now");
    }

    #[test]
    fn escaped_values_in_arguments_share_the_placeholder_and_restore_as_valid_json() {
        let name = "Dwayne \"The Rock\" O\\Brien";
        let args = serde_json::to_string(&serde_json::json!({"who": name})).unwrap();
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "user", "content": format!("Book {name}.")},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "book", "arguments": args}}]}
        ]});
        let escaped = escape::escape(name);
        let request = parse_request(&serde_json::to_vec(&body).unwrap()).unwrap();
        let units = extract(&serde_json::to_value(&request).unwrap()).units;
        let mut entities = detect(&units, &[("PERSON", name)]);
        // In the arguments the detector sees the escaped form.
        let in_args = units[1].text.find(&escaped).unwrap();
        let start = units[1].text[..in_args].chars().count();
        entities[1] = Arc::new(vec![entity(
            "PERSON",
            start,
            start + escaped.chars().count(),
        )]);
        let redacted = redact_request(
            &request,
            &units,
            &entities,
            |_| true,
            &PlaceholderFormat::default(),
        )
        .unwrap();
        let out = serde_json::to_value(&redacted.request).unwrap();
        let args_out = out["messages"][1]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap();
        assert_eq!(args_out, "{\"who\":\"<PERSON_1>\"}");
        assert_eq!(out["messages"][0]["content"], "Book <PERSON_1>.");
        let restored = redacted
            .restorer
            .restore(
                args_out,
                TextContext::JsonArguments,
                &mut RestoreBudget::default(),
            )
            .unwrap()
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&restored).unwrap();
        assert_eq!(parsed["who"], name);
    }

    #[test]
    fn a_span_cutting_an_escape_sequence_is_widened() {
        let args = "{\"n\":\"Zo\\u00eb Q\"}";
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": args}}]}
        ]});
        let request = parse_request(&serde_json::to_vec(&body).unwrap()).unwrap();
        let units = extract(&serde_json::to_value(&request).unwrap()).units;
        let unit = units
            .iter()
            .position(|u| u.text.contains("Zo\\u00eb"))
            .unwrap();
        let start = units[unit].text.find("Zo").unwrap();
        let mut entities: Vec<Arc<Vec<Entity>>> =
            units.iter().map(|_| Arc::new(Vec::new())).collect();
        entities[unit] = Arc::new(vec![entity("PERSON", start, start + 4)]);
        let redacted = redact_request(
            &request,
            &units,
            &entities,
            |_| true,
            &PlaceholderFormat::default(),
        )
        .unwrap();
        let out = serde_json::to_value(&redacted.request).unwrap();
        let args_out = out["messages"][0]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap();
        assert_eq!(args_out, "{\"n\":\"<PERSON_1> Q\"}");
        let restored = redacted
            .restorer
            .restore(
                args_out,
                TextContext::JsonArguments,
                &mut RestoreBudget::default(),
            )
            .unwrap()
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&restored).unwrap();
        assert_eq!(parsed["n"], "Zoë Q");
    }

    #[test]
    fn unicode_values_and_literal_look_alikes() {
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "user", "content": "Écris à Zoë Ångström et 王小明. Ignore <PERSON_1>."}]});
        let (_, redacted) = redact(&body, &[("PERSON", "Zoë Ångström"), ("PERSON", "王小明")]);
        let v = serde_json::to_value(&redacted.request).unwrap();
        assert_eq!(
            v["messages"][0]["content"],
            "Écris à <PERSON_2> et <PERSON_3>. Ignore <PERSON_1>."
        );
        let mut budget = RestoreBudget::default();
        let back = redacted
            .restorer
            .restore(
                v["messages"][0]["content"].as_str().unwrap(),
                TextContext::Plain,
                &mut budget,
            )
            .unwrap()
            .unwrap();
        assert_eq!(back, "Écris à Zoë Ångström et 王小明. Ignore <PERSON_1>.");
    }

    #[test]
    fn an_entity_across_two_strings_is_masked_in_both() {
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "user", "name": "Jane", "content": "Roe here"}]});
        let request = parse_request(&serde_json::to_vec(&body).unwrap()).unwrap();
        let units = extract(&serde_json::to_value(&request).unwrap()).units;
        let text = &units[0].text;
        let chars = text.chars().count();
        let mut entities = vec![Arc::new(vec![entity("PERSON", 0, chars)])];
        // The model name is a unit of its own, with nothing in it.
        entities.resize(units.len(), Arc::default());
        let redacted = redact_request(
            &request,
            &units,
            &entities,
            |_| true,
            &PlaceholderFormat::default(),
        )
        .unwrap();
        let out = forwarded(&redacted);
        assert!(!out.contains("Jane") && !out.contains("Roe"), "{out}");
    }

    #[test]
    fn the_mask_selects_types_and_scan_mismatches_are_refused() {
        let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "Jane at jane@example.com"}]});
        let request = parse_request(&serde_json::to_vec(&body).unwrap()).unwrap();
        let units = extract(&serde_json::to_value(&request).unwrap()).units;
        let entities = detect(
            &units,
            &[("PERSON", "Jane"), ("EMAIL_ADDRESS", "jane@example.com")],
        );
        let only_email = redact_request(
            &request,
            &units,
            &entities,
            |e| e.entity_type == "EMAIL_ADDRESS",
            &PlaceholderFormat::default(),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&only_email.request).unwrap()["messages"][0]["content"],
            "Jane at <EMAIL_ADDRESS_1>"
        );
        assert_eq!(
            redact_request(
                &request,
                &units,
                &[],
                |_| true,
                &PlaceholderFormat::default()
            )
            .unwrap_err(),
            RedactError::ScanMismatch
        );
        let mut other = units.clone();
        other[0].leaves[0].pointer = "/messages/9/content".into();
        assert_eq!(
            redact_request(
                &request,
                &other,
                &entities,
                |_| true,
                &PlaceholderFormat::default()
            )
            .unwrap_err(),
            RedactError::ScanMismatch
        );
    }
}
