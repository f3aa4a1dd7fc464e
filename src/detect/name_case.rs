//! How a name is written says whether the NER model's PERSON is one.
//!
//! The model reads some lower-case words as given names: "After bumping Kubernetes" becomes the
//! person "bumping Kubernetes", "Scale my banana bread" the person "banana", "taken with
//! apixaban" the person "apixaban". Names are written with capitals, except where a writer
//! writes everything in lower case ("hi im carmen stewart") or a surname starts with a particle
//! ("van der Stael"). So, for the model's PERSON findings only:
//! - leading lower-case words that are not name particles are cut off ("bumping Kubernetes" ->
//!   "Kubernetes", which the allow list then knows; "kin Ignaz Bachmann" -> "Ignaz Bachmann");
//! - a finding in lower case only is kept where a word that introduces a name stands right
//!   before it ("im", "name is", "dear", "mr");
//! - a one-word finding listed with a term of the allow lists ("Compare Haskell and Python",
//!   "FastAPI and Kafka") is one of those things, not a person.
//!
//! Runs before the allow lists, so that a trimmed finding is checked against them.

use super::allow::AllowList;
use super::{DetectorKind, Finding};

/// Lower-case words that begin surnames ("van der Stael", "de la Cruz", "von Trapp").
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "ten", "ter",
    "zu", "bin", "al", "el", "dos", "das", "do", "st", "mac", "ben", "ibn",
];

/// Words right before a lower-case name that say a name follows.
const INTRODUCERS: &[&str] = &[
    "im", "i'm", "i’m", "am", "hi", "hello", "hey", "is", "called", "named", "name", "dear", "mr",
    "mrs", "ms", "dr", "from", "to", "under", "by", "patient", "pt", "kin", "contact", "ask",
    "tell", "thanks", "cc", "for", "user",
];

/// Trims or drops the model's PERSON findings whose case says they are no name (module doc).
pub(super) fn fix_person_case(text: &str, findings: &mut Vec<Finding>, allow: &AllowList) {
    findings.retain_mut(|f| {
        if f.detector != DetectorKind::Ner || f.entity_type != "PERSON" {
            return true;
        }
        let span = &text[f.start..f.end];
        if span.chars().any(char::is_lowercase) && !span.chars().any(char::is_uppercase) {
            return introduced(&text[..f.start]);
        }
        // Cut leading lower-case words that are not particles.
        let mut offset = 0;
        for word in span.split_inclusive(char::is_whitespace) {
            let bare = word.trim_end();
            let lower = bare.chars().next().is_some_and(char::is_lowercase);
            if !lower || PARTICLES.contains(&bare.trim_end_matches('.')) {
                break;
            }
            offset += word.len();
        }
        f.start += offset;
        f.start < f.end && !listed_with_allowed(text, f.start, f.end, allow)
    });
}

/// Words that join the items of a list.
const CONJUNCTIONS: &[&str] = &["and", "or", "vs", "versus", "&", ","];

/// Whether the one word at `start..end` is listed next to an allow-listed term: "X and Y",
/// "X, Y", "X vs Y" with X or Y on the allow list.
fn listed_with_allowed(text: &str, start: usize, end: usize, allow: &AllowList) -> bool {
    if text[start..end].contains(char::is_whitespace) {
        return false;
    }
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '.' | '#' | '+' | '-');
    let tokens = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .flat_map(|t| {
                // A trailing comma is a conjunction of its own.
                let bare = t.trim_end_matches(',');
                let comma = (bare.len() < t.len()).then(|| ",".to_string());
                [
                    Some(bare.trim_matches(|c: char| !is_word(c)).to_string()),
                    comma,
                ]
            })
            .flatten()
            .filter(|t| !t.is_empty())
            .collect()
    };
    let window_start = text.floor_char_boundary(start.saturating_sub(40));
    let window_end = text.ceil_char_boundary(end + 40);
    let mut before = tokens(&text[window_start..start]);
    let after_text = &text[end..window_end];
    let mut after = tokens(after_text);
    if after_text.starts_with(',') && after.first().map(String::as_str) != Some(",") {
        after.insert(0, ",".into());
    }
    let joined = |conj: Option<&String>, other: Option<&String>| {
        conj.is_some_and(|c| CONJUNCTIONS.contains(&c.to_lowercase().as_str()))
            && other.is_some_and(|o| allow.contains(o))
    };
    let last = before.pop();
    let second_last = before.pop();
    joined(last.as_ref(), second_last.as_ref()) || joined(after.first(), after.get(1))
}

/// Whether the last word of `before` introduces a name.
fn introduced(before: &str) -> bool {
    before
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .rev()
        .find(|w| !w.is_empty())
        .is_some_and(|w| INTRODUCERS.contains(&w.to_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(text: &str, value: &str) -> Finding {
        let start = text.find(value).unwrap();
        Finding {
            entity_type: "PERSON".into(),
            start,
            end: start + value.len(),
            score: 0.8,
            detector: DetectorKind::Ner,
            rule_id: "rampart:GIVEN_NAME".into(),
            validated: false,
            context: Vec::new(),
            decoded: None,
        }
    }

    fn fixed(text: &str, value: &str) -> Option<String> {
        let mut findings = vec![person(text, value)];
        let allow = AllowList::from_terms(["Python", "FastAPI", "Kubernetes"]);
        fix_person_case(text, &mut findings, &allow);
        findings.first().map(|f| text[f.start..f.end].to_string())
    }

    #[test]
    fn leading_lower_case_words_are_cut_but_particles_stay() {
        let t = "After bumping Kubernetes from v1.8";
        assert_eq!(
            fixed(t, "bumping Kubernetes").as_deref(),
            Some("Kubernetes")
        );
        let t = "Next of kin Ignaz Bachmann +49";
        assert_eq!(
            fixed(t, "kin Ignaz Bachmann").as_deref(),
            Some("Ignaz Bachmann")
        );
        let t = "Dear Dr. van der Stael, my name";
        assert_eq!(fixed(t, "van der Stael").as_deref(), Some("van der Stael"));
    }

    #[test]
    fn lower_case_names_need_a_word_that_introduces_them() {
        let t = "hi im carmen stewart and my ssn is";
        assert_eq!(
            fixed(t, "carmen stewart").as_deref(),
            Some("carmen stewart")
        );
        assert_eq!(fixed("Scale my banana bread", "banana"), None);
        assert_eq!(fixed("can it be taken with apixaban?", "apixaban"), None);
        assert_eq!(fixed("After bumping Kafka", "bumping"), None);
    }

    #[test]
    fn other_findings_are_untouched() {
        let t = "scale my banana bread";
        let mut findings = vec![Finding {
            detector: DetectorKind::Dictionary,
            ..person(t, "banana")
        }];
        fix_person_case(t, &mut findings, &AllowList::default());
        assert_eq!(findings.len(), 1);
    }

    #[test]
    fn a_name_listed_with_software_is_software() {
        assert_eq!(
            fixed("Compare Haskell and Python for a CLI", "Haskell"),
            None
        );
        assert_eq!(fixed("Compare Python and Haskell.", "Haskell"), None);
        assert_eq!(fixed("a post about FastAPI, Kafka and Go", "Kafka"), None);
        let t = "Ask Julia and Python experts";
        assert_eq!(fixed(t, "Julia"), None);
        let t = "Ask Julia and Mark about Python";
        assert_eq!(fixed(t, "Julia").as_deref(), Some("Julia"));
        let t = "Ask Julia Smith and Python";
        assert_eq!(fixed(t, "Julia Smith").as_deref(), Some("Julia Smith"));
    }
}
