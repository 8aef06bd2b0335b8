//! `apiserver-doctor checks`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor checks`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor checks`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`checks` is not implemented yet")
}
