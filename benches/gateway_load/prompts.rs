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

/// The same prompts as request bodies of another route (`route` is the path after `/v1/`).
pub fn route_lines(route: &str, prompts: &[String]) -> String {
    let mut out = String::new();
    for p in prompts {
        let body = match route {
            "chat/completions" => serde_json::json!({
                "model": "gpt-4o-mini", "max_tokens": 64,
                "messages": [{"role": "user", "content": p}],
            }),
            "messages" => serde_json::json!({
                "model": "gpt-4o-mini", "max_tokens": 64,
                "messages": [{"role": "user", "content": [{"type": "text", "text": p}]}],
            }),
            "responses" => serde_json::json!({
                "model": "gpt-4o-mini", "max_output_tokens": 64, "input": p,
            }),
            "completions" => serde_json::json!({
                "model": "gpt-4o-mini", "max_tokens": 64, "prompt": p,
            }),
            "embeddings" => serde_json::json!({"model": "gpt-4o-mini", "input": [p]}),
            other => panic!("no bodies for {other}"),
        };
        out.push_str(&body.to_string());
        out.push('\n');
    }
    out
}

const PATIENTS: [&str; 16] = [
    "Margaret Okafor",
    "Daniel Brandt",
    "Aiko Tanaka",
    "Lucas Moreau",
    "Priya Raman",
    "Tomasz Nowak",
    "Elena Petrova",
    "Samuel Adeyemi",
    "Ingrid Halvorsen",
    "Mateo Alvarez",
    "Grace O'Connell",
    "Yusuf Demir",
    "Hannah Weiss",
    "Kofi Mensah",
    "Isabella Russo",
    "Oliver Bennett",
];

const CONDITIONS: [&str; 16] = [
    "type 2 diabetes",
    "hypertension",
    "asthma",
    "chronic kidney disease",
    "atrial fibrillation",
    "major depressive disorder",
    "rheumatoid arthritis",
    "migraine",
    "hypothyroidism",
    "COPD",
    "osteoporosis",
    "epilepsy",
    "psoriasis",
    "heart failure",
    "anemia",
    "sleep apnea",
];

/// A patient's identifier of one of eight kinds, varied by `n`. The first three (a validated SSN,
/// an MRN and a date of birth, both named by context) settle a HIPAA decision without NER; the
/// others (phone, e-mail, insurance member, none) leave it to NER.
fn identifier(kind: usize, n: usize, name: &str) -> String {
    let first = name.split(' ').next().unwrap_or(name).to_lowercase();
    match kind % 8 {
        0 => format!("SSN 512-48-{:04}", 1000 + n),
        1 => format!("MRN {:08}", 48_213_000 + n),
        2 => format!("DOB 03/{:02}/19{:02}", 1 + n % 28, 30 + n % 60),
        3 => format!("SSN 219-09-{:04}", 2000 + n),
        4 => format!("phone (415) 555-{:04}", 100 + n),
        5 => format!("e-mail {first}.{n}@example.org"),
        6 => format!("seen on ward {}", 1 + n % 9),
        _ => "no other details".to_string(),
    }
}

/// Short clinical requests about a named patient, all distinct (4,096): each is `local` under
/// HIPAA; about half carry an identifier the rule packs validate or confirm by context.
pub fn phi_prompts() -> Vec<String> {
    let mut out = Vec::with_capacity(PATIENTS.len() * CONDITIONS.len() * 16);
    for (p, name) in PATIENTS.iter().enumerate() {
        for (c, condition) in CONDITIONS.iter().enumerate() {
            for k in 0..16 {
                let n = (p * CONDITIONS.len() + c) * 16 + k;
                let id = identifier(k, n, name);
                out.push(format!(
                    "Patient {name}, {id}, was seen for {condition}. Summarize the visit for the chart."
                ));
            }
        }
    }
    out
}

/// One `/v1/scan` body per line.
pub fn scan_lines(texts: &[String]) -> String {
    let mut out = String::new();
    for t in texts {
        out.push_str(&serde_json::json!({ "text": t }).to_string());
        out.push('\n');
    }
    out
}
