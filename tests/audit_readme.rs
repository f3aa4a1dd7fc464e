//! audit/README.md shows records as the gateway really writes them: every `<!-- example: KIND -->`
//! block is compared, field by field, with a record written by a real gateway (real detectors,
//! policies, SmolLM2 and audit log) for a PHI prompt, a cleared prompt and an unknown key; and the
//! README's own Python verifier accepts that log. A renamed field, a changed id style or a new
//! field that the document does not show fails here.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::*;

/// The fenced block after `<!-- example: NAME -->`, with `//` comments removed.
fn example(readme: &str, name: &str) -> Value {
    let marker = format!("<!-- example: {name} -->");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("audit/README.md has no {marker}"));
    let after = &readme[at + marker.len()..];
    let body = &after[after.find("```").unwrap()..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let block = &body[..body.find("```").unwrap()];
    let json: String = block
        .lines()
        .map(|line| match line.find(" //") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("example {name}: {e}\n{json}"))
}

/// A string's form: a run of lowercase hex holding a digit or at least four long (ids, hashes,
/// dates) becomes `h`;
/// other runs of lowercase, uppercase or digits become one class letter each.
fn form(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let run_len = rest
            .find(|x: char| !(x.is_ascii_digit() || ('a'..='f').contains(&x)))
            .unwrap_or(rest.len());
        let run = &rest[..run_len];
        let word_continues = rest[run_len..]
            .chars()
            .next()
            .is_some_and(|x| x.is_ascii_alphanumeric());
        // Random hex has no digit now and then (a UUID's `abff` segment): four or more hex
        // letters count as hex too.
        let hex = run.contains(|x: char| x.is_ascii_digit()) || run_len >= 4;
        if run_len > 0 && hex && !word_continues {
            out.push('h');
            rest = &rest[run_len..];
            continue;
        }
        let class = if c.is_ascii_lowercase() {
            'a'
        } else if c.is_ascii_uppercase() {
            'A'
        } else if c.is_ascii_digit() {
            '9'
        } else {
            c
        };
        if !(out.ends_with(class) && matches!(class, 'a' | 'A' | '9')) {
            out.push(class);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Checks that `real` has the fields, types and value forms `shown` has. A string ending in `…`
/// stands for any value starting with what precedes it (any hex string, if that is hex).
fn same_shape(path: &str, shown: &Value, real: &Value, problems: &mut Vec<String>) {
    match (shown, real) {
        (Value::Object(s), Value::Object(r)) => {
            let mut shown_keys: Vec<_> = s.keys().collect();
            let mut real_keys: Vec<_> = r.keys().collect();
            shown_keys.sort();
            real_keys.sort();
            if shown_keys != real_keys {
                problems.push(format!(
                    "{path}: the README shows fields {shown_keys:?}, the gateway writes {real_keys:?}"
                ));
            }
            for (k, v) in s {
                if let Some(rv) = r.get(k) {
                    same_shape(&format!("{path}.{k}"), v, rv, problems);
                }
            }
        }
        (Value::Array(s), Value::Array(r)) => {
            if !s.is_empty() && r.is_empty() {
                problems.push(format!("{path}: shown non-empty, written empty"));
            }
            for (i, v) in s.iter().enumerate() {
                // Entity types are matched by name, objects by position, strings by any
                // written element of the same form.
                let found = match v {
                    Value::String(_) => r.iter().any(|x| {
                        let mut none = Vec::new();
                        same_shape(path, v, x, &mut none);
                        none.is_empty()
                    }),
                    _ => {
                        let counterpart = match v.get("type") {
                            Some(t) => r.iter().find(|x| x.get("type") == Some(t)),
                            None => r.get(i.min(r.len().saturating_sub(1))),
                        };
                        if let Some(rv) = counterpart {
                            same_shape(&format!("{path}[{i}]"), v, rv, problems);
                        }
                        counterpart.is_some()
                    }
                };
                if !found {
                    problems.push(format!(
                        "{path}[{i}]: nothing like {v} was written in {real}"
                    ));
                }
            }
        }
        (Value::String(s), Value::String(r)) => {
            let matches = match s.strip_suffix('…') {
                Some(prefix) if prefix.chars().all(|c| c.is_ascii_hexdigit()) => {
                    r.chars().all(|c| c.is_ascii_hexdigit()) && r.len() >= prefix.len()
                }
                Some(prefix) => r.starts_with(prefix),
                None if s.contains('…') => {
                    let head = &s[..s.find('…').unwrap()];
                    let tail = &s[s.rfind('…').unwrap() + '…'.len_utf8()..];
                    r.starts_with(head) && form(r).ends_with(&form(tail))
                }
                None => form(s) == form(r),
            };
            if !matches {
                problems.push(format!(
                    "{path}: the README shows {s:?}, the gateway writes {r:?}"
                ));
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => {}
        _ => problems.push(format!(
            "{path}: the README shows {shown}, the gateway writes {real}"
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_examples_are_records_the_gateway_writes() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = sluice::server::start(gateway_config(&setup), real_pipeline())
        .await
        .expect("gateway starts");
    let r = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let phi_request = header(&r, "x-sluice-request-id");
    let r = post_chat(
        gw.addr,
        &chat_body("Explain why unit tests are useful.", false),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = client()
        .post(format!("http://{}/v1/chat/completions", gw.addr))
        .bearer_auth("sk-not-a-client-key")
        .json(&chat_body("hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    gw.stop().await.unwrap();
    upstream.stop().await;

    let lines: Vec<Value> = audit
        .all_records()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let body =
        |line: &Value| -> Value { serde_json::from_str(line["body"].as_str().unwrap()).unwrap() };
    let of_kind =
        |kind: &str| -> Vec<&Value> { lines.iter().filter(|l| l["kind"] == kind).collect() };
    let phi = |kind: &str| -> Value {
        of_kind(kind)
            .into_iter()
            .map(body)
            .find(|b| b["request_id"] == phi_request.as_str())
            .unwrap_or_else(|| panic!("no {kind} record for the PHI request"))
    };
    let real = [
        ("record", (*of_kind("decision")[0]).clone()),
        ("decision", phi("decision")),
        ("outcome", phi("outcome")),
        ("refused", body(of_kind("refused")[0])),
        ("checkpoint", body(of_kind("checkpoint")[0])),
        ("policy_loaded", body(of_kind("policy_loaded")[0])),
    ];
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("audit/README.md"))
            .unwrap();
    let mut problems = Vec::new();
    for (name, written) in &real {
        same_shape(name, &example(&readme, name), written, &mut problems);
    }
    // Every kind is documented in the kinds table.
    for kind in sluice::audit::Kind::ALL {
        if !readme.contains(&format!("| `{kind}` |")) {
            problems.push(format!("the kinds table does not list `{kind}`"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nwritten: {:#?}",
        problems.join("\n"),
        real
    );

    // The README's own verifier accepts the real log.
    let script = audit.root.path().join("verify_chain.py");
    std::fs::write(&script, tested_block(&readme, "verify_chain")).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(audit.log_dir())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.starts_with("OK: "), "{said}");
}

/// The fenced block after `<!-- tested: NAME -->`.
fn tested_block(readme: &str, name: &str) -> String {
    let marker = format!("<!-- tested: {name} -->");
    let after = &readme[readme.find(&marker).unwrap() + marker.len()..];
    let body = &after[after.find("```").unwrap()..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn forms_equate_random_hex_and_keep_id_styles_apart() {
    assert_eq!(
        form("c10ec6a8-abff-40d5-9ba7-fe862ecd5dd9"),
        form("6f1c2f0e-8b1a-4a43-9f57-0d2b5c7e9a11")
    );
    assert_eq!(form("hmac:9904dfd63fd7d964"), form("hmac:abcdefabcdefabcd"));
    assert_eq!(
        form("2026-12-07T01:05:50.021042Z"),
        form("2025-06-01T12:00:00.123456Z")
    );
    assert_ne!(
        form("hipaa/phi"),
        form("hipaa.identifier_with_health_context")
    );
    assert_ne!(form("us-ssn"), form("us_ssn_dashed"));
}
