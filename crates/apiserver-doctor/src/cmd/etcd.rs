//! `apiserver-doctor etcd`.

use std::process::ExitCode;

/// Arguments of `apiserver-doctor etcd`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `apiserver-doctor etcd`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`etcd` is not implemented yet")
}
