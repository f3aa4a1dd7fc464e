//! The `sluice` command line: one module per subcommand, each with its clap arguments and `run`.

pub mod audit;
pub mod eval;
pub mod policy;
pub mod scan;
pub mod serve;
pub mod text_input;
