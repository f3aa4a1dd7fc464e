//! Problems found in a policy file, located as file:line:column for the person who has to fix them.
//!
//! The TOML parser reports byte spans; people count lines and characters, so spans are converted
//! here once. Messages never quote a test case's text: policy files may hold realistic sample PII.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Converts byte offsets of one source text to 1-based line and column (columns count characters).
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, line_starts }
    }

    /// The line and column of byte offset `at` (clamped to the text, snapped back to a char start).
    pub fn position(&self, at: usize) -> Position {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= at) - 1;
        let column = self.text[self.line_starts[line]..at].chars().count();
        Position {
            line: line + 1,
            column: column + 1,
        }
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The policy is not loaded.
    Error,
    /// The policy loads, but something in it is probably not what its author meant.
    Warning,
}

/// One problem in one policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// `None` when the problem is the file as a whole (unreadable, not UTF-8).
    pub position: Option<Position>,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.position {
            Some(p) => write!(
                f,
                "{}:{}:{}: {severity}: {}",
                self.file.display(),
                p.line,
                p.column,
                self.message
            ),
            None => write!(f, "{}: {severity}: {}", self.file.display(), self.message),
        }
    }
}

/// Collects diagnostics for one file, turning byte spans into positions as they arrive.
pub struct Diagnostics<'a> {
    file: &'a Path,
    lines: LineIndex<'a>,
    pub(crate) items: Vec<Diagnostic>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Diagnostics {
            file,
            lines: LineIndex::new(text),
            items: Vec::new(),
        }
    }

    pub fn position(&self, span: &Range<usize>) -> Position {
        self.lines.position(span.start)
    }

    pub fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.push(Severity::Error, span, message.into());
    }

    pub fn warning(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.push(Severity::Warning, span, message.into());
    }

    /// Adds a diagnostic unless the same one is already there (a bad parameter is reported once,
    /// however many rules use it).
    fn push(&mut self, severity: Severity, span: &Range<usize>, message: String) {
        let d = Diagnostic {
            file: self.file.to_path_buf(),
            position: Some(self.position(span)),
            severity,
            message,
        };
        if !self.items.contains(&d) {
            self.items.push(d);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// All diagnostics, in file order.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|d| d.position);
        self.items
    }
}

/// Why a policy file was not loaded: every error found in it (and its warnings), in file order.
#[derive(Debug, Clone)]
pub struct PolicyError {
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyError {
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        PolicyError {
            diagnostics: vec![Diagnostic {
                file: file.to_path_buf(),
                position: None,
                severity: Severity::Error,
                message: message.into(),
            }],
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for d in self.errors() {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nné = \"x\"\n\nlast";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(0), Position { line: 1, column: 1 });
        assert_eq!(idx.position(4), Position { line: 1, column: 5 });
        // 'é' is two bytes: the '=' after it is the 4th character of line 2.
        let eq = text.find("é =").unwrap() + "é ".len();
        assert_eq!(idx.position(eq), Position { line: 2, column: 4 });
        assert_eq!(idx.position(text.len()), Position { line: 4, column: 5 });
        assert_eq!(
            idx.position(text.len() + 10),
            Position { line: 4, column: 5 }
        );
        // Inside a multi-byte char: snapped back to its start.
        let inside = text.find('é').unwrap() + 1;
        assert_eq!(idx.position(inside), Position { line: 2, column: 2 });
    }

    #[test]
    fn display_is_file_line_column() {
        let d = Diagnostic {
            file: PathBuf::from("policies/x.toml"),
            position: Some(Position { line: 3, column: 9 }),
            severity: Severity::Error,
            message: "unknown action `lokal` (did you mean `local`?)".into(),
        };
        assert_eq!(
            d.to_string(),
            "policies/x.toml:3:9: error: unknown action `lokal` (did you mean `local`?)"
        );
    }
}
