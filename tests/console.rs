//! The console over HTTP against a real gateway: access control, hostile query strings, paging,
//! and what it shows when the chain fails (a record altered on disk while the gateway runs).

mod support;

use sluice::console::ConsoleConfig;
use support::*;

const ADMIN_KEY: &str = "sk-console-admin-0d93be";

async fn start_with_console(setup: &Setup<'_>, page_size: usize) -> sluice::server::Running {
    let mut config = gateway_config(setup);
    config.console = Some(ConsoleConfig {
        admin_key_sha256: Some(hex::encode(sluice::server::auth::sha256_of(ADMIN_KEY))),
        admin_key_env: None,
        session_minutes: 10,
        secure_cookie: false,
        page_size,
    });
    config.costs = Some(
        toml::from_str(
            "[models.\"gpt-4o-mini\"]\ninput_per_million = 0.15\noutput_per_million = 0.6\n[local]\nhardware_per_hour = 0.5",
        )
        .unwrap(),
    );
    sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts")
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("http://{addr}{path}"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_pages_filters_and_names_a_broken_chain() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start_with_console(&setup, 2).await;
    let addr = gw.addr;
    for i in 0..3 {
        let r = post_chat(addr, &chat_body(&format!("Question {i}: why test?"), false)).await;
        assert_eq!(r.status(), 200);
    }
    let r = post_chat(addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let phi_request = header(&r, "x-sluice-request-id");

    // Without the admin key: pages lead to sign-in, data answers 401; a client key is not one.
    let r = client()
        .get(format!("http://{addr}/console/timeline"))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.url().path(),
        "/console/login",
        "followed to the sign-in page"
    );
    let r = client()
        .get(format!("http://{addr}/console/charts/actions.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Paging: 4 decisions at 2 a page, newest first.
    let (status, page1) = get(addr, "/console/timeline").await;
    assert_eq!(status, 200);
    assert!(page1.contains("4 matching; page 1 of 2"), "{page1}");
    assert!(page1.contains(&phi_request), "newest first");
    let (_, page2) = get(addr, "/console/timeline?page=2").await;
    assert!(page2.contains("page 2 of 2") && !page2.contains(&phi_request));
    let (status, beyond) = get(addr, "/console/timeline?page=99999999999").await;
    assert_eq!(status, 200);
    assert!(beyond.contains("No records match."));

    // Filters: by entity type and by action; a name the log never mentions selects nothing.
    let (_, by_entity) = get(addr, "/console/timeline?entity=US_SSN").await;
    assert!(by_entity.contains("1 matching") && by_entity.contains(&phi_request));
    let (_, allowed) = get(addr, "/console/timeline?action=allow").await;
    assert!(allowed.contains("3 matching") && !allowed.contains(&phi_request));
    let (_, nobody) = get(
        addr,
        "/console/timeline?client=%3Cscript%3Ealert(1)%3C/script%3E",
    )
    .await;
    assert!(nobody.contains("0 matching"));
    assert!(!nobody.contains("<script>"), "query values are escaped");
    assert!(nobody.contains("&lt;script&gt;"));

    // Hostile or malformed query strings get a message, never a 500.
    let (status, bad_time) = get(addr, "/console/timeline?since=yesterday").await;
    assert_eq!(status, 200);
    assert!(bad_time.contains("is not a time"));
    let (status, _) = get(addr, "/console/timeline?page=-1").await;
    assert_eq!(status, 400);
    let (status, _) = get(addr, "/console/report?since=nope").await;
    assert_eq!(status, 400);
    let (status, _) = get(addr, "/console/requests/req_0000").await;
    assert_eq!(status, 200);
    let (status, _) = get(addr, "/console/log/999/1").await;
    assert_eq!(status, 200);
    let (status, _) = get(addr, "/console/charts/nope.svg").await;
    assert_eq!(status, 404);

    // The detail page of the PHI request.
    let (_, detail) = get(addr, &format!("/console/requests/{phi_request}")).await;
    assert!(detail.contains("hipaa/phi") && detail.contains("US_SSN"));
    assert_no_canary("detail page", &detail);

    let (_, verified) = get(addr, "/console/verify").await;
    assert!(verified.contains("Verified."), "{verified}");
    let (_, report) = get(addr, "/console/report").await;
    assert!(
        report.contains("Spend and break-even") && report.contains("Break-even"),
        "{report}"
    );

    // Alter one decision on disk (same length, so the writer's offsets stay right).
    let log = audit.log_dir().join("log-000001.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let (line_index, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("\"kind\":\"decision\"") && l.contains("allow"))
        .unwrap();
    let altered = line.replacen("allow", "local", 1);
    std::fs::write(&log, text.replacen(line, &altered, 1)).unwrap();

    let (_, failed) = get(addr, "/console/verify").await;
    assert!(failed.contains("FAILED"), "{failed}");
    let link = format!("/console/log/1/{}", line_index + 1);
    assert!(failed.contains(&format!("href=\"{link}\"")), "{failed}");
    let (_, record) = get(addr, &link).await;
    assert!(
        record.contains("does not match: the record was altered"),
        "{record}"
    );
    // Every page now says the figures are not evidence.
    let (_, overview) = get(addr, "/console").await;
    assert!(overview.contains("Chain verification FAILED"));
    let (_, report) = get(addr, "/console/report").await;
    assert!(report.contains("no conclusion: the log failed verification"));
    assert!(!report.contains("0 PHI requests reached a cloud model unredacted"));

    gw.stop().await.unwrap();
    upstream.stop().await;
}
