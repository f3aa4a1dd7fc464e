//! The per-request mapping between masked values and their placeholders.
//!
//! A value gets one placeholder for the whole request, whatever message or field it is found in,
//! so the model can tell that two mentions are the same person. Numbers count per entity type from
//! 1, skipping any placeholder-shaped text the request already contains: a client who pastes
//! `<PERSON_1>` must not have it restored to someone else's name. The mapping lives in memory for
//! the request's lifetime only; its `Debug` output shows counts, never values.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::escape;
use super::format::PlaceholderFormat;

/// One masked value and the placeholder standing in for it.
pub struct Pseudonym {
    placeholder: String,
    entity_type: String,
    value: String,
    /// The value's form inside JSON arguments, when it is not simply the escaped value (a span
    /// of arguments text that is not a well-formed string fragment is restored byte for byte).
    json: Option<String>,
}

impl Pseudonym {
    pub fn placeholder(&self) -> &str {
        &self.placeholder
    }

    /// The type of the entity the value was first found as.
    pub fn entity_type(&self) -> &str {
        &self.entity_type
    }

    /// The real value, as it appears in plain text.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The real value as it appears inside JSON tool-call arguments.
    pub fn json_form(&self) -> String {
        self.json
            .clone()
            .unwrap_or_else(|| escape::escape(&self.value))
    }
}

/// Values masked in one request, in the order they were first seen.
pub struct Pseudonyms {
    format: PlaceholderFormat,
    entries: Vec<Pseudonym>,
    by_value: HashMap<String, usize>,
    /// Placeholders issued, and look-alikes already present in the request.
    unavailable: HashSet<String>,
    next_number: HashMap<String, u32>,
}

impl Pseudonyms {
    pub fn new(format: PlaceholderFormat) -> Self {
        Pseudonyms {
            format,
            entries: Vec::new(),
            by_value: HashMap::new(),
            unavailable: HashSet::new(),
            next_number: HashMap::new(),
        }
    }

    /// Keeps placeholder-shaped text found in `text` from being issued. Call it for every text of
    /// the request before the first [`Self::intern`].
    pub fn reserve_look_alikes(&mut self, text: &str) {
        for found in self.format.find_shaped(text) {
            if !self.unavailable.contains(found) {
                self.unavailable.insert(found.to_owned());
            }
        }
    }

    /// The index of `value`'s pseudonym, issuing `<TYPE_n>` the first time it is seen. A value
    /// seen again under another type keeps its first placeholder.
    pub fn intern(&mut self, entity_type: &str, value: &str) -> usize {
        if let Some(&index) = self.by_value.get(value) {
            return index;
        }
        let counter = self.next_number.entry(entity_type.to_owned()).or_insert(1);
        let placeholder = loop {
            let candidate = self.format.render(entity_type, *counter);
            *counter += 1;
            if !self.unavailable.contains(&candidate) {
                break candidate;
            }
        };
        self.unavailable.insert(placeholder.clone());
        let index = self.entries.len();
        self.entries.push(Pseudonym {
            placeholder,
            entity_type: entity_type.to_owned(),
            value: value.to_owned(),
            json: None,
        });
        self.by_value.insert(value.to_owned(), index);
        index
    }

    /// Like [`Self::intern`] for `raw`, a span of JSON arguments text: the value is what the
    /// escaped fragment stands for, so that it shares a placeholder with the same value in plain
    /// text. A span that is not a well-formed fragment is its own value, restored byte for byte.
    pub fn intern_json(&mut self, entity_type: &str, raw: &str) -> usize {
        match escape::unescape(raw) {
            Some(value) => self.intern(entity_type, &value),
            None => {
                let known = self.by_value.contains_key(raw);
                let index = self.intern(entity_type, raw);
                if !known {
                    self.entries[index].json = Some(raw.to_owned());
                }
                index
            }
        }
    }

    pub fn get(&self, index: usize) -> &Pseudonym {
        &self.entries[index]
    }

    pub fn entries(&self) -> &[Pseudonym] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn format(&self) -> &PlaceholderFormat {
        &self.format
    }
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonyms")
            .field("format", &self.format)
            .field("values", &self.entries.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_placeholder_numbered_per_type() {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        let jane = p.intern("PERSON", "Jane Roe");
        let mail = p.intern("EMAIL_ADDRESS", "jane@example.com");
        let john = p.intern("PERSON", "John Poe");
        assert_eq!(p.intern("PERSON", "Jane Roe"), jane);
        assert_eq!(p.intern("LOCATION", "Jane Roe"), jane, "first type wins");
        assert_eq!(p.get(jane).placeholder(), "<PERSON_1>");
        assert_eq!(p.get(mail).placeholder(), "<EMAIL_ADDRESS_1>");
        assert_eq!(p.get(john).placeholder(), "<PERSON_2>");
        assert_eq!(p.get(john).value(), "John Poe");
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn look_alikes_in_the_request_are_skipped() {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        p.reserve_look_alikes("earlier output: <PERSON_1> and <PERSON_2> met");
        let i = p.intern("PERSON", "Jane");
        assert_eq!(p.get(i).placeholder(), "<PERSON_3>");
    }

    #[test]
    fn json_spans_share_placeholders_with_plain_text() {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        let plain = p.intern("PERSON", "O\"Brien");
        assert_eq!(p.intern_json("PERSON", "O\\\"Brien"), plain);
        assert_eq!(p.get(plain).json_form(), "O\\\"Brien");
        let broken = p.intern_json("PERSON", "Jane\",\"Roe");
        assert_eq!(p.get(broken).value(), "Jane\",\"Roe");
        assert_eq!(p.get(broken).json_form(), "Jane\",\"Roe");
    }

    #[test]
    fn debug_shows_no_values() {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        p.intern("PERSON", "Zyxwvut Canary");
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("Zyxwvut") && shown.contains("values: 1"),
            "{shown}"
        );
    }
}
