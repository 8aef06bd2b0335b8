//! What the CLI tests share: the built binary run with its cache in a directory of the test's.
// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// `apiserver-doctor ARGS` run from the workspace root, with its cache in `cache`, no colour,
/// and no store taken from the environment.
pub fn doctor(args: &[&str], cache: &Path) -> Output {
    doctor_env(args, cache, &[])
}

/// [`doctor`] with more environment variables set.
pub fn doctor_env(args: &[&str], cache: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .args(args)
        .current_dir(workspace())
        .env("XDG_CACHE_HOME", cache)
        .env("NO_COLOR", "1")
        .env_remove("APISERVER_DOCTOR_STORE")
        .envs(env.iter().copied())
        .output()
        .expect("runs")
}

/// `apiserver-doctor diagnose LOG --fail-on never` without `HOME` or `XDG_CACHE_HOME`, its
/// temporary directory `tmp`: the cache falls back to a per-user directory there.
pub fn diagnose_without_home(log: &str, tmp: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .args(["diagnose", log, "--fail-on", "never"])
        .current_dir(workspace())
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("APISERVER_DOCTOR_STORE")
        .env("TMPDIR", tmp)
        .output()
        .expect("runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A 20-node cluster simulated for 10 minutes with `scenario`, in a temporary directory.
pub fn simulate(scenario: &str, cache: &Path) -> tempfile::TempDir {
    let sim = tempfile::tempdir().expect("tempdir");
    let made = doctor(
        &[
            "simulate",
            "--out",
            sim.path().to_str().expect("utf-8"),
            "--nodes",
            "20",
            "--duration",
            "10m",
            "--scenario",
            scenario,
        ],
        cache,
    );
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    sim
}
