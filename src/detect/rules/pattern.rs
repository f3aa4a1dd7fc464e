//! Compiling one rule pattern, with the checks that keep scanning fast and its results well defined.
//!
//! The regex crate family guarantees linear time, but two things a pattern author can easily get
//! wrong still matter here:
//! - a Unicode word boundary (`\b`) makes the lazy DFA give up on any non-ASCII byte (the shared
//!   scanning DFA would fail, and a pattern on its own would fall back to a much slower engine), so
//!   patterns must spell it `(?-u:\b)`;
//! - a pattern that can match the empty string would report empty findings.

use regex_automata::meta;
use regex_automata::util::syntax;
use regex_syntax::hir::Hir;

/// The name of the capture group that, when present, is the reported value (the rest of the match
/// is context, e.g. `password=` before a password).
const VALUE_GROUP: &str = "value";

/// A checked, compiled pattern.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    pub hir: Hir,
    pub regex: meta::Regex,
    /// Index of the `value` capture group, if the pattern has one.
    pub value_group: Option<usize>,
}

/// Parses, checks and compiles `source`; the error is a plain sentence for the rule-pack author.
pub fn compile(source: &str) -> Result<CompiledPattern, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(source)
        .map_err(|e| format!("invalid regex:\n{e}"))?;
    let props = hir.properties();
    if props.look_set().contains_word_unicode() {
        return Err(
            "the regex uses a Unicode word boundary `\\b`; write `(?-u:\\b)` (ASCII) instead, which keeps the \
             fast DFA engine working on non-ASCII text"
                .into(),
        );
    }
    if props.minimum_len() == Some(0) {
        return Err("the regex can match the empty string".into());
    }
    let regex = meta::Builder::new()
        .syntax(syntax::Config::new())
        .build_from_hir(&hir)
        .map_err(|e| format!("the regex cannot be compiled: {e}"))?;
    let value_group = regex
        .group_info()
        .to_index(regex_automata::PatternID::ZERO, VALUE_GROUP);
    Ok(CompiledPattern {
        hir,
        regex,
        value_group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ascii_boundaries_and_finds_value_group() {
        let p = compile(r"(?-u:\b)pwd=(?P<value>[a-z]{3,8})").unwrap();
        assert!(p.value_group.is_some());
        assert!(compile(r"(?-u:\b)[0-9]{5}(?-u:\b)")
            .unwrap()
            .value_group
            .is_none());
    }

    #[test]
    fn rejects_unicode_boundaries_empty_matches_and_syntax_errors() {
        assert!(compile(r"\b[0-9]{5}\b").unwrap_err().contains("(?-u:\\b)"));
        assert!(compile(r"[0-9]*").unwrap_err().contains("empty string"));
        assert!(compile(r"[0-9").unwrap_err().starts_with("invalid regex"));
        assert!(compile(r"(a)\1").unwrap_err().starts_with("invalid regex"));
    }
}
