//! Regex rule packs: the TOML file model, and loading a directory of packs into checked rules.
//!
//! Rules are data, not code (in the spirit of Presidio's recognizers), so the people who own
//! detection can add an identifier without a release. Because a wrong rule fails silently (it just
//! never matches), everything that can be checked at load time is, and every error names
//! `file:line:column` and says what to change: unknown keys, unknown entity types (with the nearest
//! valid one), invalid or slow regexes, unknown validators, out-of-range scores, duplicate rule ids
//! across packs. The format is documented in `rules/README.md`.

mod pattern;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use regex_automata::meta;
use serde::Deserialize;
use serde_spanned::Spanned;

use super::validators::{Validator, VALIDATORS};
use super::{catalog, DetectError};
pub use pattern::CompiledPattern;

/// Context window defaults (Presidio looks 5 words back; a few words ahead catches "123-45-6789 (SSN)").
const DEFAULT_BEFORE_WORDS: usize = 6;
const DEFAULT_AFTER_WORDS: usize = 3;
/// Context is about the words next to a value; a wider window only costs time on every match.
const MAX_WINDOW_WORDS: usize = 50;

// ---- file model ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    #[serde(default)]
    rule: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: Spanned<String>,
    entity: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    pattern: Vec<PatternFile>,
    #[serde(default)]
    patterns_from: Option<Spanned<String>>,
    #[serde(default)]
    score: Option<Spanned<f32>>,
    #[serde(default)]
    validator: Option<Spanned<String>>,
    #[serde(default)]
    invalidate: Vec<Spanned<String>>,
    #[serde(default)]
    context: Option<ContextFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternFile {
    #[serde(default)]
    name: Option<String>,
    regex: Spanned<String>,
    score: Spanned<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextFile {
    words: Spanned<Vec<Spanned<String>>>,
    boost: Spanned<f32>,
    #[serde(default)]
    before: Option<Spanned<usize>>,
    #[serde(default)]
    after: Option<Spanned<usize>>,
    #[serde(default)]
    unit: Option<Spanned<String>>,
}

// ---- checked rules ------------------------------------------------------------------------------

/// A loaded, checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub entity_type: String,
    pub description: Option<String>,
    pub patterns: Vec<Pattern>,
    pub validator: Option<Validator>,
    /// Any match of this (multi-pattern) regex on a value rejects the value.
    pub invalidate: Option<meta::Regex>,
    pub context: Option<Context>,
    /// Where the rule is defined (`file:line:column`), for messages.
    pub origin: String,
}

/// One pattern of a rule.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub name: Option<String>,
    /// The regex as written in the pack (patterns with the same source are compiled once).
    pub source: String,
    pub score: f32,
    pub compiled: CompiledPattern,
}

/// Words near a match that make it more likely to be what the rule says.
#[derive(Debug, Clone)]
pub struct Context {
    /// Lower-cased words or phrases, matched whole-word and ASCII case-insensitively.
    pub words: Vec<String>,
    pub before: usize,
    pub after: usize,
    pub unit: WindowUnit,
    /// Added to the pattern's score (capped at 1.0) when any word is found.
    pub boost: f32,
}

/// What a context window is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowUnit {
    Words,
    Chars,
}

/// Loads every `*.toml` pack directly in `dir` (subdirectories such as `dictionaries/` and
/// `examples/` are not packs), in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, DetectError> {
    let io = |source| DetectError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        // No rules would mean no regex findings at all: refuse rather than scan blind.
        return Err(DetectError::Config(format!(
            "{}: no rule packs (*.toml) found; point --rules (or [detect] rules) at the rules/ directory",
            dir.display()
        )));
    }
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| DetectError::Io {
            path: path.clone(),
            source,
        })?;
        sources.push((path, text));
    }
    load_sources(sources.iter().map(|(p, t)| (p.as_path(), t.as_str())))
}

/// Loads packs given as `(path, text)` pairs; `path` only names the file in messages.
pub fn load_sources<'a>(
    packs: impl IntoIterator<Item = (&'a Path, &'a str)>,
) -> Result<Vec<Rule>, DetectError> {
    let mut parsed = Vec::new();
    for (path, text) in packs {
        let file = SourceFile { path, text };
        let pack: PackFile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            file.error(span, e.message().trim_end())
        })?;
        parsed.push((file, pack));
    }

    // Rule ids are checked across all packs first, so patterns_from can name a rule in any pack.
    let mut by_id: HashMap<&str, (&SourceFile, &RuleFile)> = HashMap::new();
    for (file, pack) in &parsed {
        for rule in &pack.rule {
            let id = rule.id.get_ref().as_str();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            {
                return Err(file.error(
                    rule.id.span(),
                    "a rule id must be non-empty and use only letters, digits, `_`, `.` and `-`",
                ));
            }
            if let Some((first_file, first)) = by_id.get(id) {
                return Err(file.error(
                    rule.id.span(),
                    &format!(
                        "duplicate rule id `{id}` (first defined at {})",
                        first_file.location(first.id.span())
                    ),
                ));
            }
            by_id.insert(id, (file, rule));
        }
    }

    let mut compiled: HashMap<String, CompiledPattern> = HashMap::new();
    let mut rules = Vec::new();
    for (file, pack) in &parsed {
        for rule in &pack.rule {
            rules.push(check_rule(file, rule, &by_id, &mut compiled)?);
        }
    }
    Ok(rules)
}

fn check_rule(
    file: &SourceFile,
    rule: &RuleFile,
    by_id: &HashMap<&str, (&SourceFile, &RuleFile)>,
    compiled: &mut HashMap<String, CompiledPattern>,
) -> Result<Rule, DetectError> {
    let id = rule.id.get_ref();
    let entity = rule.entity.get_ref();
    if !catalog::is_entity_type(entity) {
        let hint = catalog::nearest_entity_type(entity)
            .map(|n| format!(" (did you mean {n}?)"))
            .unwrap_or_default();
        return Err(file.error(
            rule.entity.span(),
            &format!("unknown entity type `{entity}`{hint}; the known types are listed in src/detect/catalog.rs"),
        ));
    }

    let validator = match &rule.validator {
        None => None,
        Some(name) => Some(Validator::from_name(name.get_ref()).ok_or_else(|| {
            let hint = catalog::nearest(name.get_ref(), VALIDATORS.iter().map(|(n, _)| *n))
                .map(|n| format!(" (did you mean {n}?)"))
                .unwrap_or_default();
            let known: Vec<&str> = VALIDATORS.iter().map(|(n, _)| *n).collect();
            file.error(
                name.span(),
                &format!(
                    "unknown validator `{}`{hint}; known validators: {}",
                    name.get_ref(),
                    known.join(", ")
                ),
            )
        })?),
    };

    let mut patterns = Vec::new();
    match (&rule.patterns_from, rule.pattern.is_empty()) {
        (Some(from), true) => {
            let Some(score) = &rule.score else {
                return Err(file.error(
                    from.span(),
                    "a rule with `patterns_from` needs a `score`: the base score of every borrowed pattern",
                ));
            };
            check_score(file, score, "score")?;
            let Some((src_file, src_rule)) = by_id.get(from.get_ref().as_str()) else {
                let hint = catalog::nearest(from.get_ref(), by_id.keys().copied())
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                return Err(file.error(
                    from.span(),
                    &format!("`patterns_from` names no rule `{}`{hint}", from.get_ref()),
                ));
            };
            if src_rule.pattern.is_empty() {
                return Err(file.error(
                    from.span(),
                    "`patterns_from` must name a rule that has its own [[rule.pattern]] entries",
                ));
            }
            for p in &src_rule.pattern {
                let mut pattern = check_pattern(src_file, p, compiled)?;
                pattern.score = *score.get_ref();
                patterns.push(pattern);
            }
        }
        (Some(from), false) => {
            return Err(file.error(
                from.span(),
                "a rule has either [[rule.pattern]] entries or `patterns_from`, not both",
            ));
        }
        (None, true) => {
            return Err(file.error(
                rule.id.span(),
                &format!("rule `{id}` has no patterns: add a [[rule.pattern]] entry"),
            ));
        }
        (None, false) => {
            if let Some(score) = &rule.score {
                return Err(file.error(score.span(), "a rule-level `score` only applies with `patterns_from`; give each [[rule.pattern]] its own score"));
            }
            for p in &rule.pattern {
                patterns.push(check_pattern(file, p, compiled)?);
            }
        }
    }

    let invalidate = if rule.invalidate.is_empty() {
        None
    } else {
        for inv in &rule.invalidate {
            regex_syntax::Parser::new()
                .parse(inv.get_ref())
                .map_err(|e| file.error(inv.span(), &format!("invalid regex:\n{e}")))?;
        }
        let sources: Vec<&str> = rule
            .invalidate
            .iter()
            .map(|s| s.get_ref().as_str())
            .collect();
        let span = rule.invalidate[0].span();
        Some(
            meta::Regex::new_many(&sources)
                .map_err(|e| file.error(span, &format!("invalid `invalidate` regex: {e}")))?,
        )
    };

    let context = rule
        .context
        .as_ref()
        .map(|c| check_context(file, c))
        .transpose()?;

    Ok(Rule {
        id: id.clone(),
        entity_type: entity.clone(),
        description: rule.description.clone(),
        patterns,
        validator,
        invalidate,
        context,
        origin: file.location(rule.id.span()),
    })
}

fn check_pattern(
    file: &SourceFile,
    p: &PatternFile,
    compiled: &mut HashMap<String, CompiledPattern>,
) -> Result<Pattern, DetectError> {
    check_score(file, &p.score, "score")?;
    let source = p.regex.get_ref();
    let cp = match compiled.get(source) {
        Some(cp) => cp.clone(),
        None => {
            let cp = pattern::compile(source).map_err(|msg| file.error(p.regex.span(), &msg))?;
            compiled.insert(source.clone(), cp.clone());
            cp
        }
    };
    Ok(Pattern {
        name: p.name.clone(),
        source: source.clone(),
        score: *p.score.get_ref(),
        compiled: cp,
    })
}

fn check_score(file: &SourceFile, score: &Spanned<f32>, what: &str) -> Result<(), DetectError> {
    let s = *score.get_ref();
    if !(0.0..=1.0).contains(&s) {
        return Err(file.error(
            score.span(),
            &format!("{what} must be between 0.0 and 1.0, not {s}"),
        ));
    }
    Ok(())
}

fn check_context(file: &SourceFile, c: &ContextFile) -> Result<Context, DetectError> {
    check_score(file, &c.boost, "context boost")?;
    if c.words.get_ref().is_empty() {
        return Err(file.error(
            c.words.span(),
            "context `words` is empty; list the words that raise the score",
        ));
    }
    let mut words = Vec::with_capacity(c.words.get_ref().len());
    for w in c.words.get_ref() {
        let trimmed = w.get_ref().trim();
        if trimmed.is_empty() {
            return Err(file.error(w.span(), "a context word is empty"));
        }
        // Matching relies on it: a whole context word then starts where a word of text starts.
        if !trimmed
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
        {
            return Err(file.error(
                w.span(),
                &format!(
                    "context word `{trimmed}` must start with a letter, digit or `_` \
                     (punctuation may follow: \"acct #\")"
                ),
            ));
        }
        words.push(trimmed.to_ascii_lowercase());
    }
    let unit = match c.unit.as_ref().map(|u| u.get_ref().as_str()) {
        None | Some("words") => WindowUnit::Words,
        Some("chars") => WindowUnit::Chars,
        Some(other) => {
            let span = c.unit.as_ref().map(Spanned::span).unwrap_or(0..0);
            return Err(file.error(
                span,
                &format!("unknown context unit `{other}`: use \"words\" or \"chars\""),
            ));
        }
    };
    let limit = match unit {
        WindowUnit::Words => MAX_WINDOW_WORDS,
        WindowUnit::Chars => MAX_WINDOW_WORDS * 8,
    };
    let (default_before, default_after) = match unit {
        WindowUnit::Words => (DEFAULT_BEFORE_WORDS, DEFAULT_AFTER_WORDS),
        // About six characters a word, so the default windows cover the same ground.
        WindowUnit::Chars => (DEFAULT_BEFORE_WORDS * 6, DEFAULT_AFTER_WORDS * 6),
    };
    let window = |side: &Option<Spanned<usize>>, default: usize| match side {
        None => Ok(default),
        Some(n) if *n.get_ref() > limit => Err(file.error(
            n.span(),
            &format!(
                "the context window is too wide: at most {limit} {}",
                unit_name(unit)
            ),
        )),
        Some(n) => Ok(*n.get_ref()),
    };
    let before = window(&c.before, default_before)?;
    let after = window(&c.after, default_after)?;
    if before == 0 && after == 0 {
        return Err(file.error(
            c.words.span(),
            "the context window is empty: set `before` or `after` above 0",
        ));
    }
    Ok(Context {
        words,
        before,
        after,
        unit,
        boost: *c.boost.get_ref(),
    })
}

fn unit_name(unit: WindowUnit) -> &'static str {
    match unit {
        WindowUnit::Words => "words",
        WindowUnit::Chars => "chars",
    }
}

/// A pack's text, for turning byte spans into `file:line:column`.
struct SourceFile<'a> {
    path: &'a Path,
    text: &'a str,
}

impl SourceFile<'_> {
    fn location(&self, span: Range<usize>) -> String {
        let at = span.start.min(self.text.len());
        let before = self.text.get(..at).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("{}:{line}:{col}", self.path.display())
    }

    fn error(&self, span: Range<usize>, message: &str) -> DetectError {
        DetectError::Config(format!("{}: {message}", self.location(span)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(packs: &[(&str, &str)]) -> Result<Vec<Rule>, String> {
        load_sources(packs.iter().map(|(p, t)| (Path::new(*p), *t))).map_err(|e| e.to_string())
    }

    const GOOD: &str = r#"
[[rule]]
id = "zip"
entity = "ZIP_CODE"
validator = "luhn"
invalidate = ['^0+$']

[[rule.pattern]]
name = "five"
regex = '(?-u:\b)[0-9]{5}(?-u:\b)'
score = 0.2

[rule.context]
words = ["ZIP", "postal code"]
boost = 0.5
"#;

    #[test]
    fn loads_a_good_pack() {
        let rules = load(&[("a.toml", GOOD)]).unwrap();
        assert_eq!(rules.len(), 1);
        let r = &rules[0];
        assert_eq!((r.id.as_str(), r.entity_type.as_str()), ("zip", "ZIP_CODE"));
        assert_eq!(r.validator, Some(Validator::Luhn));
        assert_eq!(r.origin, "a.toml:3:6");
        let c = r.context.as_ref().unwrap();
        assert_eq!(c.words, vec!["zip", "postal code"]);
        assert_eq!((c.before, c.after, c.unit), (6, 3, WindowUnit::Words));
        assert!(r.invalidate.as_ref().unwrap().is_match("00000"));
    }

    #[test]
    fn unknown_entity_type_names_location_and_suggestion() {
        let bad = GOOD.replace("ZIP_CODE", "ZIP_COED");
        let e = load(&[("rules/a.toml", &bad)]).unwrap_err();
        assert!(
            e.starts_with(
                "rules/a.toml:4:10: unknown entity type `ZIP_COED` (did you mean ZIP_CODE?)"
            ),
            "{e}"
        );
    }

    #[test]
    fn invalid_regex_names_location() {
        let bad = GOOD.replace(r"[0-9]{5}", r"[0-9{5}");
        let e = load(&[("a.toml", &bad)]).unwrap_err();
        assert!(e.starts_with("a.toml:10:9: invalid regex"), "{e}");
        let slow = GOOD.replace(r"(?-u:\b)[0-9]{5}(?-u:\b)", r"\b[0-9]{5}\b");
        let e = load(&[("a.toml", &slow)]).unwrap_err();
        assert!(
            e.starts_with("a.toml:10:9: ") && e.contains("(?-u:\\b)"),
            "{e}"
        );
    }

    #[test]
    fn unknown_validator_suggests_nearest() {
        let bad = GOOD.replace(r#""luhn""#, r#""lunh""#);
        let e = load(&[("a.toml", &bad)]).unwrap_err();
        assert!(
            e.starts_with("a.toml:5:13: unknown validator `lunh` (did you mean luhn?)"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_ids_across_packs() {
        let e = load(&[("a.toml", GOOD), ("b.toml", GOOD)]).unwrap_err();
        assert!(
            e.starts_with("b.toml:3:6: duplicate rule id `zip` (first defined at a.toml:3:6)"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_scores() {
        let e = load(&[("a.toml", &GOOD.replace("validator =", "validater ="))]).unwrap_err();
        assert!(
            e.starts_with("a.toml:5:1: unknown field `validater`"),
            "{e}"
        );
        let e = load(&[("a.toml", &GOOD.replace("score = 0.2", "score = 1.5"))]).unwrap_err();
        assert!(
            e.starts_with("a.toml:11:9: score must be between 0.0 and 1.0"),
            "{e}"
        );
        let e = load(&[(
            "a.toml",
            &GOOD.replace("boost = 0.5", "boost = 0.5\nunit = \"lines\""),
        )])
        .unwrap_err();
        assert!(e.contains("unknown context unit `lines`"), "{e}");
        let e = load(&[(
            "a.toml",
            &GOOD.replace("boost = 0.5", "boost = 0.5\nbefore = 500"),
        )])
        .unwrap_err();
        assert!(
            e.starts_with("a.toml:16:10: the context window is too wide"),
            "{e}"
        );
        let e = load(&[("a.toml", &GOOD.replace("\"ZIP\"", "\"#zip\""))]).unwrap_err();
        assert!(
            e.starts_with("a.toml:14:10: context word `#zip` must start with a letter"),
            "{e}"
        );
    }

    #[test]
    fn patterns_from_borrows_patterns_with_its_own_score() {
        let fax = r#"
[[rule]]
id = "zip-by-name"
entity = "ZIP_CODE"
patterns_from = "zip"
score = 0.1
"#;
        let rules = load(&[("a.toml", GOOD), ("b.toml", fax)]).unwrap();
        assert_eq!(rules[1].patterns.len(), 1);
        assert_eq!(rules[1].patterns[0].score, 0.1);
        assert_eq!(rules[1].patterns[0].source, rules[0].patterns[0].source);
        let e = load(&[("b.toml", &fax.replace("\"zip\"", "\"zap\""))]).unwrap_err();
        assert!(
            e.starts_with("b.toml:5:17: `patterns_from` names no rule `zap`"),
            "{e}"
        );
        let e = load(&[("b.toml", &fax.replace("score = 0.1\n", ""))]).unwrap_err();
        assert!(e.contains("needs a `score`"), "{e}");
    }

    #[test]
    fn toml_syntax_errors_have_locations() {
        let e = load(&[("a.toml", "[[rule]]\nid = \"x\nentity = 1\n")]).unwrap_err();
        assert!(e.starts_with("a.toml:2:"), "{e}");
    }

    #[test]
    fn empty_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("examples")).unwrap();
        std::fs::write(dir.path().join("examples").join("x.toml"), "not = [a pack").unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("no rule packs"), "{e}");
    }
}
