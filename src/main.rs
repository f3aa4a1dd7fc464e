//! The `sluice` binary: argument parsing and dispatch; each subcommand lives in `sluice::cli`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice::cli;

/// A privacy gateway for LLM traffic.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the OpenAI-compatible gateway.
    Serve(cli::serve::ServeArgs),
    /// Scan text for PII, PHI and secrets.
    Scan(cli::scan::ScanArgs),
    /// Check, test, explain and diff policy files.
    Policy(cli::policy::PolicyArgs),
    /// Verify and query the audit log.
    Audit(cli::audit::AuditArgs),
    /// Score detection on a labelled corpus; gate against recorded figures.
    Eval(cli::eval::EvalArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => cli::serve::run(a),
        Command::Scan(a) => cli::scan::run(a),
        Command::Policy(a) => cli::policy::run(a),
        Command::Audit(a) => cli::audit::run(a),
        Command::Eval(a) => cli::eval::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice: {e:#}");
            ExitCode::from(2)
        }
    }
}
