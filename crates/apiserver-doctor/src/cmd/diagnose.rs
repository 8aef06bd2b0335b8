//! `apiserver-doctor diagnose`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor diagnose`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor diagnose`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`diagnose` is not implemented yet")
}
