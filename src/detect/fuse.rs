//! Names that detectors found in pieces become one name.
//!
//! The NER model tags a middle initial as nothing ("Élodie A. Lemaire" is "Élodie" and
//! "Lemaire"; "Candace B. Lynch" is "Candace B" and "Lynch"), and the name lists find a
//! "SURNAME, GIVEN" header line as two names. Reported in pieces, the initial reaches a cloud
//! model between two placeholders and the audit log counts two people. So after the merge, two
//! PERSON entities on one line are joined when only a middle initial lies between them, or a
//! comma in "SURNAME, GIVEN" ("WOOD, BENJAMIN", "Townsend, Miranda"; not in a list of people:
//! "Anna, Bob and Carl"). Initials before a name belong to it ("M. G. Barsanti"). A place name from the gazetteers right next to
//! a name is part of it ("Jeremy M. Bradford", "Douglas Ross"): people are named after places
//! more often than a place is written glued to a name.
//!
//! Joining widens a PERSON over the characters between two parts; a place it absorbs was found
//! by a dictionary, in the first pass, so a second pass can only add to what the first saw
//! (the settled-decision logic relies on that, see `policy::settled`).

use super::Finding;

/// Joins adjacent PERSON findings of `findings` (sorted by start, as the merge leaves them).
pub(super) fn join_name_parts(text: &str, findings: &mut Vec<Finding>) {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for mut f in findings.drain(..) {
        if let Some(last) = out.last_mut() {
            let names = (last.entity_type == "PERSON" && is_name_part(&f))
                || (f.entity_type == "PERSON" && is_listed_place(last));
            if names && last.end <= f.start && joins(text, last, &f) {
                last.entity_type = "PERSON".into();
                last.end = f.end;
                last.score = last.score.max(f.score);
                last.validated |= f.validated;
                continue;
            }
        }
        if f.entity_type == "PERSON" {
            let floor = out.last().map_or(0, |last| last.end);
            f.start = with_initials_before(text, f.start, floor);
        }
        out.push(f);
    }
    *findings = out;
}

/// A PERSON, or a place of a gazetteer (which may be a surname).
fn is_name_part(f: &Finding) -> bool {
    f.entity_type == "PERSON" || is_listed_place(f)
}

fn is_listed_place(f: &Finding) -> bool {
    f.entity_type == "LOCATION"
        && f.detector == super::DetectorKind::Dictionary
        && matches!(f.rule_id.as_str(), "cities" | "regions" | "countries")
}

fn joins(text: &str, a: &Finding, b: &Finding) -> bool {
    let gap = &text[a.end..b.start];
    let one_space = gap == " " && (a.entity_type != b.entity_type);
    one_space || joins_name_parts(text, a, b)
}

fn joins_name_parts(text: &str, a: &Finding, b: &Finding) -> bool {
    let gap = &text[a.end..b.start];
    if gap.len() > 6 || gap.contains(['\n', '\r']) {
        return false;
    }
    is_initial_gap(gap, &text[a.start..a.end])
        || (gap == ", " && is_surname_comma_given(text, a, b))
}

/// "WOOD, BENJAMIN" always; "Townsend, Miranda" when the first part is one word and the pair is
/// not part of a list ("Invite Anna, Bob and Carl", "Anna, Bob, Carl").
fn is_surname_comma_given(text: &str, a: &Finding, b: &Finding) -> bool {
    let (first, second) = (&text[a.start..a.end], &text[b.start..b.end]);
    if is_capitals(first) && is_capitals(second) {
        return true;
    }
    let before = text[..a.start].trim_end_matches(' ');
    let after = &text[b.end..];
    let listed_before = before.ends_with(',') || before.ends_with(" and") || before.ends_with('&');
    let listed_after = after.starts_with(", ")
        || after.starts_with(" and ")
        || after.starts_with(" & ")
        || after.starts_with(" or ");
    !first.contains(' ') && !listed_before && !listed_after
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

/// Where a name starting at `start` starts once the initials right before it are counted
/// ("H. H. Schenk", "M. G. Barsanti"), not reaching back before `floor`.
fn with_initials_before(text: &str, mut start: usize, floor: usize) -> usize {
    // The merge keeps partly overlapping entities: the previous one may reach past this start.
    if floor > start {
        return start;
    }
    for _ in 0..3 {
        let before = &text[floor..start];
        let Some(rest) = before.strip_suffix(". ") else {
            break;
        };
        let mut chars = rest.chars();
        let Some(initial) = chars.next_back() else {
            break;
        };
        let standalone = chars
            .next_back()
            .is_none_or(|c| matches!(c, ' ' | '(' | '"' | '\t' | '\n'));
        if !initial.is_uppercase() || !standalone {
            break;
        }
        start = floor + rest.len() - initial.len_utf8();
    }
    start
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
        let t = "customer Townsend, Miranda (acct 1462)";
        assert_eq!(
            found(t, &[("Townsend", "PERSON"), ("Miranda", "PERSON")]),
            ["Townsend, Miranda"]
        );
        let t = "with Anna, Bob, Carl";
        assert_eq!(
            found(t, &[("Anna", "PERSON"), ("Bob", "PERSON")]),
            ["Anna", "Bob"]
        );
    }

    #[test]
    fn an_overlapping_previous_entity_is_left_alone() {
        let t = "call A. B. Smith now";
        assert_eq!(
            found(t, &[("A. B. Smi", "URL"), ("Smith", "PERSON")]),
            ["A. B. Smi", "Smith"]
        );
    }

    #[test]
    fn initials_before_a_surname_belong_to_it() {
        let t = "REFERRING: M. G. Barsanti, MD";
        assert_eq!(found(t, &[("Barsanti", "PERSON")]), ["M. G. Barsanti"]);
        let t = "Dr. Barsanti and MD. Barsanti";
        assert_eq!(found(t, &[("Barsanti", "PERSON")]), ["Barsanti"]);
    }

    #[test]
    fn a_listed_place_next_to_a_name_is_part_of_it() {
        let place = |t: &str, v: &str| {
            let start = t.find(v).unwrap();
            Finding {
                entity_type: "LOCATION".into(),
                start,
                end: start + v.len(),
                score: 0.75,
                detector: DetectorKind::Dictionary,
                rule_id: "cities".into(),
                validated: false,
                context: Vec::new(),
                decoded: None,
            }
        };
        for (t, first, second) in [
            ("Proofread: Jeremy M. Bradford and", "Jeremy", "Bradford"),
            ("guest list: Douglas Ross, 8 Charlie", "Douglas", "Ross"),
        ] {
            let mut findings = found_findings(t, first, second, &place);
            join_name_parts(t, &mut findings);
            assert_eq!(findings.len(), 1, "{t}");
            assert_eq!(findings[0].entity_type, "PERSON");
        }
        let t = "Anna moved to Denver, Colorado";
        let mut findings = vec![place(t, "Denver"), place(t, "Colorado")];
        join_name_parts(t, &mut findings);
        assert_eq!(findings.len(), 2);
    }

    fn found_findings(
        t: &str,
        first: &str,
        second: &str,
        place: &dyn Fn(&str, &str) -> Finding,
    ) -> Vec<Finding> {
        let person = |v: &str| Finding {
            entity_type: "PERSON".into(),
            detector: DetectorKind::Ner,
            rule_id: "rampart:GIVEN_NAME".into(),
            ..place(t, v)
        };
        if first == "Douglas" {
            vec![place(t, first), person(second)]
        } else {
            vec![person(first), place(t, second)]
        }
    }

    #[test]
    fn other_gaps_and_types_stay_apart() {
        let t = "Anna\nB. Lee";
        assert_eq!(
            found(t, &[("Anna", "PERSON"), ("Lee", "PERSON")]),
            ["Anna", "B. Lee"]
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
