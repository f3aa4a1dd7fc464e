//! The text that stands in for a masked value: `<PERSON_1>` by default.
//!
//! A placeholder is `prefix TYPE separator N suffix`, written as a template such as
//! `"<{type}_{n}>"`. Restoring finds placeholders by exact string matching, so the template is
//! checked for the properties that make matching unambiguous (a placeholder is never a prefix of
//! another one nor found inside another one) and safe to write anywhere the model may copy it,
//! including JSON tool-call arguments (no quote, backslash or control character).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};

/// The template used when none is configured. Models keep angle-bracketed upper-case tokens
/// intact, and the shape is the one Presidio's anonymizer users know.
pub const DEFAULT_TEMPLATE: &str = "<{type}_{n}>";

/// Templates longer than this are refused: every placeholder costs prompt tokens.
const MAX_TEMPLATE_CHARS: usize = 64;

/// A checked placeholder template.
#[derive(Clone)]
pub struct PlaceholderFormat {
    template: String,
    prefix: String,
    separator: String,
    suffix: String,
    /// Matches any text of this shape (issued or not), to keep literal look-alikes out of use.
    /// Shared, because a cloned `Regex` starts with an empty cache pool.
    shape: Arc<regex::Regex>,
}

impl PlaceholderFormat {
    /// Checks `template` (`{type}` then `{n}`, each exactly once).
    pub fn parse(template: &str) -> Result<Self, String> {
        let chars = template.chars().count();
        if chars > MAX_TEMPLATE_CHARS {
            return Err(format!(
                "placeholder template is {chars} characters long; the limit is {MAX_TEMPLATE_CHARS}"
            ));
        }
        if let Some(c) = template
            .chars()
            .find(|c| c.is_control() || *c == '"' || *c == '\\')
        {
            return Err(format!(
                "placeholder template contains {c:?}: quotes, backslashes and control characters would need escaping inside JSON tool-call arguments"
            ));
        }
        let (prefix, rest) = template.split_once("{type}").ok_or_else(|| {
            "placeholder template must contain {type} (the entity type), e.g. \"<{type}_{n}>\""
                .to_owned()
        })?;
        let (separator, suffix) = rest.split_once("{n}").ok_or_else(|| {
            "placeholder template must contain {n} (the number) after {type}, e.g. \"<{type}_{n}>\""
                .to_owned()
        })?;
        if [prefix, separator, suffix]
            .iter()
            .any(|part| part.contains(['{', '}']))
        {
            return Err(
                "placeholder template may contain {type} and {n} once each and no other braces"
                    .to_owned(),
            );
        }
        let Some(first) = prefix.chars().next() else {
            return Err("placeholder template must start with literal text before {type}, e.g. \"<\", so that placeholders stand out from ordinary words".to_owned());
        };
        if is_word_char(first) || rest.contains(first) || prefix[first.len_utf8()..].contains(first)
        {
            return Err(format!(
                "placeholder template must start with a punctuation character that appears nowhere else in it (found {first:?}), so that no placeholder can hide inside another"
            ));
        }
        let Some(end) = suffix.chars().next() else {
            return Err("placeholder template must end with literal text after {n}, e.g. \">\", so that <PERSON_1> is not the start of <PERSON_12>".to_owned());
        };
        if is_word_char(end) || separator.contains(end) {
            return Err(format!(
                "the text after {{n}} must start with a punctuation character that is not in the separator (found {end:?}), so that no placeholder is the start of another"
            ));
        }
        let shape = regex::Regex::new(&format!(
            "{}[A-Z0-9_]+{}[0-9]+{}",
            regex::escape(prefix),
            regex::escape(separator),
            regex::escape(suffix)
        ))
        .map_err(|e| format!("placeholder template cannot be matched: {e}"))?;
        Ok(PlaceholderFormat {
            template: template.to_owned(),
            prefix: prefix.to_owned(),
            separator: separator.to_owned(),
            suffix: suffix.to_owned(),
            shape: Arc::new(shape),
        })
    }

    /// The placeholder for the `n`th value of `entity_type`. Characters outside `A-Z0-9_` in the
    /// type become `_`, so a placeholder never contains anything the checks above did not allow.
    pub fn render(&self, entity_type: &str, n: u32) -> String {
        let mut out = String::with_capacity(
            self.prefix.len() + entity_type.len() + self.separator.len() + 10 + self.suffix.len(),
        );
        out.push_str(&self.prefix);
        out.extend(entity_type.chars().map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        }));
        out.push_str(&self.separator);
        out.push_str(&n.to_string());
        out.push_str(&self.suffix);
        out
    }

    /// Every substring of `text` shaped like a placeholder of this format.
    pub fn find_shaped<'a>(&'a self, text: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.shape.find_iter(text).map(|m| m.as_str())
    }

    pub fn template(&self) -> &str {
        &self.template
    }

    /// The text before `{type}`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The text after `{n}`.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Default for PlaceholderFormat {
    fn default() -> Self {
        PlaceholderFormat::parse(DEFAULT_TEMPLATE).expect("the default template is valid")
    }
}

impl PartialEq for PlaceholderFormat {
    fn eq(&self, other: &Self) -> bool {
        self.template == other.template
    }
}

impl fmt::Debug for PlaceholderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlaceholderFormat({:?})", self.template)
    }
}

impl fmt::Display for PlaceholderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.template)
    }
}

impl std::str::FromStr for PlaceholderFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PlaceholderFormat::parse(s)
    }
}

impl<'de> Deserialize<'de> for PlaceholderFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let template = String::deserialize(deserializer)?;
        PlaceholderFormat::parse(&template).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_renders_typed_numbered_placeholders() {
        let f = PlaceholderFormat::default();
        assert_eq!(f.render("PERSON", 1), "<PERSON_1>");
        assert_eq!(f.render("EMAIL_ADDRESS", 12), "<EMAIL_ADDRESS_12>");
        assert_eq!(f.render("odd type", 3), "<_________3>");
    }

    #[test]
    fn other_good_templates() {
        for t in [
            "[{type}#{n}]]",
            "«{type}-{n}»",
            "@{type}{n}#",
            "<{type}_{n}>",
        ] {
            let f = PlaceholderFormat::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(f.template(), t);
        }
        assert_eq!(
            PlaceholderFormat::parse("[{type}#{n}]]")
                .unwrap()
                .render("URL", 2),
            "[URL#2]]"
        );
    }

    #[test]
    fn ambiguous_or_unsafe_templates_are_refused_with_a_reason() {
        for (t, why) in [
            ("{type}_{n}>", "literal text before {type}"),
            ("<{type}_{n}", "literal text after {n}"),
            ("<{n}_{type}>", "{n} (the number) after {type}"),
            ("<TYPE_{n}>", "must contain {type}"),
            ("<{type}_>", "must contain {n}"),
            (
                "<{type}_{n}1>",
                "punctuation character that is not in the separator",
            ),
            ("<{type}<{n}>", "appears nowhere else"),
            ("<{type}>{n}>", "not in the separator"),
            ("<{type}_{n}_{n}>", "no other braces"),
            ("\"{type}_{n}\"", "quotes, backslashes"),
            ("<{type}\n{n}>", "control characters"),
            (
                "x{type}_{n}>",
                "punctuation character that appears nowhere else",
            ),
            ("[[{type}_{n}]]", "appears nowhere else"),
            ("<{type}-{n}->", "not in the separator"),
        ] {
            let err = PlaceholderFormat::parse(t).expect_err(t);
            assert!(err.contains(why), "{t}: {err}");
        }
        let long = format!("<{}{{type}}_{{n}}>", "-".repeat(70));
        assert!(PlaceholderFormat::parse(&long)
            .unwrap_err()
            .contains("limit"));
    }

    #[test]
    fn finds_shaped_text_issued_or_not() {
        let f = PlaceholderFormat::default();
        let found: Vec<&str> = f
            .find_shaped("a <PERSON_1> b <US_SSN_22> <person_1> <PERSON_> <X_9>")
            .collect();
        assert_eq!(found, vec!["<PERSON_1>", "<US_SSN_22>", "<X_9>"]);
    }

    #[test]
    fn deserializes_from_toml_with_a_located_error() {
        #[derive(Deserialize, Debug)]
        struct C {
            #[allow(dead_code)]
            placeholder: PlaceholderFormat,
        }
        let ok: C = toml::from_str("placeholder = \"[{type}:{n}]\"").unwrap();
        assert_eq!(ok.placeholder.template(), "[{type}:{n}]");
        let err = toml::from_str::<C>("placeholder = \"{type}\"").unwrap_err();
        assert!(err.span().is_some());
        assert!(err.message().contains("must contain {n}"), "{err}");
    }
}
