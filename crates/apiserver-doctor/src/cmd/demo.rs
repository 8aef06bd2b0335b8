//! `apiserver-doctor demo`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor demo`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor demo`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`demo` is not implemented yet")
}
