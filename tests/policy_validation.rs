//! Every kind of validation problem, each reported at its line and column with a plain message.

use std::path::Path;

use sluice::policy::diagnostic::{Diagnostic, Position, Severity};
use sluice::policy::{compile, load, Policy, PolicyError};

const HEADER: &str = "name = \"t\"\ndescription = \"test policy\"\ndefault = \"allow\"\n";

fn errors(src: &str) -> Vec<Diagnostic> {
    match compile(Path::new("policies/t.toml"), src.as_bytes()) {
        Ok(_) => panic!("expected errors in:\n{src}"),
        Err(PolicyError { diagnostics }) => {
            diagnostics.into_iter().filter(|d| d.is_error()).collect()
        }
    }
}

/// Asserts exactly one error, at `line`:`column`, whose message contains `needle`.
fn assert_error(src: &str, line: usize, column: usize, needle: &str) {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = &errs[0];
    assert_eq!(e.position, Some(Position { line, column }), "{e}");
    assert!(
        e.message.contains(needle),
        "{:?} does not contain {needle:?}",
        e.message
    );
    assert!(
        e.to_string()
            .starts_with(&format!("policies/t.toml:{line}:{column}: error: ")),
        "{e}"
    );
}

fn ok(src: &str) -> Policy {
    compile(Path::new("policies/t.toml"), src.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn rule(body: &str) -> String {
    format!("{HEADER}\n[[rule]]\nid = \"r\"\n{body}\nreason = \"because\"\n")
}

#[test]
fn toml_syntax_error() {
    assert_error(
        &format!("{HEADER}[[rule]]\nid = \"r\nmatch = []\n"),
        5,
        8,
        "",
    );
    assert_error(
        "name = \"t\"\ndescription = \"x\"\ndefault = allow\n",
        3,
        11,
        "",
    );
}

#[test]
fn unknown_key_and_missing_key() {
    let src = rule("match = [\"PERSON\"]\nmin_scor = 0.5\naction = \"local\"");
    assert_error(&src, 8, 1, "unknown field `min_scor`");
    let src = format!("{HEADER}\n[[rule]]\nid = \"r\"\nmatch = [\"PERSON\"]\naction = \"local\"\n");
    assert_error(&src, 5, 1, "missing field `reason`");
    assert_error(
        "name = \"t\"\ndefault = \"allow\"\n",
        1,
        1,
        "missing field `description`",
    );
    assert_error(
        &format!("{HEADER}version = \"abc\"\n"),
        4,
        1,
        "unknown field `version`",
    );
}

#[test]
fn wrong_value_type() {
    assert_error(
        &rule("match = \"PERSON\"\naction = \"local\""),
        7,
        9,
        "invalid type",
    );
}

#[test]
fn unknown_entity_type_suggests_the_nearest() {
    assert_error(
        &rule("match = [\"PERSON\", \"US_SNN\"]\naction = \"local\""),
        7,
        20,
        "unknown entity type `US_SNN` (did you mean `US_SSN`?)",
    );
    let src = format!("{HEADER}[categories]\nids = [\"EMAIL_ADRESS\"]\n");
    assert_error(&src, 5, 8, "did you mean `EMAIL_ADDRESS`?");
}

#[test]
fn unknown_category_suggests_the_nearest() {
    let src = format!(
        "{HEADER}[categories]\nhealth_context = [\"MEDICATION\"]\n\n[[rule]]\nid = \"r\"\nmatch = [\"PERSON\"]\nwith = [\"helth_context\"]\naction = \"local\"\nreason = \"x\"\n"
    );
    assert_error(
        &src,
        10,
        9,
        "unknown entity type or category `helth_context` (did you mean `health_context`?)",
    );
}

#[test]
fn unknown_action_suggests_the_nearest() {
    assert_error(
        &rule("match = [\"PERSON\"]\naction = \"lokal\""),
        8,
        10,
        "unknown action `lokal` (did you mean `local`?)",
    );
    assert_error(
        "name = \"t\"\ndescription = \"x\"\ndefault = \"deny\"\n",
        3,
        11,
        "unknown action `deny`",
    );
}

#[test]
fn parameters() {
    let src = format!(
        "{HEADER}[params]\nalone = \"lokal\"\n{}",
        &rule("match = [\"PERSON\"]\naction = \"$alone\"")[HEADER.len()..]
    );
    assert_error(
        &src,
        5,
        9,
        "parameter `alone` (used as `action`): unknown action `lokal`",
    );
    let src = rule("match = [\"PERSON\"]\naction = \"$alone\"");
    assert_error(&src, 8, 10, "unknown parameter `$alone`");
    let src = format!(
        "{HEADER}[params]\nn = \"local\"\n{}",
        &rule("match = [\"PERSON\"]\nmin_count = \"$n\"\naction = \"local\"")[HEADER.len()..]
    );
    assert_error(
        &src,
        5,
        5,
        "`min_count` must be a number, not the string \"local\"",
    );
    let src = format!(
        "{HEADER}[params]\ns = 2.5\n{}",
        &rule("match = [\"PERSON\"]\nmin_score = \"$s\"\naction = \"local\"")[HEADER.len()..]
    );
    assert_error(&src, 5, 5, "can never match");
}

#[test]
fn duplicate_rule_id_names_the_first() {
    let one = "[[rule]]\nid = \"same\"\nmatch = [\"PERSON\"]\naction = \"local\"\nreason = \"x\"\n";
    let src = format!("{HEADER}{one}{one}");
    assert_error(
        &src,
        10,
        6,
        "duplicate rule id `same` (first defined on line 4)",
    );
}

#[test]
fn conditions_that_can_never_match() {
    assert_error(
        &rule("match = [\"PERSON\"]\nmin_score = 1.5\naction = \"local\""),
        8,
        13,
        "`min_score = 1.5` can never match",
    );
    assert_error(
        &rule("match = [\"PERSON\"]\nmin_score = -0.1\naction = \"local\""),
        8,
        13,
        "between 0 and 1",
    );
    assert_error(
        &rule("match = [\"PERSON\"]\nmin_count = 0\naction = \"local\""),
        8,
        13,
        "`min_count = 0` would fire on every request",
    );
    assert_error(
        &rule("match = [\"PERSON\"]\nmin_count = 1.5\naction = \"local\""),
        8,
        13,
        "whole number",
    );
    assert_error(
        &rule("match = []\naction = \"local\""),
        7,
        9,
        "`match` is empty",
    );
    assert_error(
        &rule("match = [\"PERSON\"]\nwith = []\naction = \"local\""),
        8,
        8,
        "`with = []` can never be satisfied",
    );
    assert_error(
        &rule("match = [\"PERSON\"]\nunless = [\"EMAIL_ADDRESS\", \"PERSON\"]\naction = \"local\""),
        8,
        10,
        "every type in `match` is also in `unless`",
    );
    assert_error(
        &rule("match = [\"PERSON\"]\nwith = [\"MEDICATION\"]\nunless = [\"MEDICATION\"]\naction = \"local\""),
        9,
        10,
        "every type in `with` is also in `unless`",
    );
}

#[test]
fn categories() {
    let src = format!("{HEADER}[categories]\nnothing = []\n");
    assert_error(&src, 5, 1, "category `nothing` is empty");
    let src = format!(
        "{HEADER}[categories]\na = [\"b\"]\nb = [\"c\"]\nc = [\"a\"]\n{}",
        &rule("match = [\"a\"]\naction = \"local\"")[HEADER.len()..]
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("a -> b -> c -> a"), "{}", errs[0]);
    assert_eq!(errs[0].position, Some(Position { line: 5, column: 1 }));
    let src = format!("{HEADER}[categories]\nIds = [\"PERSON\"]\n");
    assert_error(&src, 5, 1, "category name `Ids` must be lowercase");
}

#[test]
fn policy_header_values() {
    assert_error(
        "name = \"HIPAA\"\ndescription = \"x\"\ndefault = \"allow\"\n",
        1,
        8,
        "policy `name` must be",
    );
    assert_error(
        "name = \"t\"\ndescription = \" \"\ndefault = \"allow\"\n",
        2,
        15,
        "`description` is empty",
    );
    assert_error(
        &format!("{HEADER}on_detector_error = \"allow\"\n"),
        4,
        21,
        "would send unscanned text to the cloud",
    );
    assert_error(
        &rule("match = [\"PERSON\"]\naction = \"local\"")
            .replace("reason = \"because\"", "reason = \"\""),
        9,
        10,
        "`reason` is empty",
    );
}

#[test]
fn test_case_shapes() {
    let case = |body: &str| format!("{HEADER}\n[[test]]\nname = \"c\"\n{body}\n");
    assert_error(
        &case("text = \"x\"\nentities = []\nexpect = \"allow\""),
        8,
        12,
        "both `text` and `entities`",
    );
    assert_error(&case("expect = \"allow\""), 5, 1, "needs `text`");
    assert_error(
        &case("entities = [\"PERSN\"]\nexpect = \"allow\""),
        7,
        13,
        "unknown entity type `PERSN` (did you mean `PERSON`?)",
    );
    assert_error(
        &case("entities = [{ type = \"PERSON\", score = 2 }]\nexpect = \"allow\""),
        7,
        13,
        "score",
    );
    assert_error(
        &case("entities = [{ type = \"PERSON\", colour = 2 }]\nexpect = \"allow\""),
        7,
        13,
        "unknown key `colour`",
    );
    assert_error(
        &case("entities = []\nexpect = \"alow\""),
        8,
        10,
        "unknown action `alow`",
    );
    let src = format!(
        "{}\n[[test]]\nentities = []\nexpect = \"allow\"\nexpect_rules = [\"person-rul\"]\n",
        rule("match = [\"PERSON\"]\naction = \"local\"")
            .replace("id = \"r\"", "id = \"person-rule\"")
    );
    assert_error(
        &src,
        14,
        17,
        "test `line 11` expects unknown rule `person-rul` (did you mean `person-rule`?)",
    );
}

#[test]
fn failing_entity_case_rejects_the_policy_at_load() {
    let src = format!(
        "{}\n[[test]]\nname = \"a name\"\nentities = [\"PERSON\"]\nexpect = \"allow\"\n",
        rule("match = [\"PERSON\"]\naction = \"local\"")
    );
    // It compiles (so `policy test` can show the case), but does not load.
    ok(&src);
    let err = load(Path::new("policies/t.toml"), src.as_bytes()).unwrap_err();
    let errs: Vec<_> = err.errors().collect();
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].position,
        Some(Position {
            line: 11,
            column: 1
        })
    );
    assert!(
        errs[0]
            .message
            .contains("test `a name` fails: expected allow, got local"),
        "{}",
        errs[0]
    );
    assert!(errs[0].message.contains("fired: r"), "{}", errs[0]);
}

#[test]
fn failing_expect_rules_rejects_the_policy() {
    let two = "[[rule]]\nid = \"a\"\nmatch = [\"PERSON\"]\naction = \"local\"\nreason = \"x\"\n[[rule]]\nid = \"b\"\nmatch = [\"EMAIL_ADDRESS\"]\naction = \"local\"\nreason = \"x\"\n";
    let src = format!("{HEADER}{two}[[test]]\nentities = [\"PERSON\"]\nexpect = \"local\"\nexpect_rules = [\"b\"]\n");
    let err = load(Path::new("policies/t.toml"), src.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected rule `b` to fire, it did not"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("policies/t.toml:14:1: error: test `line 14` fails"),
        "{err}"
    );
}

#[test]
fn not_utf8() {
    let err = compile(Path::new("policies/t.toml"), b"name = \"\xff\"\n").unwrap_err();
    assert_eq!(err.diagnostics[0].position, None);
    assert_eq!(
        err.to_string(),
        "policies/t.toml: error: not valid UTF-8 (at byte 8)"
    );
}

#[test]
fn all_errors_of_a_file_are_reported_in_order() {
    let src = format!(
        "{HEADER}[categories]\nids = [\"PERSONN\"]\n\n[[rule]]\nid = \"r\"\nmatch = [\"ids\"]\naction = \"lokal\"\nreason = \"x\"\nmin_score = 3\n"
    );
    let errs = errors(&src);
    let lines: Vec<usize> = errs.iter().map(|e| e.position.unwrap().line).collect();
    assert_eq!(lines, vec![5, 10, 12], "{errs:#?}");
}

#[test]
fn warnings_do_not_stop_loading() {
    let src = format!(
        "{HEADER}[params]\nunused = 1\n[categories]\nspare = [\"PERSON\"]\n\
         [[rule]]\nid = \"broad\"\nmatch = [\"PERSON\", \"EMAIL_ADDRESS\"]\naction = \"block\"\nreason = \"x\"\n\
         [[rule]]\nid = \"narrow\"\nmatch = [\"PERSON\"]\nmin_score = 0.8\naction = \"local\"\nreason = \"x\"\n"
    );
    let p = ok(&src);
    let w: Vec<String> = p.warnings.iter().map(|d| d.to_string()).collect();
    assert!(p.warnings.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(w.len(), 3, "{w:#?}");
    assert!(
        w[0].starts_with("policies/t.toml:5:1: warning: parameter `unused` is never used"),
        "{w:#?}"
    );
    assert!(
        w[1].starts_with("policies/t.toml:7:1: warning: category `spare` is never used"),
        "{w:#?}"
    );
    assert!(
        w[2].starts_with("policies/t.toml:14:6: warning: rule `narrow` never changes a decision: rule `broad` (line 8)"),
        "{w:#?}"
    );
}

#[test]
fn looser_than_default_is_a_warning() {
    let src = "name = \"t\"\ndescription = \"x\"\ndefault = \"local\"\n[[rule]]\nid = \"ok\"\nmatch = [\"MEDICATION\"]\naction = \"allow\"\nreason = \"x\"\n";
    let p = ok(src);
    assert_eq!(p.warnings.len(), 1);
    assert!(
        p.warnings[0]
            .to_string()
            .contains("7:10: warning: rule `ok` (allow) is looser than the default (local)"),
        "{}",
        p.warnings[0]
    );
}

#[test]
fn shadowing_respects_unless_thresholds() {
    // `a` ignores low-scoring entities differently, so it does not shadow `b`.
    let src = format!(
        "{HEADER}[[rule]]\nid = \"a\"\nmatch = [\"PERSON\"]\nunless = [\"MEDICATION\"]\naction = \"local\"\nreason = \"x\"\n\
         [[rule]]\nid = \"b\"\nmatch = [\"PERSON\"]\nunless = [\"MEDICATION\"]\nmin_score = 0.7\naction = \"local\"\nreason = \"x\"\n"
    );
    assert!(ok(&src).warnings.is_empty());
    // Identical rules: only the second is reported.
    let one = "[[rule]]\nid = \"ID\"\nmatch = [\"PERSON\"]\naction = \"local\"\nreason = \"x\"\n";
    let src = format!(
        "{HEADER}{}{}",
        one.replace("ID", "first"),
        one.replace("ID", "second")
    );
    let p = ok(&src);
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0]
        .message
        .contains("rule `second` never changes a decision: rule `first`"));
}

#[test]
fn messages_never_quote_test_case_text() {
    let canary = "Canary Person 078-05-1120";
    let src = format!(
        "{HEADER}[[test]]\nname = \"c\"\ntext = \"{canary}\"\nexpect = \"lokal\"\n[[test]]\ntext = \"{canary}\"\nentities = []\nexpect = \"allow\"\n"
    );
    for e in errors(&src) {
        assert!(!e.to_string().contains("078-05-1120"), "{e}");
        assert!(!e.to_string().contains("Canary"), "{e}");
    }
}
