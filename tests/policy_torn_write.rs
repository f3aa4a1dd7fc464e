//! A torn policy write never loads as a weaker policy: every line-boundary prefix of the shipped
//! policies is refused (invalid, or looser than the loaded version), a write in progress is waited
//! for until the file settles, a deliberate loosening loads only when the file acknowledges it, and
//! the gateway keeps deciding with the loaded version and audits the refusal meanwhile.

mod support;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sluice::policy::decide::{decide_observed, Observations, Observed};
use sluice::policy::typeset::TypeIndex;
use sluice::policy::{compile, spawn_reloader, Action, PolicyEvent, PolicyStore};
use support::*;

fn shipped(name: &str) -> String {
    std::fs::read_to_string(repo().join(format!("policies/{name}.toml"))).unwrap()
}

/// Every proper prefix of `text` that ends at a line end.
fn line_prefixes(text: &str) -> Vec<&str> {
    text.match_indices('\n')
        .map(|(i, _)| &text[..=i])
        .filter(|p| p.len() < text.len())
        .collect()
}

/// A directory holding `name.toml` with `src`, and a store that loaded it.
fn store_with(name: &str, src: &str, settle: Duration) -> (tempfile::TempDir, PolicyStore) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{name}.toml")), src).unwrap();
    let store = PolicyStore::open(dir.path()).unwrap().with_settle(settle);
    (dir, store)
}

/// The action of the loaded `name` for entities of `types` (score 0.9, not validated).
fn action(store: &PolicyStore, name: &str, types: &[&str]) -> Action {
    let observed = types
        .iter()
        .map(|t| Observed {
            entity_type: TypeIndex::of(t).unwrap(),
            score: 0.9,
            validated: false,
        })
        .collect();
    let snapshot = store.snapshot();
    let policy = snapshot.get(name).unwrap();
    decide_observed([&**policy], &Observations::from_observed(observed)).action
}

fn version(store: &PolicyStore, name: &str) -> String {
    store.snapshot().get(name).unwrap().version.to_string()
}

#[test]
fn no_line_prefix_of_a_shipped_policy_is_ever_applied() {
    for name in ["hipaa", "soc2"] {
        let full = shipped(name);
        let (dir, store) = store_with(name, &full, Duration::ZERO);
        let path = dir.path().join(format!("{name}.toml"));
        let loaded = version(&store, name);
        let mut refused_as_looser = 0;
        for prefix in line_prefixes(&full) {
            let lines = prefix.lines().count();
            // In place, not by rename: what a torn or interrupted write leaves behind.
            std::fs::write(&path, prefix).unwrap();
            let events = store.reload();
            let [PolicyEvent::Rejected { loosened, .. }] = &events[..] else {
                panic!("{name}: the first {lines} lines gave {events:?}");
            };
            let valid = compile::load(&path, prefix.as_bytes()).is_ok();
            assert_eq!(
                valid,
                !loosened.is_empty(),
                "{name}: the first {lines} lines are {} but were refused with {loosened:?}",
                if valid { "valid" } else { "invalid" }
            );
            refused_as_looser += usize::from(valid);
            assert_eq!(version(&store, name), loaded, "{name}: {lines} lines");
            std::fs::write(&path, &full).unwrap();
            assert!(store.reload().is_empty(), "{name}: {lines} lines");
        }
        assert!(
            refused_as_looser > 20,
            "{name}: only {refused_as_looser} prefixes validate: the loosening check is barely exercised"
        );
    }
}

#[test]
fn a_prefix_without_rules_is_refused_naming_every_rule() {
    let full = shipped("hipaa");
    let (dir, store) = store_with("hipaa", &full, Duration::ZERO);
    let path = dir.path().join("hipaa.toml");
    let before_params = &full[..full.find("[params]").unwrap()];
    std::fs::write(&path, before_params).unwrap();
    let events = store.reload();
    let [PolicyEvent::Rejected {
        file,
        errors,
        loosened,
    }] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(file, &path);
    for rule in [
        "phi",
        "health-care-identifier",
        "identifier-alone",
        "de-identified-health",
    ] {
        assert!(loosened.iter().any(|l| l == rule), "{rule}: {loosened:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("rule `{rule}`")) && e.contains("is removed")),
            "{rule}: {errors:#?}"
        );
    }
    assert!(loosened.iter().any(|l| l == "test:name with a diagnosis"));
    let last = errors.last().unwrap();
    assert!(last.contains("reload refused"), "{last}");
    assert!(last.contains("acknowledge_loosening"), "{last}");
    assert_eq!(
        action(&store, "hipaa", &["PERSON", "MEDICAL_CONDITION"]),
        Action::Local,
        "the loaded version still decides"
    );
    // Refused once, not on every reload.
    assert!(store.reload().is_empty());
}

/// `hipaa.toml` as it will be once an edit is complete: a comment more, nothing looser.
fn edited_hipaa() -> String {
    shipped("hipaa").replacen("name = \"hipaa\"", "# Reviewed.\nname = \"hipaa\"", 1)
}

/// Writes `text` to `path` in place in two parts, `pause` apart, as a slow or interrupted writer
/// does: the first part alone is a valid policy with no rules.
fn write_slowly(path: &Path, text: &str, pause: Duration) {
    let split = text.find("[params]").unwrap();
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(&text.as_bytes()[..split]).unwrap();
    file.sync_all().unwrap();
    std::thread::sleep(pause);
    file.write_all(&text.as_bytes()[split..]).unwrap();
    file.sync_all().unwrap();
}

#[test]
fn a_torn_write_followed_by_the_full_file_settles_to_the_full_policy() {
    let (dir, store) = store_with("hipaa", &shipped("hipaa"), Duration::from_millis(300));
    let path = dir.path().join("hipaa.toml");
    let edited = edited_hipaa();
    let writer = {
        let (path, edited) = (path.clone(), edited.clone());
        std::thread::spawn(move || write_slowly(&path, &edited, Duration::from_millis(100)))
    };
    // The reload starts while only the first part is there.
    std::thread::sleep(Duration::from_millis(20));
    let events = store.reload();
    writer.join().unwrap();
    let [PolicyEvent::Loaded { version: v, .. }] = &events[..] else {
        panic!("expected the full file to load, got {events:?}");
    };
    let full = compile::load(&path, edited.as_bytes()).unwrap();
    assert_eq!(*v, *full.version);
    assert_eq!(version(&store, "hipaa"), *full.version);
    assert_eq!(store.snapshot().get("hipaa").unwrap().rules.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_waits_for_a_slow_write_to_settle() {
    let (dir, store) = store_with("hipaa", &shipped("hipaa"), Duration::from_millis(300));
    let store = Arc::new(store);
    let _reloader = spawn_reloader(store.clone(), true).unwrap();
    let mut events = store.subscribe();
    let path = dir.path().join("hipaa.toml");
    let edited = edited_hipaa();
    tokio::task::spawn_blocking({
        let edited = edited.clone();
        move || write_slowly(&path, &edited, Duration::from_millis(150))
    })
    .await
    .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("no reload within 10 s")
        .unwrap();
    assert!(
        matches!(&first, PolicyEvent::Loaded { version, .. } if *version == version_of(&edited)),
        "{first:?}"
    );
    // Nothing else happens: the first part alone was never judged.
    let more = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
    assert!(more.is_err(), "{more:?}");
}

fn version_of(src: &str) -> String {
    compile::compile(Path::new("hipaa.toml"), src.as_bytes())
        .unwrap()
        .version
        .to_string()
}

/// hipaa with `identifier_alone = "allow"`: an identifier without health context goes to the
/// cloud, which the shipped version keeps local.
fn hipaa_allowing_identifiers_alone() -> String {
    shipped("hipaa").replacen(
        "identifier_alone = \"local\"",
        "identifier_alone = \"allow\"",
        1,
    )
}

fn acknowledging(src: &str, names: &str) -> String {
    src.replacen(
        "name = \"hipaa\"",
        &format!("acknowledge_loosening = [{names}]\nname = \"hipaa\""),
        1,
    )
}

#[test]
fn a_deliberate_loosening_is_applied_only_when_acknowledged() {
    let (dir, store) = store_with("hipaa", &shipped("hipaa"), Duration::ZERO);
    let path = dir.path().join("hipaa.toml");
    let looser = hipaa_allowing_identifiers_alone();
    std::fs::write(&path, &looser).unwrap();
    let events = store.reload();
    let [PolicyEvent::Rejected {
        errors, loosened, ..
    }] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(loosened, &["identifier-alone"]);
    let line = looser
        .lines()
        .position(|l| l == "id = \"identifier-alone\"")
        .unwrap();
    let at = format!("hipaa.toml:{line}:1: error: rule `identifier-alone` is looser (e.g. ");
    assert!(
        errors[0].contains(&at) && errors[0].contains(": local -> allow)"),
        "{errors:#?}"
    );
    assert_eq!(action(&store, "hipaa", &["EMAIL_ADDRESS"]), Action::Local);

    std::fs::write(&path, acknowledging(&looser, "\"identifier-alone\"")).unwrap();
    let events = store.reload();
    assert!(
        matches!(&events[..], [PolicyEvent::Loaded { acknowledged, .. }] if acknowledged == &["identifier-alone"]),
        "{events:?}"
    );
    assert_eq!(action(&store, "hipaa", &["EMAIL_ADDRESS"]), Action::Allow);
    assert_eq!(
        action(&store, "hipaa", &["EMAIL_ADDRESS", "MEDICATION"]),
        Action::Local
    );
}

#[test]
fn dropping_a_rule_needs_acknowledging_even_when_no_decision_changes() {
    let full = shipped("hipaa");
    let (dir, store) = store_with("hipaa", &full, Duration::ZERO);
    let path = dir.path().join("hipaa.toml");
    let rule = "[[rule]]\nid = \"de-identified-health\"";
    let test = "[[test]]\nname = \"health context alone is de-identified\"";
    let mut without = full.clone();
    for block in [rule, test] {
        let start = without.find(block).unwrap();
        let end = start + without[start..].find("\n\n").unwrap() + 2;
        without.replace_range(start..end, "");
    }
    std::fs::write(&path, &without).unwrap();
    let events = store.reload();
    assert!(
        matches!(&events[..], [PolicyEvent::Rejected { loosened, .. }]
            if loosened == &["de-identified-health", "test:health context alone is de-identified"]),
        "{events:?}"
    );
    assert_eq!(store.snapshot().get("hipaa").unwrap().rules.len(), 4);

    let acknowledged = acknowledging(
        &without,
        "\"de-identified-health\", \"test:health context alone is de-identified\"",
    );
    std::fs::write(&path, acknowledged).unwrap();
    assert!(matches!(&store.reload()[..], [PolicyEvent::Loaded { .. }]));
    assert_eq!(store.snapshot().get("hipaa").unwrap().rules.len(), 3);
    assert_eq!(
        action(&store, "hipaa", &["MEDICAL_CONDITION"]),
        Action::Allow
    );
}

#[test]
fn acknowledgements_are_validated_with_their_position() {
    let src = acknowledging(&shipped("hipaa"), "\"phi\", \"no such thing!\", \"\"");
    let (line, text) = src
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("acknowledge_loosening"))
        .unwrap();
    let at = |needle: &str| {
        format!(
            "hipaa.toml:{}:{}:",
            line + 1,
            text.find(needle).unwrap() + 1
        )
    };
    let err = compile::load(Path::new("hipaa.toml"), src.as_bytes()).unwrap_err();
    let errors: Vec<String> = err.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        errors,
        [
            format!("{} error: `acknowledge_loosening` entry `no such thing!` is not a rule id, `default`, `on_detector_error` or `test:<test name>`", at("\"no such")),
            format!("{} error: `acknowledge_loosening` entry `` is not a rule id, `default`, `on_detector_error` or `test:<test name>`", at("\"\"")),
        ]
    );

    let src = acknowledging(
        &shipped("hipaa"),
        "\"default\", \"test:nothing detected\", \"default\"",
    );
    let policy = compile::load(Path::new("hipaa.toml"), src.as_bytes()).unwrap();
    let names: Vec<&str> = policy
        .acknowledged
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["default", "test:nothing detected"]);
    let text = src.lines().nth(line).unwrap();
    let second = format!(
        "hipaa.toml:{}:{}: warning: `default` is already acknowledged on line {}",
        line + 1,
        text.rfind("\"default").unwrap() + 1,
        line + 1
    );
    assert!(
        policy.warnings.iter().any(|w| w.to_string() == second),
        "{second}\n{:#?}",
        policy.warnings
    );
}

async fn wait_for(
    events: &mut tokio::sync::broadcast::Receiver<PolicyEvent>,
    what: &str,
    matches: impl Fn(&PolicyEvent) -> bool,
) -> PolicyEvent {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 10 s"))
            .unwrap();
        if matches(&ev) {
            return ev;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_keeps_deciding_with_the_loaded_version_and_audits_the_refusal() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let policies = tempfile::tempdir().unwrap();
    for name in ["hipaa", "soc2"] {
        std::fs::write(policies.path().join(format!("{name}.toml")), shipped(name)).unwrap();
    }
    let mut setup = Setup::with_cloud(&upstream, &audit);
    setup.policies = Some(policies.path());
    let mut config = gateway_config(&setup);
    config.policies.watch = true;
    config.policies.settle_ms = 100;
    let gw = sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts");
    let mut events = gw.gateway().policies.subscribe();
    let path = policies.path().join("hipaa.toml");

    // Under a hipaa without rules, a name with a diagnosis would go to the cloud.
    let torn = shipped("hipaa");
    std::fs::write(&path, &torn[..torn.find("[params]").unwrap()]).unwrap();
    wait_for(&mut events, "refusal", |e| {
        matches!(e, PolicyEvent::Rejected { .. })
    })
    .await;
    let prompt = "Patient Margaret Thistlewood was diagnosed with type 2 diabetes last spring.";
    let r = post_chat(gw.addr, &chat_body(prompt, false)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert!(
        upstream.received().is_empty(),
        "the cloud received a request: {:?}",
        upstream.received()
    );

    // A loosening that says so is applied, and audited as such.
    std::fs::write(
        &path,
        acknowledging(&hipaa_allowing_identifiers_alone(), "\"identifier-alone\""),
    )
    .unwrap();
    wait_for(&mut events, "acknowledged load", |e| {
        matches!(e, PolicyEvent::Loaded { .. })
    })
    .await;
    // The event is audited by a task of its own: give it the time to append.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !audit.all_records().contains("acknowledged_loosening")
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gw.stop().await.unwrap();

    let records = audit.all_records();
    let rejected = records
        .lines()
        .find(|l| l.contains("\"kind\":\"policy_rejected\""))
        .expect("the refusal is audited");
    for rule in [
        "phi",
        "health-care-identifier",
        "identifier-alone",
        "de-identified-health",
    ] {
        assert!(
            rejected.contains(&format!("\\\"{rule}\\\"")),
            "{rule}: {rejected}"
        );
    }
    assert!(rejected.contains("\\\"loosened\\\":["), "{rejected}");
    let loaded = records
        .lines()
        .rfind(|l| l.contains("\"kind\":\"policy_loaded\""))
        .unwrap();
    assert!(
        loaded.contains(r#"\"acknowledged_loosening\":[\"identifier-alone\"]"#),
        "{loaded}"
    );
    sluice::audit::verify::verify_log(&audit.log_dir(), &Default::default())
        .expect("audit chain verifies");
    upstream.stop().await;
}
