//! sluice: a privacy gateway for LLM traffic.
//!
//! Text is scanned by detectors ([`detect`]), judged by policy files ([`policy`]), every decision is
//! written to a hash-chained audit log ([`audit`]), and the request is served by the backend the
//! decision allows ([`backend`], [`server`]). Reviewers read that log in the browser through
//! [`console`]. The CLI in `main.rs` is a thin shell over [`cli`].

pub mod audit;
pub mod backend;
pub mod cli;
pub mod config;
pub mod console;
pub mod detect;
pub mod dialect;
pub mod eval;
pub mod openai;
pub mod policy;
pub mod quota;
pub mod redact;
pub mod route;
pub mod server;
