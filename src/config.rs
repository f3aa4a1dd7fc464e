//! sluice.toml: the gateway's configuration, one section per pipeline stage.
//!
//! Secrets never live in this file. Client keys are given as their sha256 (`key_sha256`) or as the
//! name of an environment variable holding the key (`key_env`); upstream API keys likewise come from
//! environment variables named in `[backends.*]`. Relative paths are relative to the directory
//! of the configuration file, so `--config /etc/sluice/sluice.toml` means the same files from any
//! working directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::audit::AuditConfig;
use crate::backend::BackendConfig;
use crate::detect::DetectConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub detect: DetectConfig,
    #[serde(default)]
    pub policies: PoliciesConfig,
    pub audit: AuditConfig,
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    pub backends: BTreeMap<String, BackendConfig>,
    pub routing: RoutingConfig,
    #[serde(default)]
    pub redact: crate::redact::RedactConfig,
    /// Where client limits are counted (`memory`, or a `redis` shared by replicas).
    #[serde(default)]
    pub limits: crate::quota::LimitsConfig,
    /// Prices for `sluice audit costs` (cloud per model, local per hour) and spend budgets.
    #[serde(default)]
    pub costs: Option<crate::audit::costs::CostConfig>,
    /// The compliance console (`/console`); off unless the section is present.
    #[serde(default)]
    pub console: Option<crate::console::ConsoleConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on; the SLUICE_LISTEN environment variable overrides it.
    pub listen: String,
    /// Request bodies over this many bytes get 413.
    pub max_body_bytes: usize,
    /// Detection that takes longer fails closed (the request is treated as sensitive).
    pub detect_timeout_ms: u64,
    /// Per-message detection results kept (by content hash) so chat histories are not rescanned.
    pub scan_cache_entries: usize,
    /// On shutdown, in-flight requests get this long to finish.
    pub shutdown_grace_secs: u64,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// A client must send its request headers within this long of connecting (408 after).
    pub header_timeout_ms: u64,
    /// A request body must arrive in full within this long (408 after): a body that trickles in
    /// or never ends does not hold a connection for ever.
    pub body_timeout_ms: u64,
    /// Open connections, all workers together; further connections wait in the listen backlog.
    pub max_connections: usize,
    /// Messages per request (400 above).
    pub max_messages: usize,
    /// Content parts per message (400 above).
    pub max_content_parts: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 10 * 1024 * 1024,
            detect_timeout_ms: 10_000,
            scan_cache_entries: 10_000,
            shutdown_grace_secs: 30,
            workers: 0,
            header_timeout_ms: 5_000,
            body_timeout_ms: 30_000,
            max_connections: 1_024,
            max_messages: 2_048,
            max_content_parts: 512,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    pub dir: PathBuf,
    /// The policy set of clients that do not name their own.
    pub default_set: Vec<String>,
    /// Reload policy files when they change (SIGHUP always reloads).
    pub watch: bool,
    /// How long a changed policy file must stay unchanged (size, modification time, contents)
    /// before a reload reads it, so that a file still being written is never loaded half-way.
    pub settle_ms: u64,
}

impl Default for PoliciesConfig {
    fn default() -> Self {
        PoliciesConfig {
            dir: PathBuf::from("policies"),
            default_set: vec!["hipaa".into(), "soc2".into()],
            watch: true,
            settle_ms: crate::policy::store::DEFAULT_SETTLE.as_millis() as u64,
        }
    }
}

/// A client of the gateway, identified by its API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub name: String,
    /// Hex sha256 of the client's key.
    #[serde(default)]
    pub key_sha256: Option<String>,
    /// Or: the environment variable that holds the key (hashed at start-up, never logged).
    #[serde(default)]
    pub key_env: Option<String>,
    /// Policy names; `[policies] default_set` when absent.
    #[serde(default)]
    pub policies: Option<Vec<String>>,
    /// Rate limits and budgets in tokens or money (429 with Retry-After beyond).
    #[serde(default)]
    pub limits: Option<crate::quota::ClientLimits>,
}

/// Which backend serves what.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The on-premise backend for sensitive (`local`) traffic.
    pub local: String,
    /// The default backend for cleared traffic; absent or without its API key: served locally.
    #[serde(default)]
    pub cloud: Option<String>,
    /// When the cloud backend fails before answering, serve cleared traffic locally instead.
    #[serde(default = "yes")]
    pub fallback_to_local: bool,
    /// Per requested model: which backends serve it (each defaults to `cloud` / `local` above).
    #[serde(default)]
    pub models: BTreeMap<String, ModelRoute>,
    /// Task-based routing of cleared traffic (`crate::route`): the first rule that holds picks
    /// the backend; sensitive traffic never consults them.
    #[serde(default)]
    pub rules: Vec<crate::route::RouteRuleConfig>,
    /// Keyword classes the rules may name.
    #[serde(default)]
    pub keywords: BTreeMap<String, crate::route::KeywordClass>,
}

/// Targets for one requested model name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRoute {
    /// Serves cleared traffic for this model.
    #[serde(default)]
    pub cloud: Option<String>,
    /// Serves sensitive traffic for this model; must be on premise.
    #[serde(default)]
    pub local: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// Reads and checks `path`. Environment overrides (SLUICE_LISTEN) are applied here.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(&text, s.start))
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: display.clone(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new("")));
        if let Ok(listen) = std::env::var("SLUICE_LISTEN") {
            if !listen.is_empty() {
                config.server.listen = listen;
            }
        }
        config.check().map_err(|message| ConfigError::Invalid {
            path: display,
            message,
        })?;
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Makes every relative file or directory path relative to `base` (the config file's
    /// directory) instead of the working directory.
    fn resolve_paths(&mut self, base: &Path) {
        let at = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        at(&mut self.policies.dir);
        let audit = &mut self.audit;
        for p in [
            &mut audit.dir,
            &mut audit.signing_key,
            &mut audit.fingerprint_key,
            &mut audit.public_key,
        ] {
            at(p);
        }
        if let Some(p) = &mut audit.anchors_file {
            at(p);
        }
        let detect = &mut self.detect;
        for p in [
            &mut detect.rules,
            &mut detect.ner_model_dir,
            &mut detect.onnxruntime,
        ] {
            at(p);
        }
        if let Some(p) = &mut detect.ner_model {
            at(p);
        }
        for backend in self.backends.values_mut() {
            if let BackendConfig::Llama(llama) = backend {
                at(&mut llama.model);
            }
        }
        for class in self.routing.keywords.values_mut() {
            if let crate::route::KeywordClass::File(p) = class {
                at(p);
            }
        }
    }

    /// Cross-section checks that serde cannot express.
    fn check(&self) -> Result<(), String> {
        self.server
            .listen
            .parse::<SocketAddr>()
            .map_err(|e| format!("[server] listen = {:?}: {e}", self.server.listen))?;
        let backend = |name: &str, key: &str| {
            self.backends
                .get(name)
                .ok_or_else(|| format!("[routing] {key} = {name:?}: no [backends.{name}] section"))
        };
        let local = backend(&self.routing.local, "local")?;
        if !is_on_premise(local) {
            return Err(format!(
                "[routing] local = {:?}: that backend is not on premise (set on_premise = true if it runs inside your network)",
                self.routing.local
            ));
        }
        if let Some(cloud) = &self.routing.cloud {
            backend(cloud, "cloud")?;
        }
        for (model, route) in &self.routing.models {
            if let Some(name) = &route.cloud {
                backend(name, &format!("models.{model:?}.cloud"))?;
            }
            if let Some(name) = &route.local {
                if !is_on_premise(backend(name, &format!("models.{model:?}.local"))?) {
                    return Err(format!(
                        "[routing.models.{model:?}] local = {name:?}: that backend is not on premise"
                    ));
                }
            }
        }
        if let Some(costs) = &self.costs {
            costs.validate()?;
        }
        for rule in &self.routing.rules {
            let to = backend(&rule.to, &format!("rules {:?} to", rule.name))?;
            if let Some(escalate) = &rule.escalate {
                backend(&escalate.to, &format!("rules {:?} escalate.to", rule.name))?;
                if !is_on_premise(to) {
                    return Err(format!(
                        "[[routing.rules]] {:?}: escalate needs an on-premise `to` that answers \
                         first; {:?} is not on premise",
                        rule.name, rule.to
                    ));
                }
                if escalate.to == rule.to {
                    return Err(format!(
                        "[[routing.rules]] {:?}: escalate.to must be another backend than `to`",
                        rule.name
                    ));
                }
            }
        }
        crate::route::RouteRules::compile(&self.routing.rules, &self.routing.keywords)?;
        let mut names = std::collections::HashSet::new();
        for c in &self.clients {
            if !names.insert(&c.name) {
                return Err(format!("[[clients]] name {:?} appears twice", c.name));
            }
            match (&c.key_sha256, &c.key_env) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(format!(
                        "client {:?}: give exactly one of key_sha256 or key_env",
                        c.name
                    ))
                }
                (Some(h), None) if crate::server::auth::parse_sha256_hex(h).is_none() => {
                    return Err(format!(
                        "client {:?}: key_sha256 must be 64 hex digits",
                        c.name
                    ))
                }
                _ => {}
            }
            if let Some(limits) = &c.limits {
                limits.validate(&c.name)?;
                let spends = limits.spend_per_day.is_some() || limits.spend_per_month.is_some();
                if spends && self.costs.is_none() {
                    return Err(format!(
                        "client {:?}: spend budgets are counted at [costs] prices; add a [costs] section",
                        c.name
                    ));
                }
            }
        }
        let l = &self.limits;
        if l.store == crate::quota::store::StoreKind::Redis
            && l.redis_url.is_none()
            && l.redis_url_env.is_none()
        {
            return Err("[limits] store = \"redis\" needs redis_url or redis_url_env".to_owned());
        }
        Ok(())
    }
}

/// Whether a backend may receive sensitive text: the embedded model always, HTTP ones when marked.
pub fn is_on_premise(backend: &BackendConfig) -> bool {
    backend.http().is_none_or(|http| http.on_premise)
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..text.floor_char_boundary(at)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
    }
}
