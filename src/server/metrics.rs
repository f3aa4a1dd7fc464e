//! `/metrics`, in Prometheus's text format, by the `prometheus` crate: the encoder escapes label
//! values (backslash, quote, line feed) and checks metric and label names, instead of text
//! written by hand.
//!
//! Every label value comes from a closed vocabulary (routes, actions, HTTP status codes, catalog
//! entity types, reload outcomes) or from the config (client and backend names), never from
//! request content, so metrics cannot carry PII.

use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Latency buckets in seconds: sub-millisecond detection up to multi-second generation.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Every metric sluice exports, registered once.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    entities: IntCounterVec,
    detection: Histogram,
    audit: Histogram,
    backend: HistogramVec,
    tokens: IntCounterVec,
    fallbacks: IntCounterVec,
    local_first: IntCounterVec,
    local_unsure: IntCounterVec,
    reloads: IntCounterVec,
    local_queue: IntGauge,
    pool_healthy: IntGaugeVec,
    pool_outstanding: IntGaugeVec,
    ner_skipped: IntCounter,
}

/// Registers `metric` (names and help are constants: a failure is a bug caught by the tests).
fn registered<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: M,
) -> M {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are valid and unique");
    metric
}

fn counters(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    registered(
        registry,
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn latency(name: &str, help: &str) -> HistogramOpts {
    HistogramOpts::new(name, help).buckets(BUCKETS.to_vec())
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let build = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new("sluice_build_info", "The running sluice build (always 1)."),
                &["version", "rust_version"],
            )
            .expect("valid metric"),
        );
        build
            .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("CARGO_PKG_RUST_VERSION")])
            .set(1);
        Metrics {
            requests: counters(
                &registry,
                "sluice_requests_total",
                "Requests by route, client, decision action, backend and HTTP status.",
                &["route", "client", "action", "backend", "status"],
            ),
            entities: counters(
                &registry,
                "sluice_entities_total",
                "Entities detected, by type.",
                &["entity_type"],
            ),
            detection: registered(
                &registry,
                Histogram::with_opts(latency("sluice_detection_seconds", "Time to scan a request."))
                    .expect("valid metric"),
            ),
            ner_skipped: registered(
                &registry,
                IntCounter::new(
                    "sluice_ner_skipped_total",
                    "Requests decided without the NER model: the rule packs and dictionaries settled the decision.",
                )
                .expect("valid metric"),
            ),
            audit: registered(
                &registry,
                Histogram::with_opts(latency(
                    "sluice_audit_seconds",
                    "Time until a decision record is durable.",
                ))
                .expect("valid metric"),
            ),
            backend: registered(
                &registry,
                HistogramVec::new(
                    latency(
                        "sluice_backend_seconds",
                        "Time from dispatch to the end of the backend's answer.",
                    ),
                    &["backend"],
                )
                .expect("valid metric"),
            ),
            tokens: counters(
                &registry,
                "sluice_tokens_total",
                "Tokens in (prompt) and out (completion), by backend, as the backends report them.",
                &["backend", "direction"],
            ),
            fallbacks: counters(
                &registry,
                "sluice_fallbacks_total",
                "Requests a cloud backend failed before answering, served by the local model instead.",
                &["from", "to"],
            ),
            local_first: counters(
                &registry,
                "sluice_local_first_total",
                "Answers of local-first routes, by rule: kept (returned) or escalated.",
                &["rule", "verdict"],
            ),
            local_unsure: counters(
                &registry,
                "sluice_local_first_unsure_total",
                "Why local-first answers were judged unsure, by rule and reason (an answer may have several).",
                &["rule", "reason"],
            ),
            reloads: counters(
                &registry,
                "sluice_policy_reloads_total",
                "Policy files loaded or refused after start-up.",
                &["outcome"],
            ),
            pool_healthy: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "sluice_pool_member_healthy",
                        "Whether a pool member is in rotation (1) or ejected (0).",
                    ),
                    &["backend", "member"],
                )
                .expect("valid gauge"),
            ),
            pool_outstanding: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "sluice_pool_member_outstanding",
                        "Requests a pool member is serving now.",
                    ),
                    &["backend", "member"],
                )
                .expect("valid gauge"),
            ),
            local_queue: registered(
                &registry,
                IntGauge::new(
                    "sluice_local_queue_depth",
                    "Requests waiting for or using a local model slot.",
                )
                .expect("valid metric"),
            ),
            registry,
        }
    }
}

impl Metrics {
    pub fn request(&self, route: &str, client: &str, action: &str, backend: &str, status: u16) {
        self.requests
            .with_label_values(&[route, client, action, backend, &status.to_string()])
            .inc();
    }

    pub fn entities<'a>(&self, types: impl IntoIterator<Item = (&'a str, usize)>) {
        for (t, n) in types {
            self.entities.with_label_values(&[t]).inc_by(n as u64);
        }
    }

    pub fn detection(&self, d: Duration) {
        self.detection.observe(d.as_secs_f64());
    }

    /// A request decided without the NER model (its decision was settled before).
    pub fn ner_skipped(&self) {
        self.ner_skipped.inc();
    }

    pub fn audit(&self, d: Duration) {
        self.audit.observe(d.as_secs_f64());
    }

    pub fn backend(&self, backend: &str, d: Duration) {
        self.backend
            .with_label_values(&[backend])
            .observe(d.as_secs_f64());
    }

    pub fn tokens(&self, backend: &str, input: u64, output: u64) {
        self.tokens
            .with_label_values(&[backend, "in"])
            .inc_by(input);
        self.tokens
            .with_label_values(&[backend, "out"])
            .inc_by(output);
    }

    pub fn fallback(&self, from: &str, to: &str) {
        self.fallbacks.with_label_values(&[from, to]).inc();
    }

    /// `verdict` is `kept` or `escalated`; `unsure` are `route::escalate::Unsure` names.
    pub fn local_first(&self, rule: &str, verdict: &str, unsure: &[&str]) {
        self.local_first.with_label_values(&[rule, verdict]).inc();
        for reason in unsure {
            self.local_unsure.with_label_values(&[rule, reason]).inc();
        }
    }

    /// `outcome` is `loaded` or `rejected`.
    pub fn policy_reload(&self, outcome: &'static str) {
        self.reloads.with_label_values(&[outcome]).inc();
    }

    /// Requests waiting for or holding a local slot (sampled when metrics are scraped).
    pub fn set_local_queue(&self, depth: usize) {
        self.local_queue.set(depth as i64);
    }

    /// A pool member's state (sampled when metrics are scraped).
    pub fn set_pool_member(&self, backend: &str, member: &crate::backend::MemberState) {
        let labels = [backend, member.url.as_str()];
        self.pool_healthy
            .with_label_values(&labels)
            .set(i64::from(member.healthy));
        self.pool_outstanding
            .with_label_values(&labels)
            .set(member.outstanding as i64);
    }

    /// The text exposition of every metric ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding into memory cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_build_info() {
        let m = Metrics::default();
        m.request("chat_completions", "app", "local", "local", 200);
        m.request("chat_completions", "app", "local", "local", 200);
        m.entities([("US_SSN", 2)]);
        m.detection(Duration::from_millis(3));
        m.backend("cloud", Duration::from_millis(40));
        m.tokens("cloud", 9, 6);
        m.fallback("cloud", "local");
        m.policy_reload("rejected");
        let text = m.render();
        assert!(text.contains(
            "sluice_requests_total{action=\"local\",backend=\"local\",client=\"app\",route=\"chat_completions\",status=\"200\"} 2"
        ), "{text}");
        assert!(text.contains("sluice_entities_total{entity_type=\"US_SSN\"} 2"));
        assert!(text.contains("sluice_detection_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("sluice_detection_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("sluice_backend_seconds_count{backend=\"cloud\"} 1"));
        assert!(text.contains("sluice_tokens_total{backend=\"cloud\",direction=\"out\"} 6"));
        assert!(text.contains("sluice_fallbacks_total{from=\"cloud\",to=\"local\"} 1"));
        assert!(text.contains("sluice_policy_reloads_total{outcome=\"rejected\"} 1"));
        assert!(text.contains("sluice_build_info{rust_version=\""), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.request(
            "chat_completions",
            "team \"a\"\nb\\c",
            "allow",
            "cloud",
            200,
        );
        let text = m.render();
        assert!(text.contains(r#"client="team \"a\"\nb\\c""#), "{text}");
    }
}
