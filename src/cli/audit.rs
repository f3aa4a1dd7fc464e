//! `sluice audit` (being written).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {}

pub fn run(_args: AuditArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sluice audit` is not built yet")
}
