//! Deciding on a typical request: 16 entities (a clinical note with a name, dates, contact details,
//! identifiers and health context) under two policies (hipaa + soc2), as the gateway does per
//! request through the store's snapshot. Target: under 10 microseconds. Also the task routing
//! rules of cleared traffic (issue 16): features of a 2 KB chat request and the first rule that
//! holds, of five, with a keyword class; that is all routing adds to a request.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sluice::detect::{DetectError, DetectorKind, Entity};
use sluice::policy::{decide, load_file, PolicyStore};

fn entity(ty: &str, score: f32) -> Entity {
    Entity {
        decoded: None,
        entity_type: ty.to_string(),
        start: 0,
        end: 8,
        score,
        detector: DetectorKind::Regex,
        rule_id: "bench".into(),
        validated: false,
        context: Vec::new(),
    }
}

fn typical_entities() -> Vec<Entity> {
    [
        ("PERSON", 0.93),
        ("PERSON", 0.88),
        ("DATE_TIME", 0.85),
        ("DATE_TIME", 0.6),
        ("PHONE_NUMBER", 0.75),
        ("EMAIL_ADDRESS", 1.0),
        ("STREET_ADDRESS", 0.8),
        ("LOCATION", 0.7),
        ("ZIP_CODE", 0.65),
        ("MEDICAL_RECORD_NUMBER", 0.9),
        ("US_SSN", 0.95),
        ("MEDICAL_CONDITION", 1.0),
        ("MEDICAL_CONDITION", 1.0),
        ("MEDICATION", 1.0),
        ("MEDICATION", 1.0),
        ("PROCEDURE", 1.0),
    ]
    .into_iter()
    .map(|(t, s)| entity(t, s))
    .collect()
}

fn bench(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    let store = PolicyStore::open(dir).expect("shipped policies load");
    let hipaa = load_file(format!("{dir}/hipaa.toml").as_ref()).unwrap();
    let soc2 = load_file(format!("{dir}/soc2.toml").as_ref()).unwrap();
    let entities = typical_entities();
    let set = ["hipaa", "soc2"];

    c.bench_function("decide/16 entities, hipaa+soc2, via store snapshot", |b| {
        b.iter(|| {
            let snap = store.snapshot();
            black_box(snap.decide(
                black_box(&set),
                Ok::<_, DetectError>(black_box(&entities[..])),
            ))
        })
    });
    c.bench_function("decide/16 entities, hipaa+soc2, policies in hand", |b| {
        b.iter(|| {
            black_box(decide(
                [&hipaa, &soc2],
                Ok::<_, DetectError>(black_box(&entities[..])),
            ))
        })
    });
    let none: Vec<Entity> = Vec::new();
    c.bench_function("decide/no entities, hipaa+soc2, via store snapshot", |b| {
        b.iter(|| {
            black_box(
                store
                    .snapshot()
                    .decide(black_box(&set), Ok::<_, DetectError>(&none[..])),
            )
        })
    });
}

const ROUTING: &str = r#"
[keywords]
extraction = ["extract", "classify", "which language", "summarise", "tag"]

[[rules]]
name = "reasoning-to-cloud"
when = { task = ["reason"] }
to = "cloud"

[[rules]]
name = "tools-to-cloud"
when = { tools = true }
to = "cloud"

[[rules]]
name = "json-local"
when = { response_format = ["json_schema"], max_prompt_tokens = 300 }
to = "local"

[[rules]]
name = "long-to-cloud"
when = { min_prompt_tokens = 2000 }
to = "cloud"

[[rules]]
name = "reflex-local"
when = { max_prompt_tokens = 600, keywords = ["extraction"] }
to = "local"
"#;

fn routing(c: &mut Criterion) {
    #[derive(serde::Deserialize)]
    struct R {
        rules: Vec<sluice::route::RouteRuleConfig>,
        keywords: std::collections::BTreeMap<String, sluice::route::KeywordClass>,
    }
    let r: R = toml::from_str(ROUTING).unwrap();
    let rules = sluice::route::RouteRules::compile(&r.rules, &r.keywords).unwrap();
    let text = format!(
        "{} Please extract the order number and classify the request.",
        "The customer wrote in about a delayed parcel and a billing question. ".repeat(28)
    );
    let request: sluice::openai::ChatCompletionRequest =
        serde_json::from_value(serde_json::json!({"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": text}
        ]}))
        .unwrap();
    c.bench_function("route/features + first of 5 rules, 2 KB request", |b| {
        b.iter(|| {
            let features = sluice::route::Features::of(black_box(&request), Some("triage"));
            black_box(rules.choose(&features).map(|c| c.rule.len()))
        })
    });
}

criterion_group!(benches, bench, routing);
criterion_main!(benches);
