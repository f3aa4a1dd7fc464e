//! The console's routes: sign-in, the pages, the chart images and the exports.
//!
//! Every route but the sign-in page and the stylesheet needs a session (or the admin key as a
//! Bearer token). Every GET only reads; the only POSTs sign in and out. Security headers are set
//! on every response of the scope ([`security_headers`]).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::Markup;
use serde::Deserialize;

use super::index::{read_line_at, Filter, Index, Role, Show};
use super::overview::{overview, Overview, ACTIONS};
use super::pages::{self, FilterForm, Style, Tab};
use super::session::{set_cookie, token_in};
use super::{charts, Console};
use crate::audit::body::{Action, Body, RefusedRecord};
use crate::audit::query::parse_time_bound;
use crate::audit::record::StoredRecord;

/// The Content-Security-Policy of every page: nothing but this origin's stylesheet, images
/// (charts, also as data URIs in a saved report) and form targets; no scripts at all; no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("Content-Security-Policy", CSP))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"))
}

pub fn configure(cfg: &mut web::ServiceConfig, console: Arc<Console>) {
    cfg.service(
        web::scope("/console")
            .app_data(web::Data::from(console))
            .wrap(security_headers())
            .route("", web::get().to(overview_page))
            .route("/", web::get().to(overview_page))
            .route("/login", web::get().to(login_page))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            .route("/timeline", web::get().to(timeline_page))
            .route("/timeline.{format}", web::get().to(timeline_export))
            .route("/requests/{id}", web::get().to(request_page))
            .route("/log/{file}/{line}", web::get().to(record_page))
            .route("/verify", web::get().to(verify_page))
            .route("/report", web::get().to(report_page))
            .route("/report.{format}", web::get().to(report_export))
            .route("/charts/{name}.svg", web::get().to(chart))
            .route("/assets/console.css", web::get().to(stylesheet))
            .default_service(web::to(|| async {
                HttpResponse::NotFound()
                    .content_type("text/plain; charset=utf-8")
                    .body("not found")
            })),
    );
}

fn html(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Whether the request carries an open session or the admin key.
fn admitted(console: &Console, req: &HttpRequest) -> bool {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|key| console.sessions.is_admin_key(key)) {
        return true;
    }
    req.headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(token_in)
        .is_some_and(|token| console.sessions.is_open(token))
}

/// Pages send a browser to the sign-in page; data routes answer 401.
macro_rules! page_guard {
    ($console:expr, $req:expr) => {
        if !admitted(&$console, &$req) {
            return see_other("/console/login");
        }
    };
}
macro_rules! data_guard {
    ($console:expr, $req:expr) => {
        if !admitted(&$console, &$req) {
            return HttpResponse::Unauthorized()
                .content_type("application/json")
                .body(r#"{"error":{"message":"sign in to the console, or send the console admin key as a Bearer token","type":"authentication_error","param":null,"code":"invalid_admin_key"}}"#);
        }
    };
}

async fn login_page(console: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    if admitted(&console, &req) {
        return see_other("/console");
    }
    html(pages::login(None))
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
}

async fn login(
    console: web::Data<Console>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    if !same_origin(&req) {
        return HttpResponse::Forbidden().body("cross-origin sign-in refused");
    }
    if console.sessions.is_admin_key(&form.key) {
        let token = console.sessions.open();
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console"))
            .insert_header((
                header::SET_COOKIE,
                set_cookie(Some(&token), console.sessions.ttl(), console.secure_cookie),
            ))
            .finish();
    }
    console.record_refused_sign_in(&req, &form.key).await;
    HttpResponse::Unauthorized()
        .content_type("text/html; charset=utf-8")
        .body(
            pages::login(Some(
                "That is not the console admin key. The attempt was recorded in the audit log.",
            ))
            .into_string(),
        )
}

async fn logout(console: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    if let Some(token) = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(token_in)
    {
        console.sessions.close(token);
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .insert_header((
            header::SET_COOKIE,
            set_cookie(None, console.sessions.ttl(), console.secure_cookie),
        ))
        .finish()
}

/// Whether a POST comes from the console's own pages. Browsers say where a request comes from
/// in `Sec-Fetch-Site` (whatever the referrer policy); older ones send an `Origin`, which is
/// `null` under this console's `no-referrer` policy. The cookie is `SameSite=Strict` already;
/// this also covers sign-in, which has no cookie yet.
fn same_origin(req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        None | Some("null") => true,
        Some(origin) => {
            let host = req.connection_info().host().to_owned();
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest == host)
        }
    }
}

/// A report's `[since, until)`, open where `None`.
pub type Period = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// The filter fields of the query string (all pages share them).
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct FilterQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    since: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    until: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    backend: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    entity: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    rule: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    policy: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    show: String,
    #[serde(default, skip_serializing)]
    page: Option<usize>,
    #[serde(default, skip_serializing)]
    download: Option<String>,
}

impl FilterQuery {
    /// The index filter, or why a field could not be read.
    fn filter(&self, index: &Index) -> (Filter, Option<String>) {
        let mut error = None;
        let mut bound = |text: &str, end: bool| -> Option<i64> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            let text = text.replacen(' ', "T", 1);
            match parse_time_bound(&text, end) {
                Ok(t) => Some(t.timestamp_micros()),
                Err(e) => {
                    error = Some(e);
                    None
                }
            }
        };
        let since = bound(&self.since, false);
        let until = bound(&self.until, true);
        let name = |text: &str| -> Option<Option<u32>> {
            let text = text.trim();
            (!text.is_empty()).then(|| index.strings.get(text))
        };
        let action = match self.action.trim() {
            "" => None,
            a => match Action::parse(a) {
                Some(a) => Some(a),
                None => {
                    error = Some(format!(
                        "`{a}` is not an action (allow, redact, local, block)"
                    ));
                    None
                }
            },
        };
        let filter = Filter {
            since,
            until,
            client: name(&self.client),
            action,
            backend: name(&self.backend),
            entity: name(&self.entity),
            rule: name(&self.rule),
            policy: name(&self.policy),
            show: match self.show.as_str() {
                "refused" => Show::Refused,
                "all" => Show::All,
                _ => Show::Decisions,
            },
        };
        (filter, error)
    }

    /// The report's period (`since`, `until`), or why a bound is not a time.
    pub fn period(&self) -> Result<Period, String> {
        let bound = |text: &str, end: bool| {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            parse_time_bound(&text.replacen(' ', "T", 1), end).map(Some)
        };
        Ok((bound(&self.since, false)?, bound(&self.until, true)?))
    }

    /// This selection as a query string (without page or download), for links.
    fn encoded(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    fn form<'a>(&'a self, index: &'a Index, error: Option<String>) -> FilterForm<'a> {
        FilterForm {
            since: &self.since,
            until: &self.until,
            client: &self.client,
            action: &self.action,
            backend: &self.backend,
            entity: &self.entity,
            rule: &self.rule,
            policy: &self.policy,
            show: &self.show,
            clients: index.names(Role::Client),
            backends: index.names(Role::Backend),
            entities: index.names(Role::Entity),
            rules: index.names(Role::Rule),
            policies: index.names(Role::Policy),
            error,
        }
    }
}

async fn overview_page(
    console: web::Data<Console>,
    req: HttpRequest,
    query: web::Query<FilterQuery>,
) -> HttpResponse {
    page_guard!(console, req);
    let console = console.into_inner();
    let body = console
        .with_index(move |index, badge| {
            let (filter, error) = query.filter(index);
            let o = overview(index, &filter);
            let form = query.form(index, error);
            pages::layout(
                "Overview",
                Tab::Overview,
                &badge,
                Style::Linked,
                pages::overview(&form, &o, &query.encoded()),
            )
        })
        .await;
    respond(body)
}

async fn timeline_page(
    console: web::Data<Console>,
    req: HttpRequest,
    query: web::Query<FilterQuery>,
) -> HttpResponse {
    page_guard!(console, req);
    let console = console.into_inner();
    let per_page = console.page_size;
    let body = console
        .with_index(move |index, badge| {
            let (filter, error) = query.filter(index);
            let page_number = query.page.unwrap_or(1).max(1) - 1;
            let page = index.page(&filter, page_number, per_page);
            let view = pages::TimelineView {
                form: query.form(index, error),
                total: page.total,
                page: page_number,
                pages: page.total.div_ceil(per_page),
                rows: page.rows,
                index,
                query: query.encoded(),
            };
            pages::layout(
                "Decisions",
                Tab::Timeline,
                &badge,
                Style::Linked,
                pages::timeline(&view),
            )
        })
        .await;
    respond(body)
}

/// At most this many rows in one export (a larger selection says so in its last line).
const MAX_EXPORT_ROWS: usize = 1_000_000;

/// `/console/timeline.csv` and `/console/timeline.json`: the selection as a file.
async fn timeline_export(
    console: web::Data<Console>,
    req: HttpRequest,
    format: web::Path<String>,
    query: web::Query<FilterQuery>,
) -> HttpResponse {
    data_guard!(console, req);
    let csv = match format.as_str() {
        "csv" => true,
        "json" => false,
        _ => return HttpResponse::NotFound().body("no such export"),
    };
    let console = console.into_inner();
    let body = console
        .with_index(move |index, _| {
            let (filter, _) = query.filter(index);
            if csv {
                super::export::csv(index, &filter, MAX_EXPORT_ROWS)
            } else {
                super::export::json_lines(index, &filter, MAX_EXPORT_ROWS)
            }
        })
        .await;
    match body {
        Ok(text) if csv => download(text, "text/csv; charset=utf-8", "sluice-decisions.csv"),
        Ok(text) => download(text, "application/x-ndjson", "sluice-decisions.jsonl"),
        Err(e) => e,
    }
}

fn download(body: String, content_type: &str, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

fn respond(body: Result<Markup, HttpResponse>) -> HttpResponse {
    match body {
        Ok(markup) => html(markup),
        Err(response) => response,
    }
}

async fn request_page(
    console: web::Data<Console>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    page_guard!(console, req);
    let console = console.into_inner();
    let id = id.into_inner();
    let dir = console.dir.clone();
    let body = console
        .with_index(move |index, badge| {
            let Some(entry) = index.find(&id) else {
                return pages::layout(
                    "Not found",
                    Tab::Timeline,
                    &badge,
                    Style::Linked,
                    pages::not_found("No decision or refusal with that request id."),
                );
            };
            let file = crate::audit::files::log_file_name(entry.at.file);
            let place = format!("{file} (byte {})", entry.at.offset);
            let content = match read_line_at(&dir, entry.at)
                .ok()
                .and_then(|line| StoredRecord::parse(line.as_bytes()).ok())
            {
                Some(record) => match Body::parse(record.kind, &record.body) {
                    Ok(Body::Decision(d)) => {
                        pages::decision_detail(&record, &d, entry, index, &place)
                    }
                    Ok(Body::Refused(r)) => pages::refused_detail(&record, &r, &place),
                    _ => pages::not_found(
                        "The record at this place no longer parses; verify the log.",
                    ),
                },
                None => pages::not_found("The record could not be read back; verify the log."),
            };
            pages::layout("Request", Tab::Timeline, &badge, Style::Linked, content)
        })
        .await;
    respond(body)
}

async fn record_page(
    console: web::Data<Console>,
    req: HttpRequest,
    at: web::Path<(u64, u64)>,
) -> HttpResponse {
    page_guard!(console, req);
    let (file, line) = at.into_inner();
    let console = console.into_inner();
    let dir = console.dir.clone();
    let badge_console = console.clone();
    let found = web::block(move || super::export::record_at_line(&dir, file, line)).await;
    let badge = badge_console.badge();
    let name = crate::audit::files::log_file_name(file);
    let content = match found {
        Ok(Ok(Some(record))) => pages::record(&record, &name, line),
        Ok(Ok(None)) => pages::not_found("No such record line (or it does not parse as a record)."),
        _ => pages::not_found("The log file could not be read."),
    };
    html(pages::layout(
        "Record",
        Tab::Verification,
        &badge.as_badge(),
        Style::Linked,
        content,
    ))
}

async fn verify_page(console: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    page_guard!(console, req);
    let console = console.into_inner();
    let result = console.verify_fresh().await;
    let badge = console.badge();
    let link = result.as_ref().as_ref().err().and_then(|f| {
        let l = f.location.as_ref()?;
        let file = crate::audit::files::log_file_index(&l.file.file_name()?.to_string_lossy())?;
        Some((file, l.line))
    });
    html(pages::layout(
        "Verification",
        Tab::Verification,
        &badge.as_badge(),
        Style::Linked,
        pages::verification(&result, link),
    ))
}

async fn report_page(
    console: web::Data<Console>,
    req: HttpRequest,
    query: web::Query<FilterQuery>,
) -> HttpResponse {
    page_guard!(console, req);
    let console = console.into_inner();
    let saved = query.download.as_deref() == Some("html");
    let mut report = match console.report(&query).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    // The page shows the spend section under a heading of its own.
    let costs = report.costs.take().map(|c| c.to_string());
    let charts_query = FilterQuery {
        since: query.since.clone(),
        until: query.until.clone(),
        ..FilterQuery::default()
    };
    let figures = console
        .with_index(move |index, _| {
            let (filter, _) = charts_query.filter(index);
            overview(index, &filter)
        })
        .await;
    let o = match figures {
        Ok(o) => o,
        Err(e) => return e,
    };
    let chart_data = pages::ReportCharts {
        actions: data_uri(&chart_svg("actions", &o)),
        served: data_uri(&chart_svg("served", &o)),
        entities: data_uri(&chart_svg("entities", &o)),
        rules: data_uri(&chart_svg("rules", &o)),
        refused: data_uri(&chart_svg("refused", &o)),
    };
    console.verify().await;
    let badge = console.badge();
    let text = report.to_string();
    let encoded = query.encoded();
    let body = pages::report(&pages::ReportView {
        text: &text,
        costs: costs.as_deref(),
        overview: &o,
        charts: &chart_data,
        query: &encoded,
        since: &query.since,
        until: &query.until,
        saved,
    });
    if saved {
        // A saved report is one file: the stylesheet inline, the charts as data URIs, no links.
        let page = pages::layout(
            "Report",
            Tab::None,
            &badge.as_badge(),
            Style::Inline(super::STYLESHEET),
            body,
        );
        let name = format!(
            "sluice-report-{}-{}.html",
            file_part(&query.since, "start"),
            file_part(&query.until, "now")
        );
        return HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ))
            .body(page.into_string());
    }
    html(pages::layout(
        "Report",
        Tab::Report,
        &badge.as_badge(),
        Style::Linked,
        body,
    ))
}

/// A period bound as a file-name part (digits, letters and `-` only).
fn file_part(text: &str, empty: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    if cleaned.is_empty() {
        empty.to_owned()
    } else {
        cleaned
    }
}

/// `/console/report.csv` and `/console/report.json`.
async fn report_export(
    console: web::Data<Console>,
    req: HttpRequest,
    format: web::Path<String>,
    query: web::Query<FilterQuery>,
) -> HttpResponse {
    data_guard!(console, req);
    let format = format.into_inner();
    if format != "csv" && format != "json" {
        return HttpResponse::NotFound().body("no such export");
    }
    match console.into_inner().report(&query).await {
        Ok(r) if format == "csv" => {
            download(r.to_csv(), "text/csv; charset=utf-8", "sluice-report.csv")
        }
        Ok(r) => download(r.to_json_text(), "application/json", "sluice-report.json"),
        Err(e) => e,
    }
}

async fn chart(
    console: web::Data<Console>,
    req: HttpRequest,
    name: web::Path<String>,
    query: web::Query<FilterQuery>,
) -> HttpResponse {
    data_guard!(console, req);
    let name = name.into_inner();
    if !CHARTS.contains(&name.as_str()) {
        return HttpResponse::NotFound().body("no such chart");
    }
    let console = console.into_inner();
    let svg = console
        .with_index(move |index, _| {
            let (filter, _) = query.filter(index);
            chart_svg(&name, &overview(index, &filter))
        })
        .await;
    match svg {
        Ok(svg) => HttpResponse::Ok()
            .content_type("image/svg+xml")
            // An SVG is a document: alone in a tab it must run nothing either.
            .insert_header((
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'",
            ))
            .body(svg),
        Err(e) => e,
    }
}

const CHARTS: [&str; 6] = [
    "actions", "served", "entities", "rules", "blocked", "refused",
];

fn chart_svg(name: &str, o: &Overview) -> String {
    match name {
        "actions" => {
            let series: Vec<(&str, Vec<u64>)> = ACTIONS
                .iter()
                .zip(o.actions.iter())
                .map(|(a, counts)| (a.as_str(), counts.clone()))
                .collect();
            charts::stacked_bars("Decisions over time, by action", &o.buckets, &series)
        }
        "served" => charts::shares(
            "Where requests were served",
            &[
                // The palette follows position: blocked fourth is drawn in the block colour.
                ("on premise", o.on_premise),
                ("cloud", o.cloud),
                ("not served", o.not_served),
                ("blocked", o.blocked),
            ],
        ),
        "entities" => charts::horizontal_bars("Requests by entity type", &o.entities),
        "rules" => charts::horizontal_bars("Policy rules that fired most", &o.rules),
        "blocked" => charts::stacked_bars(
            "Blocked requests over time",
            &o.buckets,
            &[("block", o.actions[3].clone())],
        ),
        _ => charts::stacked_bars(
            "Refused and unauthenticated attempts over time",
            &o.buckets,
            &[("refused", o.refused_per_bucket.clone())],
        ),
    }
}

fn data_uri(svg: &str) -> String {
    use base64::Engine;
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(super::STYLESHEET)
}

/// A refused record for a failed sign-in, as the gateway writes one for an unknown API key.
pub(super) fn refused_sign_in(req: &HttpRequest, fingerprint: String) -> RefusedRecord {
    RefusedRecord {
        request_id: format!("req_{}", uuid::Uuid::new_v4().simple()),
        route: "/console/login".into(),
        status: 401,
        error_type: "authentication_error".into(),
        code: Some("invalid_admin_key".into()),
        client: None,
        key_fingerprint: Some(fingerprint),
        peer: req.peer_addr().map(|a| a.ip().to_string()),
    }
}
