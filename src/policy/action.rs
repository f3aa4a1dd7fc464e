//! The four things a policy can decide, ordered from most to least permissive so that "the strictest
//! action wins" is simply `max`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What happens to a request. The derived order is the strictness order:
/// `Allow < Redact < Local < Block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// May go to a cloud model as is.
    Allow,
    /// May go to a cloud model with the triggering entities replaced by placeholders.
    Redact,
    /// Must stay on premises (embedded or on-premise model).
    Local,
    /// Refused.
    Block,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Allow, Action::Redact, Action::Local, Action::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::Local => "local",
            Action::Block => "block",
        }
    }

    /// Parses the lowercase name used in policy files.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:<6}` lines actions up in CLI tables.
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictness_order() {
        assert!(Action::Block > Action::Local);
        assert!(Action::Local > Action::Redact);
        assert!(Action::Redact > Action::Allow);
        assert_eq!(
            [Action::Redact, Action::Block, Action::Allow]
                .into_iter()
                .max(),
            Some(Action::Block)
        );
    }

    #[test]
    fn parses_only_lowercase_names() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("Local"), None);
        assert_eq!(Action::parse("deny"), None);
    }
}
