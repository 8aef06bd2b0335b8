//! `apiserver-doctor query`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor query`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor query`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`query` is not implemented yet")
}
