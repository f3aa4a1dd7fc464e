//! The OpenAI-compatible gateway: start-up (policies, audit log, backends, clients), the HTTP
//! routes, and graceful shutdown (finish in-flight requests, then flush and checkpoint the audit
//! log).

pub mod auth;
pub mod body;
pub mod chat;
pub mod detection;
pub mod error;
pub mod events;
pub mod front;
pub mod gateway;
pub mod limits;
mod local_first;
pub mod metrics;
pub mod model_names;
pub mod routes;
pub mod routing;
pub mod seams;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use anyhow::{bail, Context};

use crate::audit::{AuditLog, PolicyLoaded, PolicyRejected};
use crate::backend::build_backend;
use crate::config::{ClientConfig, Config};
use crate::detect::Pipeline;
use crate::policy::{PolicyEvent, PolicyStore};

use auth::{Client, ClientRegistry};
use detection::DetectionService;
use gateway::Gateway;
use routing::{Router, SharedBackend};

/// A gateway that is listening.
pub struct Running {
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    gateway: web::Data<Gateway>,
    _reloader: crate::policy::Reloader,
}

impl Running {
    /// Waits until the server stops (SIGINT/SIGTERM: stop accepting, finish in-flight requests
    /// within the grace period), then closes the audit log with a final signed checkpoint.
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.server.await;
        let closed = self.gateway.audit.shutdown().await;
        served.context("server task")?.context("server")?;
        closed.context("closing the audit log")?;
        Ok(())
    }

    /// Stops the server gracefully and closes the audit log (tests and embedding).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.handle.stop(true).await;
        self.wait().await
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }
}

/// Builds the gateway from `config` and starts listening. `pipeline` is the detection pipeline
/// (built by the caller so that it can be shared or, in tests, replaced).
pub async fn start(config: Config, pipeline: Arc<Pipeline>) -> anyhow::Result<Running> {
    let policies = Arc::new(
        PolicyStore::open(&config.policies.dir)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .with_settle(Duration::from_millis(config.policies.settle_ms)),
    );
    let snapshot = policies.snapshot();
    snapshot
        .check_set(&config.policies.default_set)
        .map_err(|e| anyhow::anyhow!("[policies] default_set: {e}"))?;
    for c in &config.clients {
        if let Some(set) = &c.policies {
            snapshot
                .check_set(set)
                .map_err(|e| anyhow::anyhow!("client {:?}: {e}", c.name))?;
        }
    }
    let clients = ClientRegistry::new(
        config
            .clients
            .iter()
            .map(client)
            .collect::<anyhow::Result<_>>()?,
    );
    if clients.is_empty() {
        bail!("no [[clients]] configured: nobody could call the gateway");
    }

    let audit = AuditLog::open(&config.audit).context("opening the audit log")?;
    for p in snapshot.policies() {
        audit
            .append(PolicyLoaded {
                name: p.name.to_string(),
                version: p.version.to_string(),
                path: p.source.display().to_string(),
                rules: p.rules.len() as u32,
                acknowledged_loosening: Vec::new(),
            })
            .await
            .context("recording loaded policies in the audit log")?;
    }

    let router = build_router(&config)?;
    let detector_names = pipeline
        .detector_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let prose_detector_names = pipeline
        .prose_detector_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let gateway = web::Data::new(Gateway {
        detection: DetectionService::new(
            pipeline,
            config.server.scan_cache_entries,
            Duration::from_millis(config.server.detect_timeout_ms),
        ),
        policies: policies.clone(),
        audit: audit.clone(),
        clients,
        default_policies: config.policies.default_set.clone(),
        router,
        metrics: Default::default(),
        limits: limits::RequestLimits::from_config(&config.server),
        detector_names,
        prose_detector_names,
        skip_settled: !config.detect.ner_always,
        redact: config.redact.clone(),
        models: model_names::ModelNames::from_config(&config),
        quotas: crate::quota::Quotas::from_config(
            config
                .clients
                .iter()
                .filter_map(|c| c.limits.map(|l| (c.name.clone(), l)))
                .collect(),
            &config.limits,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
        prices: config.costs.clone(),
    });

    forward_policy_events(&policies, audit.clone(), gateway.clone());
    let reloader = crate::policy::spawn_reloader(policies.clone(), config.policies.watch)
        .context("reloading policies on change and on SIGHUP")?;

    let console = match &config.console {
        Some(c) => {
            let client_keys: Vec<[u8; 32]> = gateway.clients.key_digests().collect();
            let console = Arc::new(
                crate::console::Console::new(
                    c,
                    &config.audit,
                    audit.clone(),
                    &client_keys,
                    config.costs.clone(),
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            );
            console.warm_up();
            tracing::info!(target: "sluice::server", "compliance console at /console");
            Some(console)
        }
        None => None,
    };

    let data = gateway.clone();
    // actix counts connections per worker.
    let worker_count = match config.server.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let mut server = HttpServer::new(move || {
        let console = console.clone();
        App::new()
            .app_data(data.clone())
            .configure(move |cfg| {
                // Before the gateway's routes: its catch-all answers unknown paths.
                if let Some(console) = console {
                    crate::console::web::configure(cfg, console);
                }
            })
            .configure(routes::configure)
    })
    .shutdown_timeout(config.server.shutdown_grace_secs)
    .client_request_timeout(Duration::from_millis(config.server.header_timeout_ms))
    .max_connections(config.server.max_connections.div_ceil(worker_count).max(1))
    // Streamed tokens go out as they come: with Nagle's algorithm a small SSE event waits for the
    // client's delayed ACK of the previous write (up to 40 ms on Linux) on keep-alive connections.
    .tcp_nodelay(true)
    .bind(&config.server.listen)
    .with_context(|| format!("listening on {}", config.server.listen))?;
    if config.server.workers > 0 {
        server = server.workers(config.server.workers);
    }
    let addr = *server.addrs().first().context("no listening address")?;
    let server = server.run();
    let handle = server.handle();
    tracing::info!(target: "sluice::server", %addr, "sluice gateway listening");
    Ok(Running {
        addr,
        handle,
        server: tokio::spawn(server),
        gateway,
        _reloader: reloader,
    })
}

fn client(c: &ClientConfig) -> anyhow::Result<Client> {
    let key_sha256 = match (&c.key_sha256, &c.key_env) {
        (Some(hex), _) => auth::parse_sha256_hex(hex)
            .with_context(|| format!("client {:?}: key_sha256 is not 64 hex digits", c.name))?,
        (None, Some(var)) => match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => auth::sha256_of(key.trim()),
            _ => bail!(
                "client {:?}: the environment variable {var} (its API key) is not set",
                c.name
            ),
        },
        (None, None) => bail!("client {:?}: give key_sha256 or key_env", c.name),
    };
    Ok(Client {
        name: c.name.clone(),
        key_sha256,
        policies: c.policies.clone().unwrap_or_default(),
    })
}

/// Builds only the backends routing refers to. A cloud backend whose API key variable is unset is
/// left out, and cleared traffic is then served locally (said once, at start-up).
fn build_router(config: &Config) -> anyhow::Result<Router> {
    let mut built: BTreeMap<String, Option<SharedBackend>> = BTreeMap::new();
    let mut get = |name: &str| -> anyhow::Result<Option<SharedBackend>> {
        if let Some(b) = built.get(name) {
            return Ok(b.clone());
        }
        let cfg = config
            .backends
            .get(name)
            .with_context(|| format!("no [backends.{name}]"))?;
        let backend = match cfg.http() {
            Some(http) if !http.on_premise && missing_key(http.api_key_env.as_deref()) => {
                tracing::warn!(target: "sluice::server", backend = name,
                    "no API key in ${}: cloud backend disabled, cleared traffic will be served locally",
                    http.api_key_env.as_deref().unwrap_or("?"));
                None
            }
            _ => {
                Some(build_backend(name, cfg).map_err(|e| anyhow::anyhow!("backend {name}: {e}"))?)
            }
        };
        built.insert(name.to_owned(), backend.clone());
        Ok(backend)
    };
    let local = get(&config.routing.local)?.with_context(|| {
        format!(
            "the local backend {:?} could not be built",
            config.routing.local
        )
    })?;
    let cloud = match &config.routing.cloud {
        Some(name) => get(name)?,
        None => None,
    };
    if cloud.is_none() {
        tracing::info!(target: "sluice::server", "no cloud backend available: all traffic is served on premise");
    }
    let mut models = BTreeMap::new();
    for (model, route) in &config.routing.models {
        let c = match &route.cloud {
            Some(n) => get(n)?,
            None => None,
        };
        let l = match &route.local {
            Some(n) => get(n)?,
            None => None,
        };
        models.insert(model.clone(), (c, l));
    }
    let mut rule_targets = BTreeMap::new();
    for rule in &config.routing.rules {
        let escalate_to = rule.escalate.iter().map(|e| &e.to);
        for name in std::iter::once(&rule.to).chain(escalate_to) {
            if !rule_targets.contains_key(name) {
                rule_targets.insert(name.clone(), get(name)?);
            }
        }
    }
    let rules = crate::route::RouteRules::compile(&config.routing.rules, &config.routing.keywords)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(
        Router::new(local, cloud, models, config.routing.fallback_to_local)
            .with_rules(rules, rule_targets),
    )
}

fn missing_key(var: Option<&str>) -> bool {
    var.is_some_and(|v| std::env::var(v).map_or(true, |k| k.trim().is_empty()))
}

/// Logs and counts every policy reload event and records it in the audit log.
fn forward_policy_events(store: &Arc<PolicyStore>, audit: AuditLog, gateway: web::Data<Gateway>) {
    let mut events = store.subscribe();
    let store = store.clone();
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(target: "sluice::policy", missed = n, "policy events were missed");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let appended = match &event {
                PolicyEvent::Loaded {
                    name,
                    version,
                    file,
                    acknowledged,
                    ..
                } => {
                    events::PolicyReloaded {
                        loaded: true,
                        description: &event.to_string(),
                    }
                    .emit(&gateway.metrics);
                    let rules = store
                        .snapshot()
                        .get(name)
                        .map_or(0, |p| p.rules.len() as u32);
                    audit
                        .append(PolicyLoaded {
                            name: name.clone(),
                            version: version.clone(),
                            path: file.display().to_string(),
                            rules,
                            acknowledged_loosening: acknowledged.clone(),
                        })
                        .await
                }
                PolicyEvent::Rejected {
                    file,
                    errors,
                    loosened,
                } => {
                    events::PolicyReloaded {
                        loaded: false,
                        description: &event.to_string(),
                    }
                    .emit(&gateway.metrics);
                    audit
                        .append(PolicyRejected {
                            loosened: loosened.clone(),
                            ..PolicyRejected::new(file.display().to_string(), &errors.join("; "))
                        })
                        .await
                }
            };
            if let Err(e) = appended {
                tracing::error!(target: "sluice::policy", error = %e, "policy event could not be audited");
            }
        }
    });
}
