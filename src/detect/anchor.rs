//! Dates and places count as personal data only where the text is about someone.
//!
//! A date or a place names no one by itself: "the holiday on 2024-01-18", "release notes
//! published 4 Nov 2023", "the history of Denver", "the population of Norway". HIPAA's Safe Harbor
//! lists dates and places smaller than a state among the identifiers because they identify a
//! person *together with* what else the text says about them. Reported everywhere, they sent
//! ordinary prompts on premise (on our corpus, dates and places of no one were a third of the
//! cleared prompts' false alarms). So a DATE_TIME or LOCATION finding is kept only when the text
//! has an anchor:
//! - any other finding that is about a person: a name, a contact detail, an identifier, an
//!   account (so "Anna, Tuesday 3 May" keeps its date); secrets, and conditions or drugs named
//!   without anyone ("how common is gout in Spain?"), are not about a person and anchor nothing,
//!   nor is a name-list finding inside a place's span ("Savannah", "Fort Wayne");
//! - or, near the finding, a word that ties it to a person: a personal pronoun, a person noun
//!   ("patient", "wife"), a life event ("born", "admitted", "moved", "travelling"), in the
//!   languages of the other context lists.
//!
//! Anchoring only ever keeps more as a scan finds more: a first pass that drops a date may see it
//! come back when the NER model adds a name, never the reverse (the settled-decision logic relies
//! on that, see `policy::settled`).

use super::{catalog, Finding};

/// The types that need an anchor.
const NEEDS_ANCHOR: &[&str] = &["DATE_TIME", "LOCATION"];

/// How far from a date or place a word tying it to a person may stand, in bytes: about a
/// sentence ("I'm travelling to Canada next week", "born in Estonia in May 1961").
const WORD_WINDOW: usize = 80;

/// Words that tie a nearby date or place to a person (lower case, whole words).
const PERSON_WORDS: &[&str] = &[
    // pronouns, first and third person (second person and "we" are how prompts address a model
    // or speak for a company: "give me", "our release")
    "i",
    "i'm",
    "im",
    "i've",
    "i'd",
    "i'll",
    "my",
    "mine",
    "myself",
    "he",
    "he's",
    "him",
    "his",
    "himself",
    "she",
    "she's",
    "her",
    "hers",
    "herself",
    "ich",
    "mein",
    "meine",
    "meinem",
    "meiner",
    "je",
    "j'ai",
    "moi",
    // not "mon": it is also Monday ("Mon, 21.08.2023")
    "mes",
    "elle",
    "yo",
    "mi",
    "mis",
    "él",
    "ella",
    "mio",
    "mia",
    "ik",
    "mijn",
    "hij",
    "zij",
    // people
    "patient",
    "patients",
    "patiënt",
    "paciente",
    "paziente",
    "patientin",
    "employee",
    "applicant",
    "resident",
    "member",
    "guest",
    "tenant",
    "wife",
    "husband",
    "son",
    "daughter",
    "mother",
    "father",
    "mom",
    "mum",
    "dad",
    "brother",
    "sister",
    "child",
    "baby",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "aunt",
    "uncle",
    "family",
    "friend",
    "colleague",
    "neighbour",
    "neighbor",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "nurse",
    "herr",
    "frau",
    "mme",
    "sr",
    "sra",
    "dhr",
    "mevr",
    // life events and where someone is
    "born",
    "birth",
    "birthday",
    "dob",
    "geboren",
    "geb",
    "né",
    "née",
    "nacido",
    "nacida",
    "nato",
    "nata",
    "died",
    "death",
    "deceased",
    "funeral",
    "wedding",
    "married",
    "anniversary",
    "admitted",
    "admission",
    "discharged",
    "discharge",
    "appointment",
    "surgery",
    "diagnosed",
    "hired",
    "retired",
    "graduated",
    "moved",
    "relocated",
    "lives",
    "lived",
    "living",
    "reside",
    "resides",
    "resided",
    "hometown",
    "originally",
    "citizen",
    "citizenship",
    "nationality",
    "travel",
    "travels",
    "travelling",
    "traveling",
    "travelled",
    "traveled",
    "trip",
    "vacation",
    "staying",
    "stayed",
    "wohnhaft",
    "wohne",
    "wohnt",
    "habite",
    "vive",
    "vivo",
    "abita",
    "woont",
    "woon",
];

/// Drops the DATE_TIME and LOCATION findings of a text that is not about anyone (module doc).
pub(super) fn drop_unanchored(text: &str, findings: &mut Vec<Finding>) {
    if !findings
        .iter()
        .any(|f| NEEDS_ANCHOR.contains(&f.entity_type.as_str()))
    {
        return;
    }
    // A name list's finding inside a place's span ("Savannah", "Fort Wayne") is that place as
    // much as a person: it stands or falls with the place.
    let mut place_spans: Vec<(usize, usize)> = findings
        .iter()
        .filter(|f| f.entity_type == "LOCATION")
        .map(|f| (f.start, f.end))
        .collect();
    place_spans.sort_unstable();
    let is_place_name = |f: &Finding| {
        f.detector == super::DetectorKind::Dictionary
            && f.entity_type == "PERSON"
            && place_spans[..place_spans.partition_point(|&(s, _)| s <= f.start)]
                .iter()
                .rev()
                .take(4)
                .any(|&(_, e)| f.end <= e)
    };
    let needs = |f: &Finding| NEEDS_ANCHOR.contains(&f.entity_type.as_str()) || is_place_name(f);
    let anchors = |f: &Finding| catalog::is_about_a_person(&f.entity_type) && !needs(f);
    if findings.iter().any(anchors) {
        return;
    }
    findings.retain(|f| !needs(f) || is_deny_listed(f) || has_person_word_near(text, f));
}

fn is_deny_listed(f: &Finding) -> bool {
    f.detector == super::DetectorKind::Dictionary && f.rule_id.starts_with("deny/")
}

fn has_person_word_near(text: &str, f: &Finding) -> bool {
    let from = text.floor_char_boundary(f.start.saturating_sub(WORD_WINDOW));
    let to = text.ceil_char_boundary(f.end + WORD_WINDOW);
    let is_word_char = |c: char| c.is_alphanumeric() || c == '\'' || c == '’';
    text[from..f.start]
        .split(|c: char| !is_word_char(c))
        .chain(text[f.end..to].split(|c: char| !is_word_char(c)))
        .filter(|w| !w.is_empty() && w.len() <= 16)
        .any(|w| {
            let w = w.replace('’', "'").to_lowercase();
            PERSON_WORDS.contains(&w.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;

    fn finding(text: &str, value: &str, ty: &str) -> Finding {
        let start = text.find(value).unwrap();
        Finding {
            entity_type: ty.into(),
            start,
            end: start + value.len(),
            score: 0.85,
            detector: DetectorKind::Regex,
            rule_id: "test".into(),
            validated: false,
            context: vec![],
            decoded: None,
        }
    }

    fn kept(text: &str, found: &[(&str, &str)]) -> Vec<String> {
        let mut findings: Vec<Finding> = found.iter().map(|(v, ty)| finding(text, v, ty)).collect();
        drop_unanchored(text, &mut findings);
        findings
            .iter()
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn dates_and_places_of_no_one_are_dropped() {
        for (text, value, ty) in [
            (
                "Write a banner for the holiday on 2024-01-18.",
                "2024-01-18",
                "DATE_TIME",
            ),
            (
                "Release notes (published 4 Nov 2023) mention a breaking change.",
                "4 Nov 2023",
                "DATE_TIME",
            ),
            (
                "Give me three facts about the history of Denver.",
                "Denver",
                "LOCATION",
            ),
            (
                "SELECT * FROM orders WHERE created_at >= '06-APR-2024'",
                "06-APR-2024",
                "DATE_TIME",
            ),
        ] {
            assert!(kept(text, &[(value, ty)]).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_person_word_near_keeps_them() {
        for (text, value, ty) in [
            ("I'm travelling to Canada next week.", "Canada", "LOCATION"),
            ("She was originally from Estonia.", "Estonia", "LOCATION"),
            ("Admitted on 3/4/2025 overnight.", "3/4/2025", "DATE_TIME"),
            ("My appointment is on May 5.", "May 5", "DATE_TIME"),
            (
                "ich wohne seit dem 8.8.25 in der Stadt",
                "8.8.25",
                "DATE_TIME",
            ),
        ] {
            assert_eq!(kept(text, &[(value, ty)]), vec![value], "{text}");
        }
    }

    #[test]
    fn another_finding_about_a_person_keeps_them() {
        let text = "Anna Berg, 12 March 2024, Lisbon";
        assert_eq!(
            kept(
                text,
                &[
                    ("Anna Berg", "PERSON"),
                    ("12 March 2024", "DATE_TIME"),
                    ("Lisbon", "LOCATION")
                ]
            ),
            vec!["Anna Berg", "12 March 2024", "Lisbon"]
        );
        let text = "my asthma flare on 2024-03-01";
        assert_eq!(
            kept(
                text,
                &[("asthma", "MEDICAL_CONDITION"), ("2024-03-01", "DATE_TIME")]
            ),
            vec!["asthma", "2024-03-01"]
        );
    }

    #[test]
    fn health_terms_and_place_names_on_name_lists_anchor_nothing() {
        let text = "How common is gout in adults over 65 in Spain?";
        assert_eq!(
            kept(
                text,
                &[("gout", "MEDICAL_CONDITION"), ("Spain", "LOCATION")]
            ),
            vec!["gout"]
        );
        let text = "Give me three facts about the history of Savannah.";
        let mut findings = vec![
            finding(text, "Savannah", "LOCATION"),
            Finding {
                detector: DetectorKind::Dictionary,
                ..finding(text, "Savannah", "PERSON")
            },
        ];
        drop_unanchored(text, &mut findings);
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn secrets_and_other_dates_anchor_nothing() {
        let text = "token sk-abc rotated on 2024-03-01 in Frankfurt";
        assert_eq!(
            kept(
                text,
                &[
                    ("sk-abc", "API_KEY"),
                    ("2024-03-01", "DATE_TIME"),
                    ("Frankfurt", "LOCATION")
                ]
            ),
            vec!["sk-abc"]
        );
    }

    #[test]
    fn words_far_away_or_inside_other_words_do_not_count() {
        let far = format!(
            "{} holiday on 2024-01-18",
            "my ".to_string() + &"x".repeat(100)
        );
        assert!(kept(&far, &[("2024-01-18", "DATE_TIME")]).is_empty());
        // "his" inside "history", "i" inside "in": whole words only.
        let text = "the history of Denver in brief";
        assert!(kept(text, &[("Denver", "LOCATION")]).is_empty());
    }
}
