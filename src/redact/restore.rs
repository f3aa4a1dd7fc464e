//! Putting real values back where the model wrote placeholders.
//!
//! Only placeholders issued for this request are replaced: one the model invents (`<PERSON_9>`
//! when eight were issued) stays as written, and so does a real value the model writes on its own
//! (nothing is masked on the way back). Replacement is one pass, so a restored value is never
//! itself searched for placeholders. Matching needs no automaton built per request: the format's
//! checks guarantee that a placeholder can only start where the format's prefix occurs and ends
//! at the first occurrence of its suffix, so each candidate is one lookup among the sorted issued
//! placeholders, and none can hide inside another.

use serde_json::Value;

use super::vault::Pseudonyms;

/// Restored answers larger than this are refused: a hostile upstream could otherwise repeat a
/// short placeholder of a long value until the gateway runs out of memory.
pub const MAX_RESTORED_BYTES: usize = 64 * 1024 * 1024;

/// Where a text goes, which decides how a value is written into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextContext {
    /// Message content and other plain strings: the value as is.
    Plain,
    /// Tool-call arguments (JSON text): the value escaped for a JSON string.
    JsonArguments,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("the restored answer would exceed {limit} bytes of restored values")]
    TooLarge { limit: usize },
    #[error("the upstream sent an event outside the chat-completion chunk format that carries placeholders")]
    Unrestorable,
}

/// How many bytes of values one answer may still receive.
#[derive(Debug, Clone)]
pub struct RestoreBudget {
    left: usize,
}

impl Default for RestoreBudget {
    fn default() -> Self {
        RestoreBudget {
            left: MAX_RESTORED_BYTES,
        }
    }
}

impl RestoreBudget {
    fn spend(&mut self, bytes: usize) -> Result<(), RestoreError> {
        self.left = self.left.checked_sub(bytes).ok_or(RestoreError::TooLarge {
            limit: MAX_RESTORED_BYTES,
        })?;
        Ok(())
    }
}

/// The frozen mapping of one request, ready to restore its answer.
pub struct Restorer {
    /// Issued placeholders, sorted, each with the index of its value.
    sorted: Vec<(String, usize)>,
    values: Vec<String>,
    /// Values escaped for JSON strings, where that differs from the value.
    escaped: Vec<Option<String>>,
    /// The format's text before the type (every placeholder starts with it) ...
    prefix: String,
    /// ... and the first character of its text after the number (the first one after the
    /// prefix, since neither types, separators nor numbers contain it).
    end: char,
    suffix_len: usize,
    longest: usize,
}

impl Restorer {
    pub fn new(pseudonyms: &Pseudonyms) -> Self {
        let entries = pseudonyms.entries();
        let mut sorted: Vec<(String, usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, p)| (p.placeholder().to_owned(), i))
            .collect();
        sorted.sort_unstable();
        let format = pseudonyms.format();
        Restorer {
            longest: sorted.iter().map(|(p, _)| p.len()).max().unwrap_or(0),
            sorted,
            values: entries.iter().map(|p| p.value().to_owned()).collect(),
            escaped: entries
                .iter()
                .map(|p| Some(p.json_form()).filter(|e| e != p.value()))
                .collect(),
            prefix: format.prefix().to_owned(),
            end: format
                .suffix()
                .chars()
                .next()
                .expect("formats have a suffix"),
            suffix_len: format.suffix().len(),
        }
    }

    /// The first issued placeholder in `text` at or after byte `from`: start, end, value index.
    fn find(&self, text: &str, from: usize) -> Option<(usize, usize, usize)> {
        if self.sorted.is_empty() {
            return None;
        }
        let step = self.prefix.chars().next().map_or(1, char::len_utf8);
        let mut at = from;
        while let Some(offset) = text.get(at..)?.find(&self.prefix) {
            let start = at + offset;
            let mut window_end = (start + self.longest).min(text.len());
            while !text.is_char_boundary(window_end) {
                window_end -= 1;
            }
            let body = start + self.prefix.len();
            if let Some(j) = text.get(body..window_end).and_then(|w| w.find(self.end)) {
                let end = body + j + self.suffix_len;
                if let Some(candidate) = text.get(start..end) {
                    if let Ok(k) = self
                        .sorted
                        .binary_search_by(|(p, _)| p.as_str().cmp(candidate))
                    {
                        return Some((start, end, self.sorted[k].1));
                    }
                }
            }
            at = start + step;
        }
        None
    }

    /// True if `fragment` is the start, but not the whole, of an issued placeholder.
    fn starts_placeholder(&self, fragment: &str) -> bool {
        let first = self.sorted.partition_point(|(p, _)| p.as_str() < fragment);
        self.sorted[first..]
            .iter()
            .take_while(|(p, _)| p.starts_with(fragment))
            .any(|(p, _)| p.len() > fragment.len())
    }

    /// True when nothing was masked (restoring is then the identity).
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The length in bytes of the longest issued placeholder.
    pub fn longest_placeholder(&self) -> usize {
        self.longest
    }

    /// True if `text` contains an issued placeholder.
    pub fn contains_placeholder(&self, text: &str) -> bool {
        self.find(text, 0).is_some()
    }

    /// `text` with every issued placeholder replaced by its value, or `None` if it has none.
    pub fn restore(
        &self,
        text: &str,
        context: TextContext,
        budget: &mut RestoreBudget,
    ) -> Result<Option<String>, RestoreError> {
        if !self.contains_placeholder(text) {
            return Ok(None);
        }
        let mut out = String::with_capacity(text.len());
        self.restore_into(text, context, &mut out, budget)?;
        Ok(Some(out))
    }

    /// Restores `text` in place; true if it changed.
    pub fn restore_in_place(
        &self,
        text: &mut String,
        context: TextContext,
        budget: &mut RestoreBudget,
    ) -> Result<bool, RestoreError> {
        match self.restore(text, context, budget)? {
            Some(restored) => {
                *text = restored;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Restores every string inside `value` in place; strings under an `arguments` key are JSON
    /// text. True if anything changed.
    pub fn restore_value(
        &self,
        value: &mut Value,
        context: TextContext,
        budget: &mut RestoreBudget,
    ) -> Result<bool, RestoreError> {
        let mut changed = false;
        match value {
            Value::String(text) => changed = self.restore_in_place(text, context, budget)?,
            Value::Array(items) => {
                for item in items {
                    changed |= self.restore_value(item, context, budget)?;
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    changed |= self.restore_value(item, context_of(key, context), budget)?;
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        Ok(changed)
    }

    /// True if any string inside `value` contains an issued placeholder.
    pub fn value_contains_placeholder(&self, value: &Value) -> bool {
        match value {
            Value::String(text) => self.contains_placeholder(text),
            Value::Array(items) => items.iter().any(|v| self.value_contains_placeholder(v)),
            Value::Object(map) => map.values().any(|v| self.value_contains_placeholder(v)),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }

    /// Appends `text` to `out` with every issued placeholder replaced by its value.
    pub fn restore_into(
        &self,
        text: &str,
        context: TextContext,
        out: &mut String,
        budget: &mut RestoreBudget,
    ) -> Result<(), RestoreError> {
        let last = self.replace_matches(text, context, out, budget)?;
        out.push_str(&text[last..]);
        Ok(())
    }

    /// Like [`Self::restore_into`], but stops before a trailing fragment that could still become
    /// a placeholder; returns how many bytes of `text` were consumed. Placeholders completed in
    /// `text` are final, since none is a prefix of another.
    pub fn restore_settled(
        &self,
        text: &str,
        context: TextContext,
        out: &mut String,
        budget: &mut RestoreBudget,
    ) -> Result<usize, RestoreError> {
        let last = self.replace_matches(text, context, out, budget)?;
        let cut = text.len() - self.pending_suffix(text, last);
        out.push_str(&text[last..cut]);
        Ok(cut)
    }

    /// Writes `text` up to the end of its last placeholder, restored; returns that end.
    fn replace_matches(
        &self,
        text: &str,
        context: TextContext,
        out: &mut String,
        budget: &mut RestoreBudget,
    ) -> Result<usize, RestoreError> {
        let mut last = 0;
        while let Some((start, end, index)) = self.find(text, last) {
            let value = self.value_for(index, context);
            budget.spend(value.len())?;
            out.push_str(&text[last..start]);
            out.push_str(value);
            last = end;
        }
        Ok(last)
    }

    fn value_for(&self, index: usize, context: TextContext) -> &str {
        match (context, &self.escaped[index]) {
            (TextContext::JsonArguments, Some(escaped)) => escaped,
            _ => &self.values[index],
        }
    }

    /// The length of the longest suffix of `text[from..]` that could be the start of an issued
    /// placeholder: what a stream must hold back until the next chunk says how it continues.
    /// Never more than [`Self::longest_placeholder`] − 1.
    pub fn pending_suffix(&self, text: &str, from: usize) -> usize {
        let Some(lead) = self.prefix.chars().next().filter(|_| !self.is_empty()) else {
            return 0;
        };
        let mut start = text
            .len()
            .saturating_sub(self.longest.saturating_sub(1))
            .max(from);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        // Every placeholder starts with `lead`, so only its occurrences can start a held suffix;
        // the first one whose suffix starts a placeholder gives the longest.
        for (i, _) in text[start..].match_indices(lead) {
            let suffix = &text[start + i..];
            if self.starts_placeholder(suffix) {
                return suffix.len();
            }
        }
        0
    }
}

/// The context of the strings under `key`: `arguments` (of a tool call, the legacy
/// `function_call`, or wherever a vendor puts one) is JSON text.
pub fn context_of(key: &str, inherited: TextContext) -> TextContext {
    if key == "arguments" {
        TextContext::JsonArguments
    } else {
        inherited
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::format::PlaceholderFormat;

    pub(crate) fn restorer(values: &[(&str, &str)]) -> Restorer {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        for (ty, v) in values {
            p.intern(ty, v);
        }
        Restorer::new(&p)
    }

    #[test]
    fn restores_issued_placeholders_only() {
        let r = restorer(&[
            ("PERSON", "Jane Roe"),
            ("EMAIL_ADDRESS", "jane@example.com"),
        ]);
        let mut b = RestoreBudget::default();
        let out = r
            .restore(
                "Dear <PERSON_1> (<EMAIL_ADDRESS_1>), <PERSON_2> and <PERSON_1x> <PERSON_10>",
                TextContext::Plain,
                &mut b,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "Dear Jane Roe (jane@example.com), <PERSON_2> and <PERSON_1x> <PERSON_10>"
        );
        assert_eq!(
            r.restore("nothing here", TextContext::Plain, &mut b)
                .unwrap(),
            None
        );
    }

    #[test]
    fn restoring_is_one_pass_and_never_masks() {
        let r = restorer(&[("PERSON", "<PERSON_1>"), ("URL", "Jane")]);
        let mut b = RestoreBudget::default();
        let out = r
            .restore("<PERSON_1> <URL_1> Jane", TextContext::Plain, &mut b)
            .unwrap()
            .unwrap();
        assert_eq!(out, "<PERSON_1> Jane Jane");
    }

    #[test]
    fn json_arguments_get_escaped_values() {
        let r = restorer(&[("PERSON", "Dwayne \"The Rock\" O\\Brien")]);
        let mut b = RestoreBudget::default();
        let args = r
            .restore(
                "{\"name\":\"<PERSON_1>\"}",
                TextContext::JsonArguments,
                &mut b,
            )
            .unwrap()
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&args).unwrap();
        assert_eq!(parsed["name"], "Dwayne \"The Rock\" O\\Brien");
    }

    #[test]
    fn the_budget_stops_amplification() {
        let long = "x".repeat(1024 * 1024);
        let r = restorer(&[("PERSON", &long)]);
        let mut b = RestoreBudget::default();
        let text = "<PERSON_1>".repeat(65);
        assert_eq!(
            r.restore(&text, TextContext::Plain, &mut b),
            Err(RestoreError::TooLarge {
                limit: MAX_RESTORED_BYTES
            })
        );
    }

    #[test]
    fn pending_suffix_holds_only_placeholder_prefixes() {
        let r = restorer(&[("PERSON", "Jane"), ("US_SSN", "512-48-7391")]);
        assert_eq!(r.longest_placeholder(), "<US_SSN_1>".len());
        assert_eq!(r.pending_suffix("Hello <PER", 0), 4);
        assert_eq!(r.pending_suffix("Hello <", 0), 1);
        assert_eq!(r.pending_suffix("Hello <PERSON_1", 0), 9);
        assert_eq!(r.pending_suffix("Hello <PERX", 0), 0);
        assert_eq!(r.pending_suffix("a < b <US_SSN", 0), 7);
        assert_eq!(r.pending_suffix("Hello <PER", 8), 0, "only after `from`");
        assert_eq!(r.pending_suffix("<<", 0), 1);
        assert_eq!(r.pending_suffix("é<", 0), 1);
        assert_eq!(restorer(&[]).pending_suffix("<PER", 0), 0);
    }
}
