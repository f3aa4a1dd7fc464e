//! Policies: the compliance team's rules that turn detected entities into one decision per request.
//!
//! A policy file (policies/*.toml, documented in policies/README.md) names categories of entity
//! types, rules over them (match, co-occurrence, score and count conditions) with an action and a
//! reason, a default action, and inline test cases. Loading validates everything it can and points
//! at file:line:column for every problem ([`compile`]); a policy that does not validate is never
//! loaded. Deciding ([`decide`]) is a pure function of the entity list: several policies apply to
//! one client and the strictest action wins; a detection error can only yield `local` or `block`.
//! The gateway holds a [`PolicyStore`] that hot-reloads the directory ([`watch`]), applying only
//! files that have settled and that loosen nothing unacknowledged ([`loosening`]); `sluice policy
//! diff` ([`diff`]) shows what an edit changes on a corpus.

mod action;
pub mod cases;
pub mod compile;
pub mod decide;
pub mod diagnostic;
pub mod diff;
mod file;
pub mod loosening;
pub mod model;
pub mod settled;
pub mod store;
pub mod typeset;
pub mod watch;

pub use action::Action;
pub use compile::{compile, load, load_file};
pub use decide::{decide, Decision, FiredRule, PolicyVerdict, TypeCount};
pub use diagnostic::{Diagnostic, PolicyError};
pub use model::Policy;
pub use store::{PolicyEvent, PolicySnapshot, PolicyStore, StoreError, UnknownPolicy};
pub use watch::{spawn_reloader, Reloader};
