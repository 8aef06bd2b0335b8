//! `apiserver-doctor simulate`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor simulate`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`simulate` is not implemented yet")
}
