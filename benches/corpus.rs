//! Deterministic benchmark text: English prose with PII, PHI and secrets sprinkled in at a realistic
//! density (about one entity per 300 bytes), so detectors do real work on matches and non-matches.

const PROSE: &[&str] = &[
    "The quarterly review covered infrastructure costs, hiring plans and the migration to the new data platform.",
    "Please summarise the attached meeting notes and list the action items for each team.",
    "Our deployment pipeline runs integration tests on every merge and publishes artifacts nightly.",
    "The committee agreed to revisit the proposal after the budget is finalised next month.",
    "Customer satisfaction improved after the support team introduced a shared knowledge base.",
    "Latency on the checkout service rose during the holiday peak, mostly from cache misses.",
    "She asked whether the report could be shortened to two pages with a summary table.",
    "The patient was seen in clinic today and tolerated the procedure without complications.",
];

const SENSITIVE: &[&str] = &[
    "Contact John Smith at john.smith@example.com or (415) 555-0132.",
    "Patient SSN 219-09-9999, MRN: 48213377, diagnosed with type 2 diabetes, on metformin.",
    "Card 4111 1111 1111 1111 expires 09/27; routing number 021000021.",
    "Server 10.20.30.40 uses key AKIAIOSFODNN7EXAMPLE for uploads.",
    "Born on March 3, 1950, she lives at 1600 Pennsylvania Avenue, Washington, DC 20500.",
    "The 92-year-old patient with hypertension was prescribed lisinopril.",
];

/// About `bytes` of text (never less), identical on every call.
pub fn mixed_prose(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 256);
    let mut i = 0usize;
    while out.len() < bytes {
        out.push_str(PROSE[i % PROSE.len()]);
        out.push(' ');
        if i % 3 == 2 {
            out.push_str(SENSITIVE[(i / 3) % SENSITIVE.len()]);
            out.push(' ');
        }
        if i % 7 == 6 {
            out.push_str("\n\n");
        }
        i += 1;
    }
    out
}
