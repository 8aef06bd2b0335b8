//! What the CLI tests share: the built binary run with its cache in a directory of the test's.
// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// `apiserver-doctor ARGS` run from the workspace root, with its cache in `cache`, no colour,
/// and no store taken from the environment.
pub fn doctor(args: &[&str], cache: &Path) -> Output {
    doctor_env(args, cache, &[])
}

/// [`doctor`] with more environment variables set.
pub fn doctor_env(args: &[&str], cache: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Output {
    command(cache).args(args).envs(env.iter().copied()).output().expect("runs")
}

/// The binary, from the workspace root, with its cache in `cache`, no colour, and no store taken
/// from the environment.
fn command(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"));
    c.current_dir(workspace())
        .env("XDG_CACHE_HOME", cache)
        .env("NO_COLOR", "1")
        .env_remove("APISERVER_DOCTOR_STORE");
    // The probe follows kubectl's proxy variables; the runner's own must not change outputs.
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"] {
        c.env_remove(name);
    }
    c
}

/// `apiserver-doctor SUBCOMMAND ARGS` with a cache of its own, removed after (for commands that
/// read no cache).
pub fn doctor_alone(subcommand: &str, args: &[&str]) -> Output {
    let cache = tempfile::tempdir().expect("tempdir");
    command(cache.path()).arg(subcommand).args(args).output().expect("runs")
}

/// Asserts that `out` (of `what`) is a usage error: exit code 2, `says` on stderr, nothing on
/// stdout.
pub fn assert_usage_error(out: &Output, says: &str, what: &dyn std::fmt::Debug) {
    assert_eq!(out.status.code(), Some(2), "{what:?}: {}", stderr(out));
    assert!(stderr(out).contains(says), "{what:?}: {}", stderr(out));
    assert!(stdout(out).is_empty(), "{what:?}");
}

/// `apiserver-doctor ARGS` started as [`doctor`] runs it, its output piped, not waited for:
/// for runs at once.
pub fn spawn_doctor(args: &[&std::ffi::OsStr], cache: &Path) -> std::process::Child {
    command(cache)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns")
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
