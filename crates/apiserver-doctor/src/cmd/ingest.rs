//! `apiserver-doctor ingest`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor ingest`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor ingest`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`ingest` is not implemented yet")
}
