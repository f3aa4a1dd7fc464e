//! Prometheus text exposition for `/metrics`.
//!
//! Every label value comes from a closed vocabulary (actions, configured backend names, HTTP status
//! codes, catalog entity types), never from request content, so metrics cannot carry PII.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets in seconds: sub-millisecond detection up to multi-second generation.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    entities: Mutex<BTreeMap<String, u64>>,
    detection: Mutex<Histogram>,
    audit: Mutex<Histogram>,
    backend: Mutex<BTreeMap<String, Histogram>>,
    local_queue: AtomicI64,
    ner_skipped: AtomicU64,
}

impl Metrics {
    pub fn request(&self, action: &str, backend: &str, status: u16) {
        *lock(&self.requests)
            .entry((action.to_owned(), backend.to_owned(), status))
            .or_default() += 1;
    }

    pub fn entities<'a>(&self, types: impl IntoIterator<Item = (&'a str, usize)>) {
        let mut m = lock(&self.entities);
        for (t, n) in types {
            *m.entry(t.to_owned()).or_default() += n as u64;
        }
    }

    pub fn detection(&self, d: Duration) {
        lock(&self.detection).observe(d.as_secs_f64());
    }

    /// A request decided without the NER model (its decision was settled before).
    pub fn ner_skipped(&self) {
        self.ner_skipped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn audit(&self, d: Duration) {
        lock(&self.audit).observe(d.as_secs_f64());
    }

    pub fn backend(&self, backend: &str, d: Duration) {
        lock(&self.backend)
            .entry(backend.to_owned())
            .or_default()
            .observe(d.as_secs_f64());
    }

    /// Requests waiting for or holding a local slot (sampled when metrics are scraped).
    pub fn set_local_queue(&self, depth: usize) {
        self.local_queue.store(depth as i64, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP sluice_requests_total Chat requests by decision action, backend and HTTP status.\n");
        out.push_str("# TYPE sluice_requests_total counter\n");
        for ((action, backend, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "sluice_requests_total{{action=\"{action}\",backend=\"{backend}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP sluice_entities_total Entities detected, by type.\n");
        out.push_str("# TYPE sluice_entities_total counter\n");
        for (t, n) in lock(&self.entities).iter() {
            let _ = writeln!(out, "sluice_entities_total{{entity_type=\"{t}\"}} {n}");
        }
        render_histogram(
            &mut out,
            "sluice_detection_seconds",
            "Time to scan a request.",
            "",
            &lock(&self.detection),
        );
        out.push_str("# HELP sluice_ner_skipped_total Requests decided without the NER model: the rule packs and dictionaries settled the decision.\n");
        out.push_str("# TYPE sluice_ner_skipped_total counter\n");
        let _ = writeln!(
            out,
            "sluice_ner_skipped_total {}",
            self.ner_skipped.load(Ordering::Relaxed)
        );
        render_histogram(
            &mut out,
            "sluice_audit_seconds",
            "Time until a decision record is durable.",
            "",
            &lock(&self.audit),
        );
        out.push_str("# HELP sluice_backend_seconds Time from dispatch to the end of the backend's answer.\n");
        out.push_str("# TYPE sluice_backend_seconds histogram\n");
        for (b, h) in lock(&self.backend).iter() {
            render_buckets(
                &mut out,
                "sluice_backend_seconds",
                &format!("backend=\"{b}\","),
                h,
            );
        }
        out.push_str(
            "# HELP sluice_local_queue_depth Requests waiting for or using a local model slot.\n",
        );
        out.push_str("# TYPE sluice_local_queue_depth gauge\n");
        let _ = writeln!(
            out,
            "sluice_local_queue_depth {}",
            self.local_queue.load(Ordering::Relaxed)
        );
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a metrics lock must not take /metrics down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn render_histogram(out: &mut String, name: &str, help: &str, labels: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    render_buckets(out, name, labels, h);
}

fn render_buckets(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    for (i, b) in BUCKETS.iter().enumerate() {
        let n = h.counts.get(i).copied().unwrap_or(0);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{b}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", h.count);
    let trimmed = labels.trim_end_matches(',');
    let braces = if trimmed.is_empty() {
        String::new()
    } else {
        format!("{{{trimmed}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum);
    let _ = writeln!(out, "{name}_count{braces} {}", h.count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("local", "local", 200);
        m.request("local", "local", 200);
        m.entities([("US_SSN", 2)]);
        m.detection(Duration::from_millis(3));
        m.backend("cloud", Duration::from_millis(40));
        let text = m.render();
        assert!(text.contains(
            "sluice_requests_total{action=\"local\",backend=\"local\",status=\"200\"} 2"
        ));
        assert!(text.contains("sluice_entities_total{entity_type=\"US_SSN\"} 2"));
        assert!(text.contains("sluice_detection_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("sluice_detection_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("sluice_backend_seconds_count{backend=\"cloud\"} 1"));
    }
}
