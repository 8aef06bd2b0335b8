//! `apiserver-doctor stats`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor stats`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor stats`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`stats` is not implemented yet")
}
