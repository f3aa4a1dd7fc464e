//! The compliance console in a real browser: the Debian chromium package, headless, driven over
//! the DevTools protocol against a real gateway (real detectors, policies, SmolLM2, audit log).
//! It signs in (after a wrong key, which must be recorded), opens the overview, filters the
//! decisions, opens a request's detail, the verification page and the report (printed to PDF),
//! and checks that no canary value, key or prompt appears in any page or export.
//!
//! Screenshots of every page are written to `target/tmp/console-screenshots/` for a person to
//! look at (the path is printed).

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use sluice::console::ConsoleConfig;
use support::*;

const ADMIN_KEY: &str = "sk-console-admin-5f0c2e9b7a13";
const WRONG_ADMIN_KEY: &str = "sk-console-guess-8e1d4c";
const WRONG_CLIENT_KEY: &str = "sk-not-a-client-3b9f";
/// A cleared prompt: it must not appear in the console either (the log never holds text).
const CLEARED_PROMPT: &str = "Explain why unit tests are useful in three sentences.";

fn chromium() -> PathBuf {
    std::env::var_os("SLUICE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn shoot(tab: &Tab, name: &str) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// The page's HTML, checked for every value that must never be shown.
fn page_text(tab: &Tab, what: &str) -> String {
    let html = tab.get_content().unwrap();
    assert_clean(what, &html);
    html
}

fn assert_clean(what: &str, text: &str) {
    assert_no_canary(what, text);
    for secret in [
        ADMIN_KEY,
        WRONG_ADMIN_KEY,
        WRONG_CLIENT_KEY,
        CLIENT_KEY,
        CLEARED_PROMPT,
    ] {
        assert!(!text.contains(secret), "{what} shows {secret:?}");
    }
}

fn click_and_wait(tab: &Tab, selector: &str) {
    tab.wait_for_element(selector).unwrap().click().unwrap();
    tab.wait_until_navigated().unwrap();
}

/// Waits (bounded) until the tab's URL satisfies `done`: a click starts a navigation that
/// `wait_until_navigated` may not have seen begin.
fn wait_for_url(tab: &Tab, done: impl Fn(&str) -> bool) {
    for _ in 0..100 {
        if done(&tab.get_url()) {
            tab.wait_until_navigated().unwrap();
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the page did not navigate: still at {}", tab.get_url());
}

/// The browser session, run on a blocking thread (the DevTools client is synchronous).
fn browse(base: &str) {
    let browser = Browser::new(
        LaunchOptions::default_builder()
            .path(Some(chromium()))
            .sandbox(false)
            .headless(true)
            .window_size(Some((1440, 1100)))
            .idle_browser_timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
    )
    .unwrap_or_else(|e| {
        panic!(
            "cannot start {} ({e}); `make deps` installs the chromium package",
            chromium().display()
        )
    });
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(30));

    // Not signed in: every page leads to the sign-in form.
    tab.navigate_to(&format!("{base}/console/timeline"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    assert!(
        tab.get_url().ends_with("/console/login"),
        "{}",
        tab.get_url()
    );
    tab.wait_for_element("input#key").unwrap();
    shoot(&tab, "01-sign-in");

    // A wrong key is refused (and recorded, checked below).
    tab.wait_for_element("input#key").unwrap().click().unwrap();
    tab.type_str(WRONG_ADMIN_KEY).unwrap();
    click_and_wait(&tab, "button[type=submit]");
    tab.wait_for_element("p.error").unwrap();
    let refused = page_text(&tab, "refused sign-in page");
    assert!(refused.contains("not the console admin key"), "{refused}");

    tab.wait_for_element("input#key").unwrap().click().unwrap();
    tab.type_str(ADMIN_KEY).unwrap();
    click_and_wait(&tab, "button[type=submit]");
    tab.wait_for_element("div.figures").unwrap();
    let overview = page_text(&tab, "overview");
    assert!(overview.contains("PHI to a cloud model unredacted"));
    // Every chart image loaded (a broken image has no natural width).
    let widths = tab
        .evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0).join(',')",
            false,
        )
        .unwrap()
        .value
        .unwrap();
    assert_eq!(widths.as_str().unwrap(), "true,true,true,true,true,true");
    shoot(&tab, "02-overview");

    click_and_wait(&tab, "nav a[href='/console/timeline']");
    tab.wait_for_element("table.timeline").unwrap();
    let timeline = page_text(&tab, "timeline");
    for action in ["local", "allow", "block"] {
        assert!(
            timeline.contains(&format!("class=\"action {action}\"")),
            "no {action} decision listed"
        );
    }
    shoot(&tab, "03-decisions");

    // Filter: only decisions kept local.
    tab.wait_for_element("select[name=action]")
        .unwrap()
        .call_js_fn("function() { this.value = 'local'; }", vec![], false)
        .unwrap();
    click_and_wait(&tab, "form.filters button[type=submit]");
    wait_for_url(&tab, |url| url.contains("action=local"));
    let actions = tab.find_elements("table.timeline span.action").unwrap();
    assert!(!actions.is_empty());
    for a in &actions {
        assert_eq!(a.get_inner_text().unwrap(), "local");
    }
    page_text(&tab, "filtered timeline");
    shoot(&tab, "04-decisions-kept-local");

    // A request's detail: what was found, which rules fired and why, the outcome.
    click_and_wait(&tab, "table.timeline a.request");
    tab.wait_for_element("table.entities").unwrap();
    let detail = page_text(&tab, "request detail");
    for expected in [
        "US_SSN",
        "hipaa/phi",
        "Rules that fired",
        "Outcome",
        "Place in the chain",
    ] {
        assert!(detail.contains(expected), "detail lacks {expected}");
    }
    shoot(&tab, "05-request-detail");

    click_and_wait(&tab, "nav a[href='/console/verify']");
    tab.wait_for_element("p.verdict").unwrap();
    let verification = page_text(&tab, "verification");
    assert!(verification.contains("Verified."), "{verification}");
    shoot(&tab, "06-verification");

    click_and_wait(&tab, "nav a[href='/console/report']");
    tab.wait_for_element("pre.report").unwrap();
    let report = page_text(&tab, "report");
    assert!(
        report.contains("0 PHI requests reached a cloud model unredacted"),
        "{report}"
    );
    shoot(&tab, "07-report");
    let pdf = tab.print_to_pdf(None).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    std::fs::write(screenshots().join("07-report.pdf"), pdf).unwrap();

    // Signing out ends the session.
    click_and_wait(&tab, "form.logout button");
    wait_for_url(&tab, |url| url.ends_with("/console/login"));
    tab.navigate_to(&format!("{base}/console"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    assert!(
        tab.get_url().ends_with("/console/login"),
        "{}",
        tab.get_url()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_signs_in_filters_and_reads_a_decision_without_seeing_a_value() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let mut config = gateway_config(&setup);
    config.console = Some(ConsoleConfig {
        admin_key_sha256: Some(hex::encode(sluice::server::auth::sha256_of(ADMIN_KEY))),
        admin_key_env: None,
        session_minutes: 10,
        secure_cookie: false,
        page_size: 50,
    });
    let gw = sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts");

    // Traffic to review: PHI kept local, cleared text to the cloud, a secret blocked, an
    // unknown key refused.
    let r = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let r = post_chat(gw.addr, &chat_body(CLEARED_PROMPT, false)).await;
    assert_eq!(header(&r, "x-sluice-action"), "allow");
    let r = post_chat(
        gw.addr,
        &chat_body(
            "deploy with key AKIAIOSFODNN7EXAMPLE and secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            false,
        ),
    )
    .await;
    assert_eq!(header(&r, "x-sluice-action"), "block");
    let http = client();
    let r = http
        .post(format!("http://{}/v1/chat/completions", gw.addr))
        .bearer_auth(WRONG_CLIENT_KEY)
        .json(&chat_body("hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let base = format!("http://{}", gw.addr);
    // Security headers on every console response; no access without the admin key (a client
    // key is not one).
    let r = http
        .get(format!("{base}/console/login"))
        .send()
        .await
        .unwrap();
    let csp = header(&r, "content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    let r = http
        .get(format!("{base}/console/timeline.csv"))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let browsing = base.clone();
    tokio::task::spawn_blocking(move || browse(&browsing))
        .await
        .unwrap();
    println!("console screenshots: {}", screenshots().display());

    // Exports, as a script fetches them with the admin key.
    for (path, kind) in [
        ("/console/timeline.csv?show=all", "text/csv"),
        ("/console/timeline.json?show=all", "application/x-ndjson"),
        ("/console/report.csv", "text/csv"),
        ("/console/report.json", "application/json"),
    ] {
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(header(&r, "content-type").starts_with(kind), "{path}");
        let body = r.text().await.unwrap();
        assert_clean(path, &body);
        if path.contains(".csv") {
            assert!(body.is_ascii(), "{path} is not plain ASCII");
        }
    }
    let csv = http
        .get(format!("{base}/console/timeline.csv?show=all"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.lines().any(|l| l.contains(",refused,")), "{csv}");
    assert!(csv.lines().any(|l| l.contains(",local,")), "{csv}");

    gw.stop().await.unwrap();
    upstream.stop().await;

    // The wrong admin key was recorded as a refused sign-in, by fingerprint only.
    let records = audit.all_records();
    assert_clean("audit log", &records);
    assert!(
        records.contains(r#"\"route\":\"/console/login\""#),
        "the failed sign-in was not recorded"
    );
}
