//! Names that detectors found in pieces become one name.
//!
//! The NER model tags a middle initial as nothing ("Élodie A. Lemaire" is "Élodie" and
//! "Lemaire"; "Candace B. Lynch" is "Candace B" and "Lynch"), and the name lists find a
//! "SURNAME, GIVEN" header line as two names. Reported in pieces, the initial reaches a cloud
//! model between two placeholders and the audit log counts two people. So after the merge, two
//! PERSON entities on one line are joined when only a middle initial lies between them, or a
//! comma between two parts written in capitals only ("WOOD, BENJAMIN"; a comma between names in
//! ordinary case is as often a list of people).
//!
//! Joining only widens a PERSON over the characters between two PERSONs, so it cannot change
//! which types a text has (the settled-decision logic relies on types, see `policy::settled`).

use super::Finding;

/// Joins adjacent PERSON findings of `findings` (sorted by start, as the merge leaves them).
pub(super) fn join_name_parts(text: &str, findings: &mut Vec<Finding>) {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        if let Some(last) = out.last_mut() {
            if last.entity_type == "PERSON"
                && f.entity_type == "PERSON"
                && last.end <= f.start
                && joins(text, last, &f)
            {
                last.end = f.end;
                last.score = last.score.max(f.score);
                last.validated |= f.validated;
                continue;
            }
        }
        out.push(f);
    }
    *findings = out;
}

fn joins(text: &str, a: &Finding, b: &Finding) -> bool {
    let gap = &text[a.end..b.start];
    if gap.len() > 6 || gap.contains(['\n', '\r']) {
        return false;
    }
    is_initial_gap(gap, &text[a.start..a.end])
        || (gap.trim() == ","
            && is_capitals(&text[a.start..a.end])
            && is_capitals(&text[b.start..b.end]))
}

/// " A. ", " A ", or ". " after a part that ends in the initial ("Candace B" + ". " + "Lynch").
fn is_initial_gap(gap: &str, first: &str) -> bool {
    let inner = gap.trim();
    if gap == inner || !gap.ends_with(' ') {
        return false;
    }
    let mut chars = inner.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(c), None, None) if c.is_uppercase() => gap.starts_with(' '),
        (Some(c), Some('.'), None) if c.is_uppercase() => gap.starts_with(' '),
        (Some('.'), None, None) => {
            // The initial is the last word of the first part.
            let last_word = first.rsplit(' ').next().unwrap_or_default();
            last_word.chars().count() == 1 && last_word.chars().all(char::is_uppercase)
        }
        _ => false,
    }
}

fn is_capitals(s: &str) -> bool {
    s.chars().any(char::is_alphabetic) && !s.chars().any(char::is_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorKind;

    fn found(text: &str, parts: &[(&str, &str)]) -> Vec<String> {
        let mut findings: Vec<Finding> = parts
            .iter()
            .map(|(v, ty)| {
                let start = text.find(v).unwrap();
                Finding {
                    entity_type: (*ty).into(),
                    start,
                    end: start + v.len(),
                    score: 0.8,
                    detector: DetectorKind::Ner,
                    rule_id: "rampart:GIVEN_NAME".into(),
                    validated: false,
                    context: Vec::new(),
                    decoded: None,
                }
            })
            .collect();
        join_name_parts(text, &mut findings);
        findings
            .iter()
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn a_middle_initial_joins_the_name() {
        let t = "Name: Élodie A. Lemaire. Last four";
        assert_eq!(
            found(t, &[("Élodie", "PERSON"), ("Lemaire", "PERSON")]),
            ["Élodie A. Lemaire"]
        );
        let t = "my mother Candace B. Lynch, born";
        assert_eq!(
            found(t, &[("Candace B", "PERSON"), ("Lynch", "PERSON")]),
            ["Candace B. Lynch"]
        );
    }

    #[test]
    fn capitals_join_across_a_comma_but_lists_do_not() {
        let t = "LAB REPORT  WOOD, BENJAMIN  M";
        assert_eq!(
            found(t, &[("WOOD", "PERSON"), ("BENJAMIN", "PERSON")]),
            ["WOOD, BENJAMIN"]
        );
        let t = "Invite Anna, Bob and Carl";
        assert_eq!(
            found(t, &[("Anna", "PERSON"), ("Bob", "PERSON")]),
            ["Anna", "Bob"]
        );
    }

    #[test]
    fn other_gaps_and_types_stay_apart() {
        let t = "Anna\nB. Lee";
        assert_eq!(
            found(t, &[("Anna", "PERSON"), ("Lee", "PERSON")]),
            ["Anna", "Lee"]
        );
        let t = "Anna B. Denver";
        assert_eq!(
            found(t, &[("Anna", "PERSON"), ("Denver", "LOCATION")]),
            ["Anna", "Denver"]
        );
        let t = "Anna and Lee";
        assert_eq!(
            found(t, &[("Anna", "PERSON"), ("Lee", "PERSON")]),
            ["Anna", "Lee"]
        );
    }
}
