//! Allow lists: terms that are never entities (e.g. "AWS", "S3", "EKS"), however a detector scored
//! them. One term per line in `rules/dictionaries/allow/*.txt`; `#` starts a comment line.

use std::collections::HashSet;
use std::path::Path;

use super::DetectError;

#[derive(Debug, Clone)]
pub struct AllowList {
    terms: HashSet<String>,
    /// The byte lengths of the shortest and longest term: most findings fall outside them, and
    /// are answered without lower-casing and hashing their text.
    min_len: usize,
    max_len: usize,
    /// The first byte of every term, when ASCII (terms are lower-cased): a value starting with
    /// any other ASCII byte (a digit, for most findings) is not on the list.
    ascii_starts: [bool; 128],
}

impl Default for AllowList {
    fn default() -> Self {
        AllowList::from_terms(std::iter::empty::<&str>())
    }
}

impl AllowList {
    pub fn from_terms<I: IntoIterator<Item = S>, S: AsRef<str>>(terms: I) -> Self {
        let terms: HashSet<String> = terms
            .into_iter()
            .map(|t| t.as_ref().trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        // Lower-casing can change a value's byte length ('İ' grows, the Kelvin sign shrinks), so
        // the bounds are loose; a value they wrongly rule out stays an entity (fails closed).
        let min_len = terms.iter().map(String::len).min().unwrap_or(0) * 3 / 4;
        let max_len = terms.iter().map(String::len).max().unwrap_or(0) * 3 / 2 + 8;
        let mut ascii_starts = [false; 128];
        // An ASCII char lower-cases to ASCII, so a value starting with one can only equal a
        // term starting with its lower case; values starting otherwise get the full check.
        for t in &terms {
            if let Some(&b) = t.as_bytes().first().filter(|b| b.is_ascii()) {
                ascii_starts[b as usize] = true;
            }
        }
        AllowList {
            terms,
            min_len,
            max_len,
            ascii_starts,
        }
    }

    /// Reads every `*.txt` in `dir`. A missing directory is an empty list: allow lists only ever
    /// remove findings, so their absence can't make a scan less strict.
    pub fn load(dir: &Path) -> Result<Self, DetectError> {
        let mut terms = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AllowList::default()),
            Err(source) => {
                return Err(DetectError::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| DetectError::Io {
                path: path.clone(),
                source,
            })?;
            terms.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        Ok(AllowList::from_terms(terms))
    }

    pub fn contains(&self, value: &str) -> bool {
        if self.terms.is_empty() || value.len() < self.min_len || value.len() > self.max_len {
            return false;
        }
        let value = value.trim();
        match value.as_bytes().first() {
            None => return false,
            Some(&b) if b.is_ascii() && !self.ascii_starts[b.to_ascii_lowercase() as usize] => {
                return false
            }
            _ => {}
        }
        // Most values are short ASCII: lower-cased on the stack, with no allocation.
        let mut buf = [0u8; 64];
        if let Some(lower) = buf.get_mut(..value.len()).filter(|_| value.is_ascii()) {
            lower.copy_from_slice(value.as_bytes());
            lower.make_ascii_lowercase();
            return std::str::from_utf8(lower).is_ok_and(|lower| self.terms.contains(lower));
        }
        self.terms.contains(&value.to_lowercase())
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_values_in_any_case_after_trimming() {
        let long = "a".repeat(70);
        let allow = AllowList::from_terms(["AWS", "Straße", long.as_str(), "s3"]);
        for yes in ["aws", "AWS", " aWs ", "straße", "S3"] {
            assert!(allow.contains(yes), "{yes:?}");
        }
        assert!(
            allow.contains("STRAßE"),
            "non-ASCII values are lower-cased in full"
        );
        assert!(
            allow.contains(&long.to_uppercase()),
            "ASCII values past the stack buffer"
        );
        for no in ["awss", "aw", "s 3", "", "   ", &"a".repeat(69), "straßex"] {
            assert!(!allow.contains(no), "{no:?}");
        }
        assert!(!AllowList::default().contains("aws"));
    }
}
