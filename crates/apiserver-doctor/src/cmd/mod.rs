//! One module per subcommand: each turns its arguments into library calls and renders the result.

use std::path::PathBuf;

pub mod checks;
pub mod demo;
pub mod diagnose;
pub mod etcd;
pub mod explain;
pub mod ingest;
pub mod ingest_cache;
pub mod metrics;
pub mod probe;
pub mod progress;
pub mod query;
pub mod simulate;
pub mod stats;

/// Where the store is: `--store`, else `APISERVER_DOCTOR_STORE`, else `./apiserver-doctor-store`.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArg {
    /// The store directory.
    #[arg(
        long,
        value_name = "DIR",
        env = "APISERVER_DOCTOR_STORE",
        default_value = "apiserver-doctor-store"
    )]
    pub store: PathBuf,
}

/// True when the error is a write to a closed pipe (`apiserver-doctor … | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
