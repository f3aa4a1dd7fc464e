//! The OpenAI-compatible gateway: routes, authentication, the scan -> decide -> audit -> dispatch
//! pipeline, health and metrics.

pub mod auth;
pub mod detection;
pub mod extract;
pub mod metrics;
