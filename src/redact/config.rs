//! `[redact]` in sluice.toml: what a `redact` decision masks and how placeholders look.
//!
//! ```toml
//! [redact]
//! placeholder = "<{type}_{n}>"   # {type}: the entity type, {n}: numbered per type and request
//! mask = "all"                    # or "policy"
//! ```
//!
//! `mask = "all"` (the default) masks every entity detected in a request that goes to a cloud
//! model under a `redact` decision, not only the types named by the `redact` rules that fired:
//! anything a detector flagged is personal data to someone, and masking more costs the model
//! little, since the answer is restored. `mask = "policy"` masks only the types the fired `redact`
//! rules name (`Decision::redact_types`), for teams that want the policy files to be the whole
//! story. Either way, `local` still wins whenever any policy says `local`.

use std::sync::Arc;

use serde::Deserialize;

use super::format::PlaceholderFormat;
use super::request::{redact_request, RedactError, RedactedRequest};
use crate::detect::Entity;
use crate::openai::extract::ScanUnit;
use crate::openai::ChatCompletionRequest;
use crate::policy::Decision;

/// Which detected entities a `redact` decision masks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskScope {
    /// Every detected entity.
    #[default]
    All,
    /// Only the entity types of the `redact` rules that fired.
    Policy,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactConfig {
    pub placeholder: PlaceholderFormat,
    pub mask: MaskScope,
}

impl RedactConfig {
    /// True if `entity` is masked under `decision`.
    pub fn masks(&self, entity: &Entity, decision: &Decision) -> bool {
        match self.mask {
            MaskScope::All => true,
            MaskScope::Policy => decision
                .redact_types
                .iter()
                .any(|t| *t == entity.entity_type),
        }
    }

    /// `request` as a cloud model may receive it under `decision` (see [`redact_request`]).
    pub fn redact(
        &self,
        request: &ChatCompletionRequest,
        units: &[ScanUnit],
        entities: &[Arc<Vec<Entity>>],
        decision: &Decision,
    ) -> Result<RedactedRequest, RedactError> {
        redact_request(
            request,
            units,
            entities,
            |e| self.masks(e, decision),
            &self.placeholder,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_defaults_and_names_bad_values() {
        let c: RedactConfig = toml::from_str("").unwrap();
        assert_eq!(c, RedactConfig::default());
        assert_eq!(c.placeholder.template(), "<{type}_{n}>");
        let c: RedactConfig =
            toml::from_str("mask = \"policy\"\nplaceholder = \"[{type}#{n}]\"").unwrap();
        assert_eq!(c.mask, MaskScope::Policy);
        assert_eq!(c.placeholder.render("URL", 3), "[URL#3]");
        assert!(toml::from_str::<RedactConfig>("mask = \"some\"").is_err());
        assert!(toml::from_str::<RedactConfig>("placeholders = \"<{type}_{n}>\"").is_err());
    }
}
