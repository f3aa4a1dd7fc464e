//! The console's HTML, written with maud (every interpolated value is HTML-escaped by the
//! template engine). Pages are plain server-rendered HTML and CSS with charts as SVG images: the
//! console runs no JavaScript, which keeps its Content-Security-Policy at `script-src 'none'`.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::index::{DecisionFacts, Entry, Index, What};
use super::overview::{Overview, ACTIONS};
use crate::audit::body::{Body, DecisionRecord, RefusedRecord};
use crate::audit::record::StoredRecord;
use crate::audit::verify::{Failure, Summary};

/// The navigation tabs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Timeline,
    Verification,
    Report,
    None,
}

/// The chain's state as the last verification found it, shown on every page.
pub enum ChainBadge<'a> {
    /// Verified; `true` when records were added since (they are not covered yet).
    Verified(&'a Summary, bool),
    Failed(&'a Failure),
    NotYet,
}

/// How a page's stylesheet is included: linked (served pages) or inline (a saved report).
pub enum Style<'a> {
    Linked,
    Inline(&'a str),
}

pub fn layout(title: &str, tab: Tab, badge: &ChainBadge, style: Style, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · sluice console" }
                @match style {
                    Style::Linked => link rel="stylesheet" href="/console/assets/console.css";,
                    Style::Inline(css) => style { (PreEscaped(css)) },
                }
            }
            body {
                header.top {
                    span.brand { "sluice" small { " compliance console" } }
                    @if tab != Tab::None {
                        nav {
                            a.current[tab == Tab::Overview] href="/console" { "Overview" }
                            a.current[tab == Tab::Timeline] href="/console/timeline" { "Decisions" }
                            a.current[tab == Tab::Verification] href="/console/verify" { "Verification" }
                            a.current[tab == Tab::Report] href="/console/report" { "Report" }
                        }
                        form.logout method="post" action="/console/logout" {
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                (chain_banner(badge))
                main { (body) }
                footer { "Read-only view of the audit log. Records hold fingerprints of values, never the values." }
            }
        }
    }
}

fn chain_banner(badge: &ChainBadge) -> Markup {
    html! {
        @match badge {
            ChainBadge::Verified(s, grown) => div.banner.ok {
                "Chain verified: " (s.records) " records, seq 0.." (s.last_seq)
                @if let Some(c) = &s.last_checkpoint {
                    ", signed up to seq " (c.checkpoint.seq)
                }
                @if !s.keys_trusted { " (signatures checked against the key the log declares; configure [audit] public_key to check against a trusted key)" }
                ". "
                @if *grown { "Records were added since. " a href="/console/verify" { "Verify again" } }
                @else { a href="/console/verify" { "Details" } }
            },
            ChainBadge::Failed(f) => div.banner.fail {
                strong { "Chain verification FAILED: " } (f.message)
                ". Figures read from this log are not evidence until the failure is explained. "
                a href="/console/verify" { "Details" }
            },
            ChainBadge::NotYet => div.banner.pending {
                "The chain has not been verified since the log last grew. "
                a href="/console/verify" { "Verify now" }
            },
        }
    }
}

pub fn login(error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sign in · sluice console" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.login {
                main {
                    h1 { "sluice compliance console" }
                    p { "Sign in with the console admin key (not a client API key)." }
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    form method="post" action="/console/login" {
                        label for="key" { "Admin key" }
                        input id="key" name="key" type="password" autocomplete="current-password" required autofocus;
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

/// The filter form's current values and choices.
pub struct FilterForm<'a> {
    pub since: &'a str,
    pub until: &'a str,
    pub client: &'a str,
    pub action: &'a str,
    pub backend: &'a str,
    pub entity: &'a str,
    pub rule: &'a str,
    pub policy: &'a str,
    pub show: &'a str,
    pub clients: Vec<&'a str>,
    pub backends: Vec<&'a str>,
    pub entities: Vec<&'a str>,
    pub rules: Vec<&'a str>,
    pub policies: Vec<&'a str>,
    pub error: Option<String>,
}

fn select(name: &str, label: &str, current: &str, choices: &[&str]) -> Markup {
    html! {
        label {
            (label)
            select name=(name) {
                option value="" selected[current.is_empty()] { "any" }
                @for c in choices {
                    option value=(c) selected[*c == current] { (c) }
                }
                // A value typed into the URL that the log never mentions stays visible.
                @if !current.is_empty() && !choices.contains(&current) {
                    option value=(current) selected { (current) " (not in the log)" }
                }
            }
        }
    }
}

pub fn filter_form(action: &str, f: &FilterForm, with_show: bool) -> Markup {
    html! {
        form.filters method="get" action=(action) {
            label { "From (UTC)" input type="text" name="since" value=(f.since) placeholder="2026-12-01 or 2026-12-01T13:00"; }
            label { "Until" input type="text" name="until" value=(f.until) placeholder="2026-12-07"; }
            (select("client", "Client", f.client, &f.clients))
            (select("action", "Action", f.action, &["allow", "redact", "local", "block"]))
            (select("backend", "Backend", f.backend, &f.backends))
            (select("entity", "Entity type", f.entity, &f.entities))
            (select("rule", "Rule", f.rule, &f.rules))
            (select("policy", "Policy version", f.policy, &f.policies))
            @if with_show {
                label {
                    "Show"
                    select name="show" {
                        option value="decisions" selected[f.show != "refused" && f.show != "all"] { "decisions" }
                        option value="refused" selected[f.show == "refused"] { "refused attempts" }
                        option value="all" selected[f.show == "all"] { "both" }
                    }
                }
            }
            button type="submit" { "Apply" }
            a.reset href=(action) { "Reset" }
        }
        @if let Some(e) = &f.error { p.error role="alert" { (e) } }
    }
}

fn action_class(facts: &DecisionFacts) -> &'static str {
    facts.action.as_str()
}

pub fn time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub struct TimelineView<'a> {
    pub form: FilterForm<'a>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub rows: Vec<&'a Entry>,
    pub index: &'a Index,
    /// The query string without `page`, for paging and export links.
    pub query: String,
}

pub fn timeline(v: &TimelineView) -> Markup {
    let s = &v.index.strings;
    let page_link = |page: usize| format!("/console/timeline?{}&page={}", v.query, page + 1);
    html! {
        h1 { "Decisions" }
        (filter_form("/console/timeline", &v.form, true))
        p.summary {
            (v.total) " matching; page " (v.page + 1) " of " (v.pages.max(1)) ". "
            a href={ "/console/timeline.csv?" (v.query) } { "Export CSV" } " · "
            a href={ "/console/timeline.json?" (v.query) } { "Export JSON" }
        }
        table.timeline {
            thead { tr { th { "Time (UTC)" } th { "Request" } th { "Client" } th { "Action" } th { "Served by" } th { "Entities" } th { "Rules" } th { "Status" } } }
            tbody {
                @for e in &v.rows {
                    @let id = e.request.text(s);
                    tr {
                        td.time { (time(e.micros)) }
                        td { a.request href={ "/console/requests/" (id) } { (id) } }
                        td { (e.client.map(|c| s.name(c)).unwrap_or("-")) }
                        @match &e.what {
                            What::Decision(d) => {
                                td { span class={ "action " (action_class(d)) } { (d.action.as_str()) } }
                                td {
                                    @match d.served_by() {
                                        Some(b) => { (s.name(b.backend)) @if b.on_premise { " (on premise)" } @else { " (cloud)" } },
                                        None => "-",
                                    }
                                }
                                td { @for (t, n) in d.entities.iter() { span.entity { (s.name(*t)) "×" (n) } " " } }
                                td { @for r in d.rules.iter() { code { (s.name(*r)) } " " } }
                                td { @match &d.outcome { Some(o) => (o.status), None => "-" } }
                            }
                            What::Refused { status, route, code, .. } => {
                                td { span.action.refused { "refused" } }
                                td { "-" }
                                td { code { (s.name(*code)) } }
                                td { (s.name(*route)) }
                                td { (status) }
                            }
                        }
                    }
                }
            }
        }
        @if v.rows.is_empty() { p { "No records match." } }
        nav.pager {
            @if v.page > 0 { a rel="prev" href=(page_link(v.page - 1)) { "← Newer" } }
            @if v.page + 1 < v.pages { a rel="next" href=(page_link(v.page + 1)) { "Older →" } }
        }
    }
}

pub fn overview(form: &FilterForm, o: &Overview, query: &str) -> Markup {
    let chart = |name: &str, alt: &str| {
        html! { img.chart src={ "/console/charts/" (name) ".svg?" (query) } alt=(alt) width="720" height="300"; }
    };
    html! {
        h1 { "Overview" }
        (filter_form("/console", form, false))
        (figures(o))
        div.charts {
            (chart("actions", "Decisions over time, by action"))
            (chart("served", "Where requests were served"))
            (chart("entities", "Requests by entity type"))
            (chart("rules", "Policy rules that fired most"))
            (chart("blocked", "Blocked requests over time"))
            (chart("refused", "Refused and unauthenticated attempts over time"))
        }
    }
}

pub fn figures(o: &Overview) -> Markup {
    html! {
        div.figures {
            div.figure { span.n { (o.decisions) } span { "decisions" } }
            @for (i, a) in ACTIONS.iter().enumerate() {
                div class={ "figure " (a.as_str()) } { span.n { (o.by_action[i]) } span { (a.as_str()) } }
            }
            div.figure { span.n { (o.phi) } span { "with PHI" } }
            div class={ "figure " @if o.phi_to_cloud_unredacted > 0 { "alert" } @else { "good" } } {
                span.n { (o.phi_to_cloud_unredacted) } span { "PHI to a cloud model unredacted" }
            }
            div.figure { span.n { (o.refused) } span { "refused (" (o.unauthenticated) " unauthenticated, " (o.unknown_keys) " unknown keys)" } }
        }
    }
}

/// A request's decision in full, from its record on disk.
pub fn decision_detail(
    record: &StoredRecord,
    d: &DecisionRecord,
    entry: &Entry,
    index: &Index,
    file: &str,
) -> Markup {
    let facts = entry.decision();
    html! {
        h1 { "Request " code { (d.request_id) } }
        table.facts {
            tr { th { "Time (UTC)" } td { (record.ts) } }
            tr { th { "Client" } td { (d.client) } }
            tr { th { "Action" } td { span class={ "action " (d.action.as_str()) } { (d.action.as_str()) } } }
            tr { th { "Sent to" } td {
                @match &d.backend {
                    Some(b) => { (b.name) @if b.on_premise { " (on premise)" } @else { " (cloud)" } },
                    None => "nowhere (blocked)",
                }
            } }
            tr { th { "Policies" } td { @for p in &d.policies { code { (p.name) " " (p.version) } br; } } }
            tr { th { "Detectors that ran" } td { (d.detectors.join(", ")) } }
            @for s in &d.skipped_detectors {
                tr { th { "Skipped: " (s.detector) } td { (s.reason) } }
            }
        }
        h2 { "Rules that fired" }
        @if d.rule_ids.is_empty() { p { "None: the policies' default applied." } }
        table {
            @for (i, rule) in d.rule_ids.iter().enumerate() {
                tr { td { code { (rule) } } td { (d.reasons.get(i).map(String::as_str).unwrap_or("")) } }
            }
        }
        h2 { "Entities" }
        p.note { "Values are never recorded: each is kept as a keyed fingerprint (" code { (d.entities.key_id().unwrap_or("-")) } "), so one value can be followed across requests without being revealed." }
        table.entities {
            thead { tr { th { "Type" } th { "Count" } th { "Best score" } th { "Detectors" } th { "Detector rules" } th { "Fingerprints" } } }
            tbody {
                @for t in d.entities.types() {
                    tr {
                        td { (t.entity_type()) }
                        td { (t.count()) }
                        td { (format!("{:.2}", t.max_score())) }
                        td { @for k in t.detectors() { (k.as_str()) " " } }
                        td { @for r in t.rules() { code { (r) } " " } }
                        td.fingerprints {
                            @for f in t.fingerprints() { @let f = f.as_str(); code title=(f) { (&f[..f.len().min(16)]) "…" } " " }
                            @if t.fingerprints_omitted() > 0 { "+" (t.fingerprints_omitted()) " more" }
                        }
                    }
                }
            }
        }
        h2 { "Outcome" }
        @match facts.and_then(|f| f.outcome.as_ref()) {
            Some(o) => table.facts {
                tr { th { "HTTP status" } td { (o.status) } }
                tr { th { "Latency" } td { (format!("{:.1} ms", o.latency_ms)) } }
                tr { th { "Tokens in / out" } td { (opt(o.tokens_in)) " / " (opt(o.tokens_out)) } }
                tr { th { "Served by" } td { @match o.backend { Some(b) => { (index.strings.name(b.backend)) @if b.on_premise { " (on premise)" } @else { " (cloud)" } }, None => "-" } } }
                tr { th { "Streamed" } td { (if o.streamed { "yes" } else { "no" }) } }
            },
            None => p { "No outcome record (blocked, still running, or the gateway stopped first)." },
        }
        (chain_position(record, file))
    }
}

fn opt(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

pub fn refused_detail(record: &StoredRecord, r: &RefusedRecord, file: &str) -> Markup {
    html! {
        h1 { "Refused request " code { (r.request_id) } }
        table.facts {
            tr { th { "Time (UTC)" } td { (record.ts) } }
            tr { th { "Route" } td { code { (r.route) } } }
            tr { th { "HTTP status" } td { (r.status) } }
            tr { th { "Error" } td { (r.error_type) @if let Some(c) = &r.code { " / " code { (c) } } } }
            tr { th { "Client" } td { (r.client.as_deref().unwrap_or("none (no valid key)")) } }
            tr { th { "Unknown key's fingerprint" } td { @match &r.key_fingerprint { Some(f) => code { (f) }, None => "no key presented (or the client's key was valid)" } } }
            tr { th { "Peer address" } td { (r.peer.as_deref().unwrap_or("-")) } }
        }
        (chain_position(record, file))
    }
}

fn chain_position(record: &StoredRecord, file: &str) -> Markup {
    html! {
        h2 { "Place in the chain" }
        table.facts {
            tr { th { "Sequence number" } td { (record.seq) } }
            tr { th { "File" } td { code { (file) } } }
            tr { th { "Hash" } td { code { (record.hash.to_hex()) } } }
            tr { th { "Previous hash" } td { code { (record.prev.to_hex()) } } }
        }
    }
}

/// Any record, as stored: the envelope and its body's JSON (bodies never hold request text).
pub fn record(record: &StoredRecord, file: &str, line: u64) -> Markup {
    let pretty = serde_json::from_str::<serde_json::Value>(&record.body)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| record.body.clone());
    let parsed = Body::parse(record.kind, &record.body).is_ok();
    html! {
        h1 { "Record " (record.seq) " (" (record.kind.as_str()) ")" }
        p { code { (file) ":" (line) } }
        @if !parsed { p.error { "This body does not parse as a " (record.kind.as_str()) " record." } }
        table.facts {
            tr { th { "Time" } td { (record.ts) } }
            tr { th { "Hash" } td { code { (record.hash.to_hex()) } } }
            tr { th { "Previous hash" } td { code { (record.prev.to_hex()) } } }
            tr { th { "Hash recomputed" } td {
                @if record.computed_hash() == record.hash { "matches" } @else { strong.fail { "does not match: the record was altered" } }
            } }
        }
        pre.body { (pretty) }
    }
}

pub fn verification(result: &Result<Summary, Failure>, file_link: Option<(u64, u64)>) -> Markup {
    html! {
        h1 { "Verification" }
        p { "Every hash, link, sequence number and file boundary of the log is checked, and every checkpoint signature, as " code { "sluice audit verify" } " does." }
        @match result {
            Ok(s) => {
                p.verdict.ok { "Verified." }
                table.facts {
                    tr { th { "Log id" } td { code { (s.log_id) } } }
                    tr { th { "Records" } td { (s.records) " in " (s.files) " file(s), seq 0.." (s.last_seq) } }
                    tr { th { "Head" } td { code { (s.head.to_hex()) } } }
                    tr { th { "Checkpoints" } td { (s.checkpoints) } }
                    tr { th { "Last signed checkpoint" } td {
                        @match &s.last_checkpoint {
                            Some(c) => { "covers seq " (c.checkpoint.seq) " at " (c.checkpoint.time) ", key " code { (c.checkpoint.key_id) } },
                            None => "none yet",
                        }
                    } }
                    tr { th { "Records not yet signed" } td { (s.unsigned_tail) } }
                    tr { th { "Signatures" } td {
                        @if s.keys_trusted { "checked against the configured trusted public key" }
                        @else { "checked against the key the log declares (set [audit] public_key to check against a key you hold)" }
                    } }
                    tr { th { "Anchors checked" } td { (s.local_anchors_checked) " in the log directory, " (s.external_anchors_checked) " held elsewhere" } }
                }
                @if !s.warnings.is_empty() {
                    h2 { "Warnings" }
                    ul { @for w in &s.warnings { li { (w) } } }
                }
            }
            Err(f) => {
                p.verdict.fail { "FAILED" }
                table.facts {
                    tr { th { "First failure" } td { (f.message) } }
                    @if let Some(seq) = f.seq { tr { th { "Record" } td { "seq " (seq) } } }
                    @if let Some(l) = &f.location {
                        tr { th { "Where" } td {
                            @match file_link {
                                Some((file, line)) => a href={ "/console/log/" (file) "/" (line) } { (l) },
                                None => (l),
                            }
                        } }
                    }
                }
                p { "Figures read from this log are not evidence until the failure is explained." }
            }
        }
    }
}

/// Chart images as data URIs (so a saved report is one self-contained file).
pub struct ReportCharts {
    pub actions: String,
    pub served: String,
    pub entities: String,
    pub rules: String,
    pub refused: String,
}

/// What the report page shows.
pub struct ReportView<'a> {
    /// `sluice audit report`'s text.
    pub text: &'a str,
    /// `sluice audit costs`' text, when `[costs]` is configured.
    pub costs: Option<&'a str>,
    pub overview: &'a Overview,
    pub charts: &'a ReportCharts,
    pub query: &'a str,
    pub since: &'a str,
    pub until: &'a str,
    /// Rendered for saving: no forms or links.
    pub saved: bool,
}

pub fn report(v: &ReportView) -> Markup {
    let (text, costs, o, charts, query, since, until, saved) = (
        v.text, v.costs, v.overview, v.charts, v.query, v.since, v.until, v.saved,
    );
    html! {
        h1 { "Report" }
        @if !saved {
            form.filters method="get" action="/console/report" {
                label { "From (UTC)" input type="text" name="since" value=(since) placeholder="2026-12-01"; }
                label { "Until" input type="text" name="until" value=(until) placeholder="2026-12-07"; }
                button type="submit" { "Build report" }
            }
            p.exports {
                a href={ "/console/report?" (query) "&download=html" } { "Save as HTML" } " · "
                a href={ "/console/report.csv?" (query) } { "Export CSV" } " · "
                a href={ "/console/report.json?" (query) } { "Export JSON" } " · "
                "For PDF, print this page and choose “Save as PDF” (the page has a print layout)."
            }
        }
        pre.report { (text) }
        @if let Some(costs) = costs {
            h2 { "Spend and break-even" }
            pre.report.costs { (costs) }
        }
        (figures(o))
        div.charts {
            img.chart src=(charts.actions) alt="Decisions over time, by action";
            img.chart src=(charts.served) alt="Where requests were served";
            img.chart src=(charts.entities) alt="Requests by entity type";
            img.chart src=(charts.rules) alt="Policy rules that fired most";
            img.chart src=(charts.refused) alt="Refused attempts over time";
        }
    }
}

pub fn not_found(what: &str) -> Markup {
    html! { h1 { "Not found" } p { (what) } p { a href="/console/timeline" { "Back to the decisions" } } }
}
