//! Model names as audit records, logs and metrics may carry them.
//!
//! The `model` of a request is client text, and upstreams that echo it back (vLLM, llama-server,
//! Ollama) return it in every answer: `"gpt-4o-mini-620-10-9045"` would carry an SSN into the
//! outcome record. So only names the configuration itself spells (routing's per-model tables,
//! backends' `model_map` and the embedded model's name) are recorded as they are; any other name
//! is recorded as [`UNLISTED`].

use std::collections::BTreeSet;

use crate::backend::config::BackendConfig;
use crate::config::Config;

/// What is recorded in place of a model name the configuration does not know.
pub const UNLISTED: &str = "unlisted";

#[derive(Debug, Default, Clone)]
pub struct ModelNames {
    known: BTreeSet<String>,
}

impl ModelNames {
    pub fn from_config(config: &Config) -> Self {
        let mut known: BTreeSet<String> = config.routing.models.keys().cloned().collect();
        for backend in config.backends.values() {
            match backend {
                BackendConfig::Llama(llama) => {
                    known.insert(llama.served_model_name());
                }
                BackendConfig::Openai(http) | BackendConfig::Anthropic(http) => {
                    known.extend(
                        http.model_map
                            .iter()
                            .flat_map(|(a, b)| [a.clone(), b.clone()]),
                    );
                }
                BackendConfig::Pool(pool) => {
                    known.extend(
                        pool.model_map
                            .iter()
                            .flat_map(|(a, b)| [a.clone(), b.clone()]),
                    );
                }
            }
        }
        ModelNames { known }
    }

    /// `model` if the configuration names it, else [`UNLISTED`].
    pub fn label(&self, model: &str) -> String {
        if self.known.contains(model) {
            model.to_owned()
        } else {
            UNLISTED.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_names_are_kept() {
        let config: Config = toml::from_str(
            r#"
            [backends.local]
            kind = "llama"
            model = "models/x/SmolLM2.gguf"
            [backends.cloud]
            kind = "openai"
            model_map = { "gpt-4o" = "deployment-1" }
            [routing]
            local = "local"
            cloud = "cloud"
            [routing.models."gpt-4o-mini"]
            cloud = "cloud"
            [audit]
            dir = "audit"
            "#,
        )
        .unwrap();
        let names = ModelNames::from_config(&config);
        for known in ["SmolLM2", "gpt-4o", "deployment-1", "gpt-4o-mini"] {
            assert_eq!(names.label(known), known);
        }
        assert_eq!(names.label("gpt-4o-mini-620-10-9045"), UNLISTED);
    }
}
