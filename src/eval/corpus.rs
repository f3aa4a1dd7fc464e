//! Reading a labelled corpus (tests/eval/corpus.jsonl): one record per line, checked on load.
//!
//! Every problem names the file and line (and the record id when it has one) but never quotes the
//! text: this reader also runs on corpora of real prompts.

use std::path::Path;

use serde::Deserialize;

use crate::detect::catalog;

/// A gold span: code point offsets, end exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldSpan {
    pub start: usize,
    pub end: usize,
    #[serde(rename = "type")]
    pub entity_type: String,
}

/// One labelled text.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub id: String,
    /// The template family (chat, clinical, ...).
    pub kind: String,
    /// `kind/name` of the template it was rendered from (optional for corpora from elsewhere).
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub locale: String,
    pub text: String,
    pub spans: Vec<GoldSpan>,
    /// No person is identifiable: the right decision is `allow`.
    pub cleared: bool,
}

impl Record {
    /// The cleared-prompt group: the template name without its last component
    /// (`cleared/software/upgrade` -> `cleared/software`), or the kind.
    pub fn group(&self) -> &str {
        match self.template.rsplit_once('/') {
            Some((group, _)) if !group.is_empty() => group,
            _ => &self.kind,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct CorpusError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// Loads and checks every record of `path`; the first problem is an error.
pub fn load(path: &Path) -> anyhow::Result<Vec<Record>> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the corpus: {e}", path.display()))?;
    parse(&path.display().to_string(), &bytes).map_err(Into::into)
}

/// Parses corpus bytes; `name` is what errors call the file.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<Record>, CorpusError> {
    let mut records = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let fail = |message: String| CorpusError {
            path: name.to_string(),
            line: i + 1,
            message,
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: Record = serde_json::from_slice(line).map_err(|e| {
            fail(format!(
                "not a corpus record ({} at column {}); expected {{\"id\", \"kind\", \"text\", \"spans\", \"cleared\"}}",
                json_problem(&e),
                e.column()
            ))
        })?;
        check(&record).map_err(|m| fail(format!("record {}: {m}", record.id)))?;
        if !ids.insert(record.id.clone()) {
            return Err(fail(format!("record id {} appears twice", record.id)));
        }
        records.push(record);
    }
    if records.is_empty() {
        return Err(CorpusError {
            path: name.to_string(),
            line: 0,
            message: "no records".into(),
        });
    }
    Ok(records)
}

/// Spans inside the text, sorted, not overlapping, of known types; a cleared record labels
/// nothing that identifies a person (health context only).
fn check(r: &Record) -> Result<(), String> {
    let chars = r.text.chars().count();
    let mut prev_end = 0;
    for (n, s) in r.spans.iter().enumerate() {
        if !catalog::is_entity_type(&s.entity_type) {
            let hint = catalog::nearest_entity_type(&s.entity_type)
                .map(|t| format!(" (did you mean {t}?)"))
                .unwrap_or_default();
            return Err(format!(
                "span {n}: unknown entity type {}{hint}",
                s.entity_type
            ));
        }
        if s.start >= s.end || s.end > chars {
            return Err(format!(
                "span {n} ({}..{}) is empty or ends past the text's {chars} characters",
                s.start, s.end
            ));
        }
        if s.start < prev_end {
            return Err(format!(
                "span {n} ({}..{}) overlaps or precedes the span before it",
                s.start, s.end
            ));
        }
        if r.cleared && !is_health_context(&s.entity_type) {
            return Err(format!(
                "span {n} is a {} in a cleared record (cleared records may only label health context)",
                s.entity_type
            ));
        }
        prev_end = s.end;
    }
    Ok(())
}

/// Health context is an entity but not an identifier: alone it never makes text sensitive.
pub fn is_health_context(entity_type: &str) -> bool {
    matches!(
        entity_type,
        "MEDICAL_CONDITION" | "MEDICATION" | "PROCEDURE"
    )
}

/// serde_json's own message can quote the input; only its category is reported.
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "missing field or wrong type",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("c.jsonl", text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn reads_records_and_skips_blank_lines() {
        let rs = parse(
            "c.jsonl",
            "{\"id\":\"a\",\"kind\":\"chat\",\"template\":\"chat/x\",\"text\":\"Hi Ann\",\"spans\":[{\"start\":3,\"end\":6,\"type\":\"PERSON\"}],\"cleared\":false}\n\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].spans[0].entity_type, "PERSON");
        assert_eq!(rs[0].group(), "chat");
    }

    #[test]
    fn errors_name_file_and_line_but_not_the_text() {
        let e = err("{\"id\":\"a\",\"kind\":\"k\",\"text\":\"secret 123\",\"spans\":[],\"cleared\":false}\n{\"id\":\"b\",\"text\":\"secret 456\"}\n");
        assert!(e.starts_with("c.jsonl:2: not a corpus record"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e = err("{\"id\":\"a\",\"kind\":\"k\",\"text\":\"abc\",\"spans\":[{\"start\":1,\"end\":9,\"type\":\"PERSON\"}],\"cleared\":false}");
        assert!(e.contains("c.jsonl:1: record a: span 0 (1..9)"), "{e}");
        let e = err("{\"id\":\"a\",\"kind\":\"k\",\"text\":\"abc\",\"spans\":[{\"start\":0,\"end\":1,\"type\":\"PERSN\"}],\"cleared\":false}");
        assert!(e.contains("did you mean PERSON?"), "{e}");
    }

    #[test]
    fn rejects_overlaps_duplicates_and_identifiers_in_cleared_records() {
        let e = err("{\"id\":\"a\",\"kind\":\"k\",\"text\":\"abcdef\",\"spans\":[{\"start\":0,\"end\":3,\"type\":\"PERSON\"},{\"start\":2,\"end\":4,\"type\":\"PERSON\"}],\"cleared\":false}");
        assert!(e.contains("overlaps"), "{e}");
        let line = "{\"id\":\"a\",\"kind\":\"k\",\"text\":\"x\",\"spans\":[],\"cleared\":true}\n";
        assert!(err(&format!("{line}{line}")).contains("c.jsonl:2: record id a appears twice"));
        let e = err("{\"id\":\"a\",\"kind\":\"k\",\"text\":\"abc\",\"spans\":[{\"start\":0,\"end\":1,\"type\":\"US_SSN\"}],\"cleared\":true}");
        assert!(e.contains("US_SSN in a cleared record"), "{e}");
    }

    #[test]
    fn offsets_are_code_points() {
        // "Zoë Ng": 6 code points, 7 bytes; a span ending at 6 is inside the text.
        let rs = parse(
            "c",
            "{\"id\":\"a\",\"kind\":\"k\",\"text\":\"Zoë Ng\",\"spans\":[{\"start\":0,\"end\":6,\"type\":\"PERSON\"}],\"cleared\":false}".as_bytes(),
        );
        assert!(rs.is_ok());
    }
}
