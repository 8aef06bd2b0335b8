//! `apiserver-doctor explain`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor explain`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor explain`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`explain` is not implemented yet")
}
