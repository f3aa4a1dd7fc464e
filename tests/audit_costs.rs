//! `sluice audit costs` on a real log: one day of 50,000 requests (the README's worked example,
//! scaled down 100x in count and up 100x in tokens so the arithmetic is the same), priced per
//! client, route rule and backend, with the local tier's saving and break-even volume.

mod audit_support;

use audit_support::*;
use sluice::audit::costs::{compute, CostConfig};
use sluice::audit::{Action, AuditLog, BackendRef, DecisionRecord, OutcomeRecord};

const PRICES: &str = r#"
currency = "USD"
[models."gpt-4o-mini"]
input_per_million = 0.15
output_per_million = 0.60
[local]
hardware_per_hour = 0.35
operations_per_hour = 0.15
"#;

/// 500 requests over one day: 300 served by the cloud (route `default`), 200 by the local tier
/// through the `reflex-local` rule; each 500 tokens in and 200 out, model gpt-4o-mini.
fn build() -> Fixture {
    let f = Fixture::new();
    let clock = TestClock::at(day(2026, 12, 1, 0, 0, 0));
    let log = AuditLog::open_with_clock(&f.config(), clock.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fp = log.fingerprinter().clone();
        for i in 0..500u32 {
            // Spread over the day; the last request at 23:58.
            clock.set(day(2026, 12, 1, 0, 0, 0) + chrono::Duration::seconds(i64::from(i) * 172));
            let id = format!("req-{i}");
            let local = i % 5 < 2;
            let backend = BackendRef {
                name: if local { "local" } else { "cloud" }.into(),
                on_premise: local,
            };
            let d = DecisionRecord {
                route_rule: local.then(|| "reflex-local".to_owned()),
                backend: Some(backend.clone()),
                ..decision(
                    &fp,
                    &id,
                    if i % 2 == 0 { "intake" } else { "support" },
                    Action::Allow,
                    false,
                )
            };
            log.append(d).await.unwrap();
            log.append(OutcomeRecord {
                tokens_in: Some(500),
                tokens_out: Some(200),
                model: Some("gpt-4o-mini".into()),
                ..outcome(&id, Some(backend))
            })
            .await
            .unwrap();
        }
        log.shutdown().await.unwrap();
    });
    f
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn spend_savings_and_break_even_for_a_day() {
    let f = build();
    let prices: CostConfig = toml::from_str(PRICES).unwrap();
    let since = Some(day(2026, 12, 1, 0, 0, 0));
    let until = Some(day(2026, 12, 2, 0, 0, 0));
    let r = compute(&f.dir, since, until, &prices).unwrap();

    // 500 in + 200 out at 0.15 / 0.60 per million = 0.000195 per request.
    assert_eq!(r.total.requests, 500);
    assert!(
        close(r.total.cloud_spend, 300.0 * 0.000195),
        "{}",
        r.total.cloud_spend
    );
    assert!(close(r.total.local_at_cloud_prices, 200.0 * 0.000195));
    assert_eq!(r.by_route["reflex-local"].requests, 200);
    assert_eq!(r.by_route["default"].requests, 300);
    assert_eq!(r.by_backend["local"].requests, 200);
    assert_eq!(r.by_client["intake"].requests, 250);
    // The local tier costs 0.50 an hour over the 24-hour period.
    assert!(close(r.hours, 24.0));
    assert!(close(r.local_cost, 12.0));
    assert!(close(r.local_net_saving, 200.0 * 0.000195 - 12.0));
    // Break-even: 12.00 a day / 0.000195 a request = 61,538 requests a day.
    assert!(close(r.average_cloud_cost_per_request.unwrap(), 0.000195));
    assert!((r.break_even_requests_per_day.unwrap() - 61_538.46).abs() < 0.01);
    assert!(close(r.requests_per_day, 500.0));

    let text = r.to_string();
    assert!(text.contains("above 61538 requests a day"), "{text}");
    assert!(text.contains("reflex-local"));
}

#[test]
fn unlisted_models_are_reported_not_guessed() {
    let f = build();
    let prices: CostConfig = toml::from_str("[local]\nhardware_per_hour = 1.0").unwrap();
    let r = compute(&f.dir, None, None, &prices).unwrap();
    assert_eq!(r.total.unpriced_tokens, 500 * 700);
    assert_eq!(r.total.cloud_spend, 0.0);
    assert!(r.break_even_requests_per_day.is_none());
    assert!(r.to_string().contains("not counted"));
}

#[test]
fn the_report_carries_the_spend_section_in_every_format() {
    let f = build();
    let prices: CostConfig = toml::from_str(PRICES).unwrap();
    let (since, until) = (
        Some(day(2026, 12, 1, 0, 0, 0)),
        Some(day(2026, 12, 2, 0, 0, 0)),
    );
    let options = sluice::audit::verify::VerifyOptions::default();
    let report = sluice::audit::report::build(&f.dir, since, until, &options)
        .with_costs(compute(&f.dir, since, until, &prices).unwrap());
    assert!(report.verification.is_ok());
    let json: serde_json::Value = serde_json::from_str(&report.to_json_text()).unwrap();
    assert_eq!(json["costs"]["total"]["requests"], 500, "{json}");
    assert_eq!(json["costs"]["by_route"]["reflex-local"]["requests"], 200);
    let csv = report.to_csv();
    assert!(csv.contains("\ncosts.total.requests,500\n"), "{csv}");
    assert!(
        csv.contains("\ncosts.break_even_requests_per_day,61538.4"),
        "{csv}"
    );
    // Verification still leads, and the text report ends with the spend section.
    assert!(csv.starts_with("field,value\nverification."), "{csv}");
    assert!(report.to_string().contains("above 61538 requests a day"));
    // Without prices, no section at all.
    let bare = sluice::audit::report::build(&f.dir, since, until, &options);
    assert!(!bare.to_csv().contains("costs."));
    assert!(
        serde_json::from_str::<serde_json::Value>(&bare.to_json_text()).unwrap()["costs"].is_null()
    );
}
