//! `apiserver-doctor metrics`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor metrics`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor metrics`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`metrics` is not implemented yet")
}
