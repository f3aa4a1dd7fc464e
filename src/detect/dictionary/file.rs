//! Reading one dictionary file: a header of `# key: value` directives, then one term per line.
//!
//! Dictionary files are data that compliance staff edit, so every mistake is reported with
//! `file:line:column` and what to write instead, and a header that leaves out the entity type,
//! score, source or licence is an error rather than a silent default: a health list whose
//! provenance is unknown must not ship, and a typo must not quietly disable a list.

use std::path::{Path, PathBuf};

use crate::detect::catalog;
use crate::detect::DetectError;

/// What a dictionary is for, which decides its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// A term list (health context): entity type, score, source and licence are required.
    Dictionary,
    /// A deny list: terms that are always an entity. Defaults to `CUSTOM` at score 1.0;
    /// source and licence are optional because deny lists are usually an organisation's own.
    Deny,
}

/// Which spellings of a term match (the `case` directive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Case {
    /// Any ASCII case ("Metformin", "METFORMIN"); terms in capitals only are exact (acronyms).
    #[default]
    Any,
    /// Only where every word starts with a capital ("Jordan", "New York", "JORDAN", not
    /// "jordan"): for names of people and places that are also ordinary words.
    Capitalised,
}

impl Case {
    fn parse(value: &str) -> Option<Case> {
        match value {
            "any" => Some(Case::Any),
            "capitalised" | "capitalized" => Some(Case::Capitalised),
            _ => None,
        }
    }
}

/// One term and the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub text: String,
    pub line: usize,
}

/// A parsed dictionary file.
#[derive(Debug, Clone)]
pub struct DictionaryFile {
    pub path: PathBuf,
    /// The rule id its findings carry: the file stem, prefixed `deny/` for deny lists.
    pub name: String,
    pub entity_type: String,
    pub score: f32,
    pub source: Option<String>,
    pub licence: Option<String>,
    pub case: Case,
    pub terms: Vec<Term>,
}

/// Longest term accepted, in bytes: longer lines are almost certainly pasted prose.
pub const MAX_TERM_BYTES: usize = 200;

const REQUIRED_KEYS: &str = "entity_type, score, source, licence";
const KNOWN_KEYS: &str = "entity_type, score, source, licence, case";

#[derive(Default)]
struct Header {
    entity_type: Option<(String, usize, usize)>,
    score: Option<(f32, usize)>,
    source: Option<(String, usize)>,
    licence: Option<(String, usize)>,
    case: Option<(Case, usize)>,
}

/// Reads and validates the dictionary at `path`.
pub fn load(path: &Path, kind: ListKind) -> Result<DictionaryFile, DetectError> {
    let bytes = std::fs::read(path).map_err(|source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
        DetectError::Config(format!(
            "{}:{line}:{column}: dictionary files must be UTF-8",
            path.display()
        ))
    })?;
    // Editors on Windows may save a byte-order mark; it is not part of the first line.
    parse(path, text.strip_prefix('\u{feff}').unwrap_or(&text), kind)
}

/// Parses dictionary `text` read from `path` (used for error messages and the name).
pub fn parse(path: &Path, text: &str, kind: ListKind) -> Result<DictionaryFile, DetectError> {
    let err = |line: usize, column: usize, msg: String| {
        DetectError::Config(format!("{}:{line}:{column}: {msg}", path.display()))
    };
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if stem.is_empty()
        || !stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(err(
            1,
            1,
            "a dictionary's file name is its rule id: use lower-case letters, digits, '_' or '-' \
             (e.g. medical_conditions.txt)"
                .into(),
        ));
    }
    let name = match kind {
        ListKind::Dictionary => stem.to_owned(),
        ListKind::Deny => format!("deny/{stem}"),
    };

    let mut header = Header::default();
    let mut terms = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if let Some(d) = directive(raw, comment) {
                if !terms.is_empty() {
                    return Err(err(
                        line,
                        d.key_column,
                        format!(
                            "directive `{}` after the first term: move it into the header",
                            d.key
                        ),
                    ));
                }
                apply_directive(&mut header, &d, line, &err)?;
            }
            continue;
        }
        let column = raw.len() - raw.trim_start().len() + 1;
        if let Some(bad) = trimmed.chars().find(|c| c.is_control()) {
            return Err(err(
                line,
                column,
                format!("term contains a control character (U+{:04X})", bad as u32),
            ));
        }
        if trimmed.chars().count() < 2 {
            return Err(err(
                line,
                column,
                "a term must be at least 2 characters: a single letter would match everywhere"
                    .into(),
            ));
        }
        if trimmed.len() > MAX_TERM_BYTES {
            return Err(err(
                line,
                column,
                format!("term is longer than {MAX_TERM_BYTES} bytes"),
            ));
        }
        terms.push(Term {
            text: trimmed.to_owned(),
            line,
        });
    }

    let (entity_type, score) = match kind {
        ListKind::Dictionary => {
            let missing = |key: &str| {
                err(
                    1,
                    1,
                    format!(
                        "the header has no `# {key}: ...` directive (required: {REQUIRED_KEYS})"
                    ),
                )
            };
            if header.source.is_none() {
                return Err(missing("source"));
            }
            if header.licence.is_none() {
                return Err(missing("licence"));
            }
            let entity_type = header
                .entity_type
                .take()
                .ok_or_else(|| missing("entity_type"))?;
            let score = header.score.ok_or_else(|| missing("score"))?;
            (entity_type.0, score.0)
        }
        ListKind::Deny => (
            header
                .entity_type
                .take()
                .map(|e| e.0)
                .unwrap_or_else(|| "CUSTOM".to_owned()),
            header.score.map(|s| s.0).unwrap_or(1.0),
        ),
    };

    Ok(DictionaryFile {
        path: path.to_path_buf(),
        name,
        entity_type,
        score,
        source: header.source.map(|s| s.0),
        licence: header.licence.map(|s| s.0),
        case: header.case.map(|c| c.0).unwrap_or_default(),
        terms,
    })
}

/// A `# key: value` header line, with 1-based columns for error messages.
struct Directive<'a> {
    key: &'a str,
    key_column: usize,
    value: &'a str,
    value_column: usize,
}

/// A comment line of the form `# key: value` with a lower-case key is a directive; any other
/// comment is prose.
fn directive<'a>(raw: &'a str, comment: &'a str) -> Option<Directive<'a>> {
    let body = comment.strip_prefix(' ').unwrap_or(comment);
    let (key, rest) = body.split_once(':')?;
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return None;
    }
    let value = rest.trim();
    let column_of = |s: &str| {
        raw[..s.as_ptr() as usize - raw.as_ptr() as usize]
            .chars()
            .count()
            + 1
    };
    Some(Directive {
        key,
        key_column: column_of(key),
        value,
        value_column: column_of(value),
    })
}

fn apply_directive(
    header: &mut Header,
    d: &Directive<'_>,
    line: usize,
    err: &impl Fn(usize, usize, String) -> DetectError,
) -> Result<(), DetectError> {
    let (key, value, column) = (d.key, d.value, d.value_column);
    let duplicate = |first: usize| {
        err(
            line,
            d.key_column,
            format!("`{key}` is already set on line {first}; keep one"),
        )
    };
    if value.is_empty() {
        return Err(err(line, column, format!("`{key}` has no value")));
    }
    match key {
        "entity_type" => {
            if let Some((_, first, _)) = header.entity_type {
                return Err(duplicate(first));
            }
            if !catalog::is_entity_type(value) {
                let hint = catalog::nearest_entity_type(value)
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                return Err(err(
                    line,
                    column,
                    format!("unknown entity type {value}{hint}; the types are listed in src/detect/catalog.rs"),
                ));
            }
            header.entity_type = Some((value.to_owned(), line, column));
        }
        "score" => {
            if let Some((_, first)) = header.score {
                return Err(duplicate(first));
            }
            let score: f32 =
                value
                    .parse()
                    .ok()
                    .filter(|s: &f32| *s > 0.0 && *s <= 1.0)
                    .ok_or_else(|| {
                        err(
                    line,
                    column,
                    format!("score must be a number greater than 0 and at most 1, not `{value}`"),
                )
                    })?;
            header.score = Some((score, line));
        }
        "source" => {
            if let Some((_, first)) = header.source {
                return Err(duplicate(first));
            }
            header.source = Some((value.to_owned(), line));
        }
        "licence" | "license" => {
            if let Some((_, first)) = header.licence {
                return Err(duplicate(first));
            }
            header.licence = Some((value.to_owned(), line));
        }
        "case" => {
            if let Some((_, first)) = header.case {
                return Err(duplicate(first));
            }
            let case = Case::parse(value).ok_or_else(|| {
                err(
                    line,
                    column,
                    format!("case must be `any` or `capitalised`, not `{value}`"),
                )
            })?;
            header.case = Some((case, line));
        }
        _ => {
            return Err(err(
                line,
                d.key_column,
                format!(
                    "unknown directive `{key}` (known: {KNOWN_KEYS}); a prose comment must not \
                     start with a lower-case word and a colon"
                ),
            ))
        }
    }
    Ok(())
}

/// 1-based line and column (in characters) of byte `offset` in `bytes`.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "# A test list.\n# source: tests\n# licence: CC0\n# entity_type: MEDICATION\n# score: 0.7\n";

    fn parse_str(text: &str) -> Result<DictionaryFile, DetectError> {
        parse(
            Path::new("rules/dictionaries/meds.txt"),
            text,
            ListKind::Dictionary,
        )
    }

    fn error_of(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_header_and_terms_with_line_numbers() {
        let d = parse_str(&format!(
            "{HEADER}\nmetformin\n  # a comment\n  lisinopril  \n"
        ))
        .unwrap();
        assert_eq!(d.name, "meds");
        assert_eq!(d.entity_type, "MEDICATION");
        assert_eq!(d.score, 0.7);
        assert_eq!(d.source.as_deref(), Some("tests"));
        assert_eq!(d.licence.as_deref(), Some("CC0"));
        assert_eq!(
            d.terms,
            vec![
                Term {
                    text: "metformin".into(),
                    line: 7
                },
                Term {
                    text: "lisinopril".into(),
                    line: 9
                },
            ]
        );
    }

    #[test]
    fn case_directive_is_read_and_checked() {
        assert_eq!(
            parse_str(&format!("{HEADER}aspirin\n")).unwrap().case,
            Case::Any
        );
        let file = parse_str(&format!("{HEADER}# case: capitalised\naspirin\n")).unwrap();
        assert_eq!(file.case, Case::Capitalised);
        let e = error_of(&format!("{HEADER}# case: upper\naspirin\n"));
        assert!(
            e.contains("meds.txt:6:9: case must be `any` or `capitalised`"),
            "{e}"
        );
    }

    #[test]
    fn prose_comments_are_not_directives() {
        let d = parse_str(&format!(
            "{HEADER}# Note: capitalised words are prose.\n# see http://x\nterm\n"
        ))
        .unwrap();
        assert_eq!(d.terms.len(), 1);
    }

    #[test]
    fn unknown_entity_type_names_file_line_column_and_suggests() {
        let e = error_of("# source: s\n# licence: l\n# entity_type: MEDICATOIN\n# score: 0.5\n");
        assert!(
            e.starts_with("rules/dictionaries/meds.txt:3:16: unknown entity type MEDICATOIN"),
            "{e}"
        );
        assert!(e.contains("did you mean MEDICATION?"), "{e}");
    }

    #[test]
    fn bad_score_is_an_error_at_its_column() {
        for bad in ["high", "0", "1.5", "-0.2", "NaN"] {
            let e = error_of(&format!(
                "# source: s\n# licence: l\n# entity_type: CUSTOM\n# score: {bad}\n"
            ));
            assert!(
                e.starts_with("rules/dictionaries/meds.txt:4:10: score must be"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn missing_required_directives_are_named() {
        for (drop, key) in [
            ("# source: tests\n", "source"),
            ("# licence: CC0\n", "licence"),
            ("# entity_type: MEDICATION\n", "entity_type"),
            ("# score: 0.7\n", "score"),
        ] {
            let e = error_of(&format!("{}term\n", HEADER.replace(drop, "")));
            assert!(e.starts_with("rules/dictionaries/meds.txt:1:1: "), "{e}");
            assert!(e.contains(&format!("`# {key}: ...`")), "{key}: {e}");
        }
    }

    #[test]
    fn unknown_and_duplicate_and_late_directives_are_errors() {
        let e = error_of(&format!("{HEADER}# entitytype: MEDICATION\n"));
        assert!(
            e.starts_with("rules/dictionaries/meds.txt:6:3: unknown directive `entitytype`"),
            "{e}"
        );
        let e = error_of(&format!("{HEADER}# score: 0.9\n"));
        assert!(
            e.starts_with("rules/dictionaries/meds.txt:6:3: `score` is already set on line 5"),
            "{e}"
        );
        let e = error_of(&format!("{HEADER}aspirin\n# score: 0.9\n"));
        assert!(
            e.starts_with(
                "rules/dictionaries/meds.txt:7:3: directive `score` after the first term"
            ),
            "{e}"
        );
    }

    #[test]
    fn bad_terms_are_errors_with_position() {
        let e = error_of(&format!("{HEADER}aspirin\n  x\n"));
        assert!(
            e.starts_with("rules/dictionaries/meds.txt:7:3: a term must be at least 2 characters"),
            "{e}"
        );
        let e = error_of(&format!("{HEADER}asp\u{7}irin\n"));
        assert!(
            e.starts_with("rules/dictionaries/meds.txt:6:1: term contains a control character"),
            "{e}"
        );
        let e = error_of(&format!("{HEADER}{}\n", "a".repeat(MAX_TERM_BYTES + 1)));
        assert!(
            e.starts_with("rules/dictionaries/meds.txt:6:1: term is longer than"),
            "{e}"
        );
    }

    #[test]
    fn deny_lists_default_to_custom_at_full_score() {
        let d = parse(
            Path::new("deny/vip-names.txt"),
            "# A deny list.\nProject Nightingale\n",
            ListKind::Deny,
        )
        .unwrap();
        assert_eq!(d.name, "deny/vip-names");
        assert_eq!(d.entity_type, "CUSTOM");
        assert_eq!(d.score, 1.0);
        assert_eq!(d.terms.len(), 1);
        let d = parse(
            Path::new("deny/people.txt"),
            "# entity_type: PERSON\n# score: 0.9\nJane Roe\n",
            ListKind::Deny,
        )
        .unwrap();
        assert_eq!((d.entity_type.as_str(), d.score), ("PERSON", 0.9));
    }

    #[test]
    fn file_names_must_be_usable_rule_ids() {
        let e = parse(Path::new("x/Bad Name.txt"), HEADER, ListKind::Dictionary)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("x/Bad Name.txt:1:1: a dictionary's file name is its rule id"),
            "{e}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meds.txt");
        std::fs::write(&path, format!("\u{feff}{HEADER}aspirin\n")).unwrap();
        let d = load(&path, ListKind::Dictionary).unwrap();
        assert_eq!((d.entity_type.as_str(), d.terms.len()), ("MEDICATION", 1));
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, b"# source: s\nab\xffc\n").unwrap();
        let e = load(&path, ListKind::Dictionary).unwrap_err().to_string();
        assert!(
            e.ends_with("bad.txt:2:3: dictionary files must be UTF-8"),
            "{e}"
        );
    }
}
