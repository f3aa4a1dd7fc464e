//! Compiling one rule pattern, with the checks that keep scanning fast and its results well defined.
//!
//! The regex crate family guarantees linear time, but three things a pattern author can easily get
//! wrong still matter here:
//! - a Unicode word boundary (`\b`) makes the lazy DFA give up on any non-ASCII byte and fall back
//!   to a much slower engine, so patterns must spell it `(?-u:\b)`;
//! - a pattern that can match the empty string would report empty findings;
//! - a pattern that can match a line break cannot be run line by line behind the prefilter, so it is
//!   marked to run over the whole text instead (correct, but slower unless it starts with a literal).

use regex_automata::meta;
use regex_automata::util::syntax;
use regex_syntax::hir::{Class, Hir, HirKind};

/// The name of the capture group that, when present, is the reported value (the rest of the match
/// is context, e.g. `password=` before a password).
pub const VALUE_GROUP: &str = "value";

/// A checked, compiled pattern.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    pub hir: Hir,
    pub regex: meta::Regex,
    /// Index of the `value` capture group, if the pattern has one.
    pub value_group: Option<usize>,
    /// True if a match can contain `\n`: such patterns run over the whole text, not per line.
    pub crosses_lines: bool,
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
    let crosses_lines = can_match_newline(&hir);
    Ok(CompiledPattern {
        hir,
        regex,
        value_group,
        crosses_lines,
    })
}

/// True if some string matched by `hir` contains a `\n` byte.
fn can_match_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(lit) => lit.0.contains(&b'\n'),
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        HirKind::Repetition(r) => r.max != Some(0) && can_match_newline(&r.sub),
        HirKind::Capture(c) => can_match_newline(&c.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(can_match_newline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ascii_boundaries_and_finds_value_group() {
        let p = compile(r"(?-u:\b)pwd=(?P<value>[a-z]{3,8})").unwrap();
        assert!(p.value_group.is_some());
        assert!(!p.crosses_lines);
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

    #[test]
    fn detects_patterns_that_cross_lines() {
        for p in [
            r"a\sb",
            r"a(?s:.)b",
            r"a[^x]b",
            "a\nb",
            r"-----BEGIN(?:\r?\n[A-Z]+)*",
        ] {
            assert!(compile(p).unwrap().crosses_lines, "{p}");
        }
        for p in [
            r"a[ \t]b",
            r"a.b",
            r"a[^\s]b",
            r"(?m:^)ab(?m:$)",
            r"a\n{0}b",
        ] {
            assert!(!compile(p).unwrap().crosses_lines, "{p}");
        }
    }
}
