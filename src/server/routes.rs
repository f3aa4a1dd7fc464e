//! The HTTP surface: the route table (the generating routes are served by `chat`), the small
//! endpoints (models, scan, health, readiness, metrics), and OpenAI-shaped 404/405 answers for
//! everything else.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::body::read_body;
use super::chat::serve;
use super::error::ApiError;
use super::front::Front;
use super::gateway::Gateway;

pub fn configure(cfg: &mut web::ServiceConfig) {
    for front in Front::ALL {
        cfg.service(
            web::resource(front.path())
                .app_data(web::Data::new(front))
                .route(web::post().to(serve))
                .default_service(web::to(method_not_allowed)),
        );
    }
    cfg.service(
        web::resource("/v1/models")
            .route(web::get().to(models))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v1/models/{model}")
            .route(web::get().to(model))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v1/scan")
            .route(web::post().to(scan))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(healthz))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(readyz))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(metrics))
            .default_service(web::to(method_not_allowed)),
    )
    .default_service(web::to(not_found));
}

// Paths and extension methods are client text (`/v1/patients/587-24-6913`): error messages name
// neither, only the routes that exist.
async fn not_found() -> HttpResponse {
    ApiError::new(
        404,
        "invalid_request_error",
        "unknown route; sluice serves /v1/chat/completions, /v1/messages, /v1/responses, /v1/completions, /v1/embeddings, /v1/scan, /v1/models, /v1/models/{model}, /healthz, /readyz and /metrics",
    )
    .with_code("unknown_route")
    .to_response()
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "this method",
    };
    ApiError::new(
        405,
        "invalid_request_error",
        format!("{method} is not allowed on this route"),
    )
    .with_code("method_not_allowed")
    .to_response()
}

async fn models(req: HttpRequest, gateway: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    gateway.authenticate_or_record(&req, "/v1/models").await?;
    let data: Vec<serde_json::Value> = gateway
        .router
        .model_names()
        .into_iter()
        .map(|id| model_object(&id))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"object": "list", "data": data})))
}

/// One served model, as `GET /v1/models` lists it (`client.models.retrieve`). An unknown name is
/// a 404 that does not repeat it: a model name is client text.
async fn model(
    req: HttpRequest,
    name: web::Path<String>,
    gateway: web::Data<Gateway>,
) -> Result<HttpResponse, ApiError> {
    gateway
        .authenticate_or_record(&req, "/v1/models/{model}")
        .await?;
    let name = name.into_inner();
    if !gateway.router.model_names().contains(&name) {
        return Err(ApiError::new(
            404,
            "invalid_request_error",
            "no such model; GET /v1/models lists the models sluice serves",
        )
        .with_code("model_not_found"));
    }
    Ok(HttpResponse::Ok().json(model_object(&name)))
}

fn model_object(id: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "object": "model", "created": 0, "owned_by": "sluice"})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanText {
    text: String,
}

/// Entities and the decision a request would get; nothing is forwarded or audited. Takes either
/// `{"text": "..."}` or a whole chat-completions request. Under a `redact` decision the answer
/// also shows what a cloud model would receive: `redacted_text` (for `{"text"}`) or
/// `redacted_request`, with the same placeholders a real request would get.
async fn scan(
    req: HttpRequest,
    payload: web::Payload,
    gateway: web::Data<Gateway>,
) -> Result<HttpResponse, ApiError> {
    let client = gateway.authenticate_or_record(&req, "/v1/scan").await?;
    let body = read_body(&req, payload, &gateway.limits).await?;
    let text = serde_json::from_slice::<ScanText>(&body).ok();
    let text_input = text.is_some();
    let body = match text {
        Some(t) => serde_json::to_vec(&serde_json::json!({
            "model": "scan", "messages": [{"role": "user", "content": t.text}]
        }))
        .map_err(|_| ApiError::bad_request("the text cannot be encoded", Some("text")))?
        .into(),
        None => body,
    };
    let judged = gateway.judge(client, body).await?;
    let d = &judged.decision;
    let units: Vec<serde_json::Value> = match &judged.entities {
        Ok(units) => judged
            .extracted
            .units
            .iter()
            .zip(units)
            .map(|(u, e)| serde_json::json!({"source": u.source, "entities": &**e}))
            .collect(),
        Err(_) => Vec::new(),
    };
    let rules: Vec<serde_json::Value> = d
        .fired
        .iter()
        .map(|f| {
            serde_json::json!({
                "policy": &*f.policy, "rule": &*f.rule, "action": f.action.as_str(), "reason": &*f.reason,
                "triggers": f.triggers.iter().map(|t| serde_json::json!({"entity_type": t.entity_type, "count": t.count})).collect::<Vec<_>>()
            })
        })
        .collect();
    let redacted = match &judged.redacted {
        Some(Ok(r)) => Some(&r.request),
        Some(Err(e)) => {
            return Err(ApiError::new(
                500,
                "server_error",
                format!("redaction failed: {e}"),
            ))
        }
        None => None,
    };
    let task = req
        .headers()
        .get(crate::route::TASK_HEADER)
        .and_then(|v| v.to_str().ok());
    let (route, route_rule) = gateway
        .router
        .route_request(d.action, &judged.request, task);
    let mut answer = serde_json::json!({
        "action": d.action.as_str(),
        "route": {
            "backend": route.as_ref().map(|r| r.primary.name()),
            "on_premise": route.as_ref().map(|r| r.primary.on_premise()),
            "rule": route_rule,
        },
        "detection_error": judged.entities.as_ref().err(),
        "policies": d.policies.iter().map(|p| serde_json::json!({"name": &*p.name, "version": &*p.version, "action": p.action.as_str()})).collect::<Vec<_>>(),
        "rules": rules,
        "units": units,
        "unscannable": judged.extracted.unscannable,
        "skipped_detectors": judged.skipped_ner.as_ref().map(|settled| {
            gateway.prose_detector_names.iter().map(|d| serde_json::json!({"detector": d, "reason": &settled.reason})).collect::<Vec<_>>()
        }).unwrap_or_default(),
    });
    if text_input {
        answer["redacted_text"] = serde_json::json!(redacted.as_ref().map(|r| r
            .messages
            .first()
            .and_then(|m| m.content.as_ref())
            .map(|c| c.text_parts().concat())));
    } else {
        answer["redacted_request"] = serde_json::json!(redacted);
    }
    Ok(HttpResponse::Ok().json(answer))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Ready when the audit log is writable, every client's policy set is loaded and the local model
/// can take requests.
async fn readyz(gateway: web::Data<Gateway>) -> HttpResponse {
    let audit = gateway.audit.is_writable();
    let snapshot = gateway.policies.snapshot();
    let policies = gateway
        .clients
        .policy_sets()
        .chain(std::iter::once(gateway.default_policies.as_slice()))
        .all(|set| snapshot.check_set(set).is_ok());
    let model = gateway.router.local_ready();
    let body = serde_json::json!({"audit_writable": audit, "policies_valid": policies, "local_model_ready": model});
    if audit && policies && model {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(gateway: web::Data<Gateway>) -> HttpResponse {
    let load = gateway.router.local_load();
    gateway.metrics.set_local_queue(load.active + load.queued);
    for backend in gateway.router.backends() {
        for member in backend.members() {
            gateway.metrics.set_pool_member(backend.name(), &member);
        }
    }
    HttpResponse::Ok()
        .content_type(super::metrics::CONTENT_TYPE)
        .body(gateway.metrics.render())
}
