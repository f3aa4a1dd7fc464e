//! Which backend serves a request, given the decision and the requested model.
//!
//! `local` decisions go to an on-premise backend whatever model was asked for; cleared traffic
//! (`allow`, and `redact`, which reaches the cloud only as rewritten with placeholders) goes where
//! the first task rule that holds says (`crate::route`), else to the model's cloud target, or stays
//! local when no cloud backend is usable (no API key). A cloud
//! failure before the first byte may fall back to local (it only tightens privacy); nothing ever
//! falls back from local to cloud. `local` wins over `redact` in the decision itself (strictest
//! action of all policies), before routing.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::Backend;
use crate::openai::ChatCompletionRequest;
use crate::policy::Action;
use crate::route::escalate::Escalation;
use crate::route::{Features, RouteRules};

pub type SharedBackend = Arc<dyn Backend>;

#[derive(Clone)]
struct Targets {
    cloud: Option<SharedBackend>,
    local: SharedBackend,
}

/// The routing table built at start-up.
#[derive(Clone)]
pub struct Router {
    default: Targets,
    models: BTreeMap<String, Targets>,
    fallback_to_local: bool,
    rules: Arc<RouteRules>,
    /// The backends rules name (`to`, `escalate.to`), by backend name; `None` when it is a cloud
    /// backend left out for want of an API key (the rule's traffic is then served locally, as
    /// all cleared traffic would be, and not escalated).
    rule_targets: BTreeMap<String, Option<SharedBackend>>,
}

/// Where to send a request.
#[derive(Clone)]
pub struct Route {
    pub primary: SharedBackend,
    /// Tried when `primary` (a cloud backend) fails before answering.
    pub fallback: Option<SharedBackend>,
    /// Local first: `primary` (on premise) answers, and an unsure answer goes on to this.
    pub escalation: Option<LocalFirst>,
}

/// A cleared request's escalation: the check, and where an unsure answer's request goes.
#[derive(Clone)]
pub struct LocalFirst {
    pub check: Arc<Escalation>,
    pub to: SharedBackend,
}

impl Router {
    /// `cloud` is `None` when no cloud backend is usable; per-model targets override the defaults.
    pub fn new(
        local: SharedBackend,
        cloud: Option<SharedBackend>,
        models: BTreeMap<String, (Option<SharedBackend>, Option<SharedBackend>)>,
        fallback_to_local: bool,
    ) -> Self {
        let default = Targets { cloud, local };
        let models = models
            .into_iter()
            .map(|(name, (cloud, local))| {
                let targets = Targets {
                    cloud: cloud.or_else(|| default.cloud.clone()),
                    local: local.unwrap_or_else(|| default.local.clone()),
                };
                (name, targets)
            })
            .collect();
        Router {
            default,
            models,
            fallback_to_local,
            rules: Arc::new(RouteRules::default()),
            rule_targets: BTreeMap::new(),
        }
    }

    /// Adds task rules and the backends they name (by backend name).
    pub fn with_rules(
        mut self,
        rules: RouteRules,
        targets: BTreeMap<String, Option<SharedBackend>>,
    ) -> Self {
        self.rules = Arc::new(rules);
        self.rule_targets = targets;
        self
    }

    /// The route for a decided request (with its client's `x-sluice-task` hint), and the task
    /// rule that chose it. Rules are consulted for cleared traffic only: `local` and `block`
    /// decisions never see them, and without rules nothing is computed.
    pub fn route_request(
        &self,
        action: Action,
        request: &ChatCompletionRequest,
        task: Option<&str>,
    ) -> (Option<Route>, Option<String>) {
        if matches!(action, Action::Allow | Action::Redact) && !self.rules.is_empty() {
            let features = Features::of(request, task);
            if let Some(chosen) = self.rules.choose(&features) {
                let local = self
                    .models
                    .get(features.model)
                    .unwrap_or(&self.default)
                    .local
                    .clone();
                let named = |name: &str| self.rule_targets.get(name).cloned().flatten();
                let route = match named(chosen.to) {
                    Some(target) if !target.on_premise() => Route {
                        primary: target,
                        fallback: self.fallback_to_local.then_some(local),
                        escalation: None,
                    },
                    Some(target) => Route {
                        primary: target,
                        fallback: None,
                        escalation: chosen.escalation.and_then(|check| {
                            Some(LocalFirst {
                                to: named(&check.to)?,
                                check: Arc::clone(check),
                            })
                        }),
                    },
                    None => Route {
                        primary: local,
                        fallback: None,
                        escalation: None,
                    },
                };
                return (Some(route), Some(chosen.rule.to_owned()));
            }
        }
        (self.route(action, &request.model), None)
    }

    /// The route for a decided request; `None` for `block`.
    pub fn route(&self, action: Action, model: &str) -> Option<Route> {
        let targets = self.models.get(model).unwrap_or(&self.default);
        match action {
            Action::Block => None,
            Action::Local => Some(Route {
                primary: targets.local.clone(),
                fallback: None,
                escalation: None,
            }),
            // The dispatcher rewrites a `redact` request before it goes off premise and restores
            // the answer; a local fallback receives the original, as on-premise backends may.
            Action::Allow | Action::Redact => match &targets.cloud {
                Some(cloud) => Some(Route {
                    primary: cloud.clone(),
                    fallback: (self.fallback_to_local && !cloud.on_premise())
                        .then(|| targets.local.clone()),
                    escalation: None,
                }),
                None => Some(Route {
                    primary: targets.local.clone(),
                    fallback: None,
                    escalation: None,
                }),
            },
        }
    }

    /// Model names clients may ask for, for `/v1/models`.
    pub fn model_names(&self) -> Vec<String> {
        self.models.keys().cloned().collect()
    }

    /// Every backend the table can route to, once each.
    pub fn backends(&self) -> Vec<SharedBackend> {
        let targets = std::iter::once(&self.default).chain(self.models.values());
        let mut all: Vec<SharedBackend> = targets
            .flat_map(|t| std::iter::once(t.local.clone()).chain(t.cloud.clone()))
            .chain(self.rule_targets.values().flatten().cloned())
            .collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all.dedup_by(|a, b| a.name() == b.name());
        all
    }

    /// How busy the default local backend is.
    pub fn local_load(&self) -> crate::backend::BackendLoad {
        self.default.local.load()
    }

    /// Whether the default local backend can take requests (readiness).
    pub fn local_ready(&self) -> bool {
        self.default.local.ready()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendError, BackendReply};
    use crate::openai::ChatCompletionRequest;
    use futures_util::future::BoxFuture;

    /// Routing only looks at names and placement.
    struct Placed(&'static str, bool);

    impl Backend for Placed {
        fn name(&self) -> &str {
            self.0
        }
        fn on_premise(&self) -> bool {
            self.1
        }
        fn chat(
            &self,
            _: ChatCompletionRequest,
        ) -> BoxFuture<'_, Result<BackendReply, BackendError>> {
            Box::pin(async { Err(BackendError::Cancelled) })
        }
    }

    fn router(cloud: bool) -> Router {
        let local: SharedBackend = Arc::new(Placed("local", true));
        let cloud: Option<SharedBackend> =
            cloud.then(|| Arc::new(Placed("cloud", false)) as SharedBackend);
        Router::new(local, cloud, BTreeMap::new(), true)
    }

    fn names(route: Option<Route>) -> Option<(String, Option<String>)> {
        route.map(|r| {
            (
                r.primary.name().to_owned(),
                r.fallback.map(|f| f.name().to_owned()),
            )
        })
    }

    #[test]
    fn redact_goes_to_the_cloud_like_allow_and_local_stays() {
        let r = router(true);
        let cloud = Some(("cloud".to_owned(), Some("local".to_owned())));
        assert_eq!(names(r.route(Action::Allow, "m")), cloud);
        assert_eq!(names(r.route(Action::Redact, "m")), cloud);
        assert_eq!(
            names(r.route(Action::Local, "m")),
            Some(("local".to_owned(), None))
        );
        assert_eq!(names(r.route(Action::Block, "m")), None);
    }

    #[test]
    fn task_rules_steer_cleared_traffic_only() {
        #[derive(serde::Deserialize)]
        struct R {
            rules: Vec<crate::route::RouteRuleConfig>,
        }
        let r: R = toml::from_str(
            "[[rules]]\nname = \"hint-cloud\"\nwhen = { task = [\"reason\"] }\nto = \"cloud\"\n\
             [[rules]]\nname = \"hint-local\"\nwhen = { task = [\"classify\"] }\nto = \"local\"",
        )
        .unwrap();
        let local: SharedBackend = Arc::new(Placed("local", true));
        let cloud: SharedBackend = Arc::new(Placed("cloud", false));
        let targets = BTreeMap::from([
            ("cloud".to_owned(), Some(cloud.clone())),
            ("local".to_owned(), Some(local.clone())),
        ]);
        let router = Router::new(local, Some(cloud), BTreeMap::new(), true).with_rules(
            RouteRules::compile(&r.rules, &BTreeMap::new()).unwrap(),
            targets,
        );
        let request: crate::openai::ChatCompletionRequest = serde_json::from_value(
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
        )
        .unwrap();
        let (route, rule) = router.route_request(Action::Allow, &request, Some("classify"));
        assert_eq!(names(route), Some(("local".to_owned(), None)));
        assert_eq!(rule.as_deref(), Some("hint-local"));
        // A rule naming the cloud never takes a sensitive request there.
        let (route, rule) = router.route_request(Action::Local, &request, Some("reason"));
        assert_eq!(names(route), Some(("local".to_owned(), None)));
        assert_eq!(rule, None);
        let (route, rule) = router.route_request(Action::Block, &request, Some("reason"));
        assert!(route.is_none() && rule.is_none());
        let (route, rule) = router.route_request(Action::Redact, &request, Some("reason"));
        assert_eq!(
            names(route),
            Some(("cloud".to_owned(), Some("local".to_owned())))
        );
        assert_eq!(rule.as_deref(), Some("hint-cloud"));
    }

    #[test]
    fn without_a_cloud_redact_is_served_on_premise() {
        let r = router(false);
        assert_eq!(
            names(r.route(Action::Redact, "m")),
            Some(("local".to_owned(), None))
        );
    }
}
