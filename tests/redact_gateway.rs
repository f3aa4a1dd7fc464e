//! `redact` decisions end to end on loopback: the real detectors (plus a deny list of test values),
//! the shipped gdpr policy (personal data -> redact), a real audit log, and a cloud upstream that
//! echoes everything it receives, so every placeholder it was sent comes back and must be
//! restored. The upstream records every body: none may hold a raw value.

mod redact_support;
mod support;

use std::sync::{Arc, Mutex, OnceLock};

use redact_support::*;
use serde_json::{json, Value};
use sluice::detect::Pipeline;
use support::*;

/// Every value of the conversation the cloud must never see.
const VALUES: &[&str] = &[
    "Zoë",
    "Ångström",
    "zoe.angstrom",
    "王小明",
    "867-5309",
    "The Rock",
    "Dwayne",
    "jroe-admin",
    "acme-labs.com Tower",
];

/// Everything sluice logs (any level) and its dependencies log at info and above; all tests of
/// this binary share it.
fn logs() -> String {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buffer = LOGS.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter("info,sluice=trace")
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .init();
        buffer
    });
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_no_value(what: &str, haystack: &str) {
    for v in VALUES {
        assert!(!haystack.contains(v), "{what} contains {v:?}: {haystack}");
    }
}

/// A scheduling conversation: names with accents and in CJK, repeated across messages, an email
/// overlapping a deny-listed term ("kim@acme-labs.com Tower": two entity types, one union), a
/// value with quotes and one with a backslash inside tool-call arguments, and a literal
/// look-alike of a placeholder that must survive as written.
fn conversation(stream: bool) -> Value {
    let args = json!({
        "to": "zoe.angstrom@example.com",
        "name": "Zoë Ångström",
        "cc": "Dwayne \"The Rock\" Johnson",
        "account": "CORP\\jroe-admin"
    })
    .to_string();
    json!({
        "model": "gpt-4o-mini",
        "stream": stream,
        "stream_options": {"include_usage": true},
        "messages": [
            {"role": "system", "content": "You are a scheduling assistant. Keep every name and address exactly as written."},
            {"role": "user", "content": "Please email Zoë Ångström (zoe.angstrom@example.com) and 王小明 about the offsite. Zoë Ångström prefers mornings; her phone is +1 (555) 867-5309. Loop in Dwayne \"The Rock\" Johnson, account CORP\\jroe-admin. Our office: kim@acme-labs.com Tower 3. An earlier draft said <PERSON_1>; ignore it."},
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "send_email", "arguments": args}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Sent to Zoë Ångström <zoe.angstrom@example.com>."},
            {"role": "user", "content": [{"type": "text", "text": "Now tell 王小明 the same, and cc Dwayne \"The Rock\" Johnson."}]}
        ]
    })
}

struct Fixture {
    echo: EchoUpstream,
    audit: AuditDirs,
    _policies: tempfile::TempDir,
    gw: sluice::server::Running,
}

async fn start_with(policies: &[&str], redact: Option<sluice::redact::RedactConfig>) -> Fixture {
    start_pipeline(policies, redact, pipeline_with_deny_lists()).await
}

async fn start_pipeline(
    policies: &[&str],
    redact: Option<sluice::redact::RedactConfig>,
    pipeline: Arc<Pipeline>,
) -> Fixture {
    logs();
    let echo = EchoUpstream::start().await;
    let audit = AuditDirs::new();
    let dir = policy_dir(policies);
    let mut config = echo_config(&echo, &audit, dir.path(), policies);
    if let Some(r) = redact {
        config.redact = r;
    }
    let gw = sluice::server::start(config, pipeline)
        .await
        .expect("gateway starts");
    Fixture {
        echo,
        audit,
        _policies: dir,
        gw,
    }
}

impl Fixture {
    async fn stop(self) -> (EchoUpstream, AuditDirs) {
        self.gw.stop().await.unwrap();
        sluice::audit::verify::verify_log(&self.audit.log_dir(), &Default::default())
            .expect("audit chain verifies");
        (self.echo, self.audit)
    }
}

fn original_calls(body: &Value) -> Vec<(String, String)> {
    echo_calls(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoing_cloud_sees_placeholders_only_and_the_client_gets_everything_back() {
    let fx = start_with(&["gdpr"], None).await;
    let body = conversation(false);
    let r = post_chat(fx.gw.addr, &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "redact");
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let request_id = header(&r, "x-sluice-request-id");
    let answer: Value = r.json().await.unwrap();
    let message = &answer["choices"][0]["message"];
    assert_eq!(
        message["content"],
        echo_text(&body),
        "every placeholder restored, the look-alike and the model's own value kept"
    );
    let calls: Vec<(String, String)> = message["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["function"]["name"].as_str().unwrap().to_owned(),
                c["function"]["arguments"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        original_calls(&body),
        "tool-call arguments restored byte for byte"
    );
    let echoed: Value = serde_json::from_str(&calls[0].1).expect("restored arguments are JSON");
    assert_eq!(echoed["echo"], echo_text(&body));

    let received = fx.echo.received();
    assert_eq!(received.len(), 1);
    assert_no_value("the cloud's request", &received[0]);
    let sent: Value = serde_json::from_str(&received[0]).unwrap();
    let user = sent["messages"][1]["content"].as_str().unwrap();
    let person = user
        .split("Please email ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap();
    assert!(
        person.starts_with("<PERSON_") && person != "<PERSON_1>",
        "{user}"
    );
    assert_eq!(
        user.matches(person).count(),
        2,
        "a repeated value gets one placeholder: {user}"
    );
    assert!(
        user.contains("<PERSON_1>"),
        "the literal look-alike is forwarded as written"
    );
    let args = sent["messages"][2]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    let args: Value = serde_json::from_str(args).expect("rewritten arguments stay JSON");
    assert_eq!(
        args["name"], person,
        "the same value gets the same placeholder inside arguments"
    );
    assert!(user.contains("Our office: <EMAIL_ADDRESS_"), "{user}");
    assert!(
        user.contains("> 3."),
        "the overlapping email and deny-listed term are one span: {user}"
    );

    let (echo, audit) = fx.stop().await;
    let records = audit.all_records();
    assert_no_value("the audit log", &records);
    let decision = records
        .lines()
        .find(|l| l.contains(&request_id) && l.contains("\"decision\""))
        .expect("a decision record");
    let line: Value = serde_json::from_str(decision).unwrap();
    let record: Value = serde_json::from_str(line["body"].as_str().unwrap()).unwrap();
    assert_eq!(record["action"], "redact");
    assert_eq!(record["backend"]["name"], "cloud");
    let types: Vec<&str> = record["entities"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    for t in ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CUSTOM"] {
        assert!(
            types.contains(&t),
            "the decision record lacks {t}: {decision}"
        );
    }
    assert!(
        !records.contains("<PERSON_"),
        "placeholders are not audited either"
    );
    echo.stop().await;
}

async fn stream_once(fx: &Fixture, body: &Value) -> StreamedAnswer {
    let r = post_chat(fx.gw.addr, body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "redact");
    parse_stream(&r.text().await.unwrap())
}

fn assert_restored(answer: &StreamedAnswer, body: &Value, what: &str) {
    assert!(answer.errors.is_empty(), "{what}: {:?}", answer.errors);
    assert_eq!(answer.content, echo_text(body), "{what}");
    assert_eq!(answer.calls, original_calls(body), "{what}");
    assert!(
        answer.finished && answer.done,
        "{what}: the stream ends properly"
    );
    assert!(
        answer.late_content.is_empty(),
        "{what}: text after finish_reason"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_echo_is_restored_wherever_the_chunks_are_cut() {
    let fx = start_with(&["gdpr"], None).await;
    let body = conversation(true);
    let first = stream_once(&fx, &body).await;
    assert_restored(&first, &body, "chunks of 7 bytes");
    let sent: Value = serde_json::from_str(&fx.echo.received()[0]).unwrap();
    let forwarded = echo_text(&sent);
    assert!(forwarded.contains("<EMAIL_ADDRESS_"));
    // Every byte offset of the forwarded text, so every placeholder is cut at every position;
    // the tool-call arguments are cut at the same offsets.
    for at in 0..=forwarded.len() {
        fx.echo.set(EchoBehaviour {
            cuts: Cuts::At(at),
            ..Default::default()
        });
        let answer = stream_once(&fx, &body).await;
        assert_restored(&answer, &body, &format!("cut at byte {at}"));
    }
    fx.echo.set(EchoBehaviour {
        cuts: Cuts::Every(1),
        ..Default::default()
    });
    let answer = stream_once(&fx, &body).await;
    assert_restored(&answer, &body, "one byte per chunk");
    assert!(answer.chunks > forwarded.len(), "{} chunks", answer.chunks);

    let (echo, audit) = fx.stop().await;
    for received in echo.received() {
        assert_no_value("the cloud's request", &received);
    }
    assert_no_value("the audit log", &audit.all_records());
    assert_no_value("the gateway's logs", &logs());
    echo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_cannot_be_restored_ends_in_an_error_not_half_restored() {
    let fx = start_with(&["gdpr"], None).await;
    fx.echo.set(EchoBehaviour {
        odd_event: true,
        ..Default::default()
    });
    let body = conversation(true);
    let answer = stream_once(&fx, &body).await;
    assert_eq!(answer.errors.len(), 1, "{answer:?}");
    let message = answer.errors[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("placeholders"), "{message}");
    assert!(!answer.done, "no [DONE] after a failed restore");
    assert!(answer.calls.is_empty());
    let (echo, audit) = fx.stop().await;
    let records = audit.all_records();
    assert!(
        records
            .lines()
            .any(|l| l.contains("\"outcome\"") && l.contains("502")),
        "the outcome records the failure"
    );
    let logged = logs();
    assert!(
        logged.contains("restoring a streamed answer failed"),
        "the failure is logged"
    );
    assert_no_value("the gateway's logs", &logged);
    echo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_wins_when_any_policy_says_local() {
    let fx = start_with(&["gdpr"], None).await;
    let mut body = chat_body(
        "Zoë Ångström (zoe.angstrom@example.com) has SSN 512-48-7391; draft a note.",
        false,
    );
    body["max_tokens"] = json!(8);
    let r = post_chat(fx.gw.addr, &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let (echo, _audit) = fx.stop().await;
    assert!(echo.received().is_empty(), "nothing reached the cloud");
    echo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mask_policy_masks_only_the_policy_types_with_the_configured_placeholder() {
    let redact: sluice::redact::RedactConfig =
        toml::from_str("mask = \"policy\"\nplaceholder = \"[{type}#{n}]\"").unwrap();
    let fx = start_with(&["gdpr"], Some(redact)).await;
    let body = conversation(false);
    let r = post_chat(fx.gw.addr, &body).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], echo_text(&body));
    let sent = &fx.echo.received()[0];
    assert!(sent.contains("[PERSON#1]"), "{sent}");
    assert!(!sent.contains("Zoë") && !sent.contains("zoe.angstrom"));
    assert!(
        sent.contains("CORP\\\\jroe-admin"),
        "gdpr does not list CUSTOM, so with mask = \"policy\" it is forwarded: {sent}"
    );
    let (echo, _) = fx.stop().await;
    echo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_shows_what_the_cloud_would_receive() {
    let fx = start_with(&["gdpr"], None).await;
    let scan = |body: Value| {
        let addr = fx.gw.addr;
        async move {
            let r = client()
                .post(format!("http://{addr}/v1/scan"))
                .bearer_auth(CLIENT_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let text = scan(
        json!({"text": "Email Zoë Ångström at zoe.angstrom@example.com, then Zoë Ångström again."}),
    )
    .await;
    assert_eq!(text["action"], "redact");
    assert_eq!(
        text["redacted_text"],
        "Email <PERSON_1> at <EMAIL_ADDRESS_1>, then <PERSON_1> again."
    );
    let chat = scan(conversation(false)).await;
    assert_eq!(chat["action"], "redact");
    assert_no_value(
        "the redacted request",
        &chat["redacted_request"].to_string(),
    );
    assert!(chat["redacted_request"]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .starts_with("Please email <PERSON_"));
    let cleared = scan(json!({"text": "Explain unit tests."})).await;
    assert_eq!(cleared["action"], "allow");
    assert!(cleared["redacted_text"].is_null());
    let (echo, _) = fx.stop().await;
    assert!(echo.received().is_empty(), "scan forwards nothing");
    echo.stop().await;
}

/// The scheduling conversation in Anthropic's Messages format: the system prompt, the values in
/// a user turn, a tool use whose input holds values, and its result inside the next user turn.
fn anthropic_conversation() -> Value {
    let chat = conversation(true);
    let args: Value = serde_json::from_str(
        chat["messages"][2]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    json!({
        "model": "gpt-4o-mini", "max_tokens": 400, "stream": true,
        "system": chat["messages"][0]["content"],
        "messages": [
            {"role": "user", "content": chat["messages"][1]["content"]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "send_email", "input": args}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": chat["messages"][3]["content"]},
                {"type": "text", "text": chat["messages"][4]["content"][0]["text"]}
            ]}
        ]
    })
}

/// Text and tool uses (name, concatenated `partial_json`) of an Anthropic event stream, and
/// whether it ended with `message_stop`.
fn parse_anthropic_stream(body: &str) -> (String, Vec<(String, String)>, bool) {
    let (mut text, mut calls, mut stopped) = (String::new(), Vec::new(), false);
    for data in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let event: Value = serde_json::from_str(data).expect("every event is JSON");
        match event["type"].as_str().unwrap() {
            "content_block_start" if event["content_block"]["type"] == "tool_use" => calls.push((
                event["content_block"]["name"].as_str().unwrap().to_owned(),
                String::new(),
            )),
            "content_block_delta" => match event["delta"]["type"].as_str().unwrap() {
                "text_delta" => text.push_str(event["delta"]["text"].as_str().unwrap()),
                _ => calls
                    .last_mut()
                    .unwrap()
                    .1
                    .push_str(event["delta"]["partial_json"].as_str().unwrap()),
            },
            "message_stop" => stopped = true,
            "error" => panic!("the stream failed: {event}"),
            _ => {}
        }
    }
    (text, calls, stopped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_stream_is_restored_across_its_deltas() {
    let fx = start_with(&["gdpr"], None).await;
    let body = anthropic_conversation();
    // What the echo answers is computed on the conversation as sluice hands it on, with the
    // values in place: that is what the client must get back.
    let (chat, _) = sluice::dialect::anthropic::to_chat(body.to_string().as_bytes()).unwrap();
    let chat = serde_json::to_value(&chat).unwrap();
    for cuts in [Cuts::Every(7), Cuts::Every(1), Cuts::At(40), Cuts::At(333)] {
        fx.echo.set(EchoBehaviour {
            cuts,
            ..Default::default()
        });
        let r = client()
            .post(format!("http://{}/v1/messages", fx.gw.addr))
            .header("x-api-key", CLIENT_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-sluice-action"), "redact");
        assert_eq!(header(&r, "x-sluice-backend"), "cloud");
        let (text, calls, stopped) = parse_anthropic_stream(&r.text().await.unwrap());
        assert_eq!(text, echo_text(&chat), "{cuts:?}");
        assert_eq!(calls, echo_calls(&chat), "{cuts:?}");
        assert!(stopped, "{cuts:?}: the stream ends with message_stop");
    }
    let (echo, audit) = fx.stop().await;
    for received in echo.received() {
        assert_no_value("the cloud's request", &received);
    }
    assert_no_value("the audit log", &audit.all_records());
    echo.stop().await;
}
