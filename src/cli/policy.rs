//! `sluice policy` (being written).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PolicyArgs {}

pub fn run(_args: PolicyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sluice policy` is not built yet")
}
