//! Short, cleared chat requests (about 100 characters, nothing sensitive), all distinct: the
//! gateway caches detection results by message hash, and a load of one repeated prompt would
//! measure the cache instead of detection.

const TASKS: [&str; 16] = [
    "Explain",
    "Summarize",
    "Describe",
    "Outline",
    "Compare",
    "List",
    "Discuss",
    "Review",
    "Clarify",
    "Sketch",
    "Illustrate",
    "Assess",
    "Contrast",
    "Rank",
    "Critique",
    "Introduce",
];

const SUBJECTS: [&str; 16] = [
    "the benefits of unit testing for a small backend team",
    "how a write-ahead log keeps a database consistent",
    "why code review catches design problems early",
    "the trade-offs of microservices versus a monolith",
    "how a bloom filter answers membership queries",
    "the role of a load balancer in a web service",
    "how stop-the-world pauses affect tail latency",
    "why idempotent endpoints simplify retries",
    "the basics of consistent hashing for caches",
    "how encryption in transit protects internal traffic",
    "why feature flags help with gradual rollouts",
    "how a message queue decouples producers and consumers",
    "the purpose of continuous integration pipelines",
    "how indexes speed up relational queries",
    "why observability needs logs, metrics and traces",
    "how rate limiting protects a public endpoint",
];

const FORMS: [&str; 16] = [
    "in three short bullet points.",
    "for a new engineer.",
    "in simple terms.",
    "with one concrete example.",
    "in under eighty words.",
    "as a short checklist.",
    "for a design review.",
    "in two paragraphs.",
    "with a simple analogy.",
    "for a team wiki page.",
    "in a friendly tone.",
    "with pros and cons.",
    "as numbered steps.",
    "for a weekly status update.",
    "in a single paragraph.",
    "with a closing summary.",
];

/// Every combination once (4,096 prompts).
pub fn prompts() -> Vec<String> {
    let mut out = Vec::with_capacity(TASKS.len() * SUBJECTS.len() * FORMS.len());
    for task in TASKS {
        for subject in SUBJECTS {
            for form in FORMS {
                out.push(format!("{task} {subject} {form} Keep the answer brief."));
            }
        }
    }
    out
}

/// One request body per line, as `oha -Z` reads them.
pub fn body_lines(prompts: &[String]) -> String {
    let mut out = String::new();
    for p in prompts {
        let body = serde_json::json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": p}],
            "max_tokens": 64,
        });
        out.push_str(&body.to_string());
        out.push('\n');
    }
    out
}
