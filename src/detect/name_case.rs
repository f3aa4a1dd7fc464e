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
//!   before it ("im", "name is", "dear", "mr").
//!
//! Runs before the allow lists, so that a trimmed finding is checked against them.

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
    "tell", "thanks", "cc",
];

/// Trims or drops the model's PERSON findings whose case says they are no name (module doc).
pub(super) fn fix_person_case(text: &str, findings: &mut Vec<Finding>) {
    findings.retain_mut(|f| {
        if f.detector != DetectorKind::Ner || f.entity_type != "PERSON" {
            return true;
        }
        let span = &text[f.start..f.end];
        if !span.chars().any(char::is_uppercase) {
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
        f.start < f.end
    });
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
        fix_person_case(text, &mut findings);
        findings.first().map(|f| text[f.start..f.end].to_string())
    }

    #[test]
    fn leading_lower_case_words_are_cut_but_particles_stay() {
        let t = "After bumping Kubernetes from v1.8";
        assert_eq!(fixed(t, "bumping Kubernetes").as_deref(), Some("Kubernetes"));
        let t = "Next of kin Ignaz Bachmann +49";
        assert_eq!(fixed(t, "kin Ignaz Bachmann").as_deref(), Some("Ignaz Bachmann"));
        let t = "Dear Dr. van der Stael, my name";
        assert_eq!(fixed(t, "van der Stael").as_deref(), Some("van der Stael"));
    }

    #[test]
    fn lower_case_names_need_a_word_that_introduces_them() {
        let t = "hi im carmen stewart and my ssn is";
        assert_eq!(fixed(t, "carmen stewart").as_deref(), Some("carmen stewart"));
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
        fix_person_case(t, &mut findings);
        assert_eq!(findings.len(), 1);
    }
}
