//! The output directory of a run: what a previous run left there is removed before writing, so
//! `diagnose DIR/audit` never reads a previous run's audit files beside the new ones; a
//! directory that holds anything else is refused, untouched. A file counts as a previous run's
//! only when that run's `scenario.json` (written by `apiserver-doctor simulate`) lists it and
//! its name is one a run writes: a user's own `audit/kube-apiserver-audit-007.log` in a
//! directory no run wrote is never removed.

use std::path::{Path, PathBuf};

use crate::SimulateError;

/// At most this many of the files a run did not write are named in the error.
const NAMED: usize = 8;

/// Whether `name` (relative to the output directory, `/`-separated) is a file a run writes:
/// `scenario.json`, `audit/kube-apiserver-audit-NNN.{log,json,csv}[.gz|.zst]`,
/// `metrics/{apiserver,etcd}-N.prom` and `manifests/{webhooks,apf}.yaml`.
fn written_by_a_run(name: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match name.split_once('/') {
        None => name == "scenario.json",
        Some(("audit", file)) => {
            let file = file.strip_suffix(".gz").or_else(|| file.strip_suffix(".zst")).unwrap_or(file);
            file.strip_prefix("kube-apiserver-audit-")
                .and_then(|rest| rest.split_once('.'))
                .is_some_and(|(n, ext)| number(n) && matches!(ext, "log" | "json" | "csv"))
        }
        Some(("metrics", file)) => file
            .strip_suffix(".prom")
            .and_then(|stem| stem.strip_prefix("apiserver-").or_else(|| stem.strip_prefix("etcd-")))
            .is_some_and(number),
        Some(("manifests", file)) => matches!(file, "webhooks.yaml" | "apf.yaml"),
        Some(_) => false,
    }
}

/// Prepares `out` for a run: removes the files a previous run wrote there (its audit files,
/// metrics, manifests and `scenario.json`), and returns how many. When `out` holds anything
/// else (a file or directory a run does not write, a symbolic link), nothing is removed and the
/// error names what is there.
pub fn clear_previous_run(out: &Path) -> Result<usize, SimulateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SimulateError::Io { path, source }
    };
    let listed = listed_by_previous_run(out);
    let top = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(SimulateError::Io { path: out.to_path_buf(), source: e }),
    };
    let (mut ours, mut theirs): (Vec<PathBuf>, Vec<String>) = (Vec::new(), Vec::new());
    for entry in top {
        let entry = entry.map_err(io(out))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(io(&entry.path()))?;
        if kind.is_dir() && matches!(name.as_str(), "audit" | "metrics" | "manifests") {
            for inner in std::fs::read_dir(entry.path()).map_err(io(&entry.path()))? {
                let inner = inner.map_err(io(&entry.path()))?;
                let relative = format!("{name}/{}", inner.file_name().to_string_lossy());
                let is_file = inner.file_type().map_err(io(&inner.path()))?.is_file();
                if is_file && written_by_a_run(&relative) && listed.contains(&relative) {
                    ours.push(inner.path());
                } else {
                    theirs.push(relative);
                }
            }
        } else if kind.is_file() && written_by_a_run(&name) && listed.contains(&name) {
            ours.push(entry.path());
        } else {
            theirs.push(name);
        }
    }
    if !theirs.is_empty() {
        theirs.sort();
        let more = theirs.len().saturating_sub(NAMED);
        theirs.truncate(NAMED);
        return Err(SimulateError::NotOurs {
            dir: out.to_path_buf(),
            files: theirs.join(", "),
            more: if more > 0 { format!(" and {more} more") } else { String::new() },
        });
    }
    for path in &ours {
        std::fs::remove_file(path).map_err(io(path))?;
    }
    Ok(ours.len())
}

/// The files the previous run's `scenario.json` in `out` lists (itself included), relative to
/// `out`; empty when there is none, or it is not one `apiserver-doctor simulate` wrote.
fn listed_by_previous_run(out: &Path) -> std::collections::BTreeSet<String> {
    let mut listed = std::collections::BTreeSet::new();
    let Ok(text) = std::fs::read_to_string(out.join("scenario.json")) else { return listed };
    let Ok(scenario) = serde_json::from_str::<serde_json::Value>(&text) else { return listed };
    if scenario.get("generator").and_then(|g| g.as_str()) != Some("apiserver-doctor simulate") {
        return listed;
    }
    listed.insert("scenario.json".to_owned());
    let mut add = |v: Option<&serde_json::Value>| {
        for f in v.and_then(|v| v.as_array()).into_iter().flatten() {
            if let Some(f) = f.as_str() {
                listed.insert(f.to_owned());
            }
        }
    };
    add(scenario.pointer("/audit/files"));
    add(scenario.pointer("/metrics/apiserver"));
    add(scenario.pointer("/metrics/etcd"));
    add(scenario.get("manifests"));
    listed
}

#[cfg(test)]
mod tests {
    use super::written_by_a_run;

    /// Re-review s26: a directory no run wrote, holding a user's own
    /// `audit/kube-apiserver-audit-007.log` and `scenario.json`, lost them (names alone decided).
    #[test]
    fn files_named_like_a_runs_are_kept_unless_a_previous_runs_scenario_lists_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path();
        std::fs::create_dir_all(out.join("audit")).expect("mkdir");
        std::fs::write(out.join("audit/kube-apiserver-audit-007.log"), "mine\n").expect("write");
        std::fs::write(out.join("scenario.json"), "{\"mine\": true}").expect("write");
        let refused = super::clear_previous_run(out);
        assert!(refused.is_err(), "{refused:?}");
        assert!(out.join("audit/kube-apiserver-audit-007.log").exists());
        assert!(out.join("scenario.json").exists());
        // A previous run's scenario lists what it wrote: those go, and only those.
        let scenario = serde_json::json!({
            "generator": "apiserver-doctor simulate",
            "audit": {"files": ["audit/kube-apiserver-audit-000.log"]},
            "metrics": {"apiserver": ["metrics/apiserver-1.prom"], "etcd": []},
            "manifests": [],
        });
        std::fs::write(out.join("scenario.json"), scenario.to_string()).expect("write");
        std::fs::write(out.join("audit/kube-apiserver-audit-000.log"), "run\n").expect("write");
        let refused = super::clear_previous_run(out);
        assert!(refused.is_err(), "007 is not the run's: {refused:?}");
        assert!(out.join("audit/kube-apiserver-audit-000.log").exists(), "nothing removed when refused");
        std::fs::remove_file(out.join("audit/kube-apiserver-audit-007.log")).expect("remove");
        std::fs::create_dir_all(out.join("metrics")).expect("mkdir");
        std::fs::write(out.join("metrics/apiserver-1.prom"), "x 1\n").expect("write");
        assert_eq!(super::clear_previous_run(out).expect("cleared"), 3);
        assert!(!out.join("audit/kube-apiserver-audit-000.log").exists());
        assert!(!out.join("scenario.json").exists());
    }

    #[test]
    fn the_names_a_run_writes_and_no_other() {
        for ours in [
            "scenario.json",
            "audit/kube-apiserver-audit-000.log",
            "audit/kube-apiserver-audit-012.json.gz",
            "audit/kube-apiserver-audit-1000.csv.zst",
            "metrics/apiserver-2.prom",
            "metrics/etcd-1.prom",
            "manifests/apf.yaml",
            "manifests/webhooks.yaml",
        ] {
            assert!(written_by_a_run(ours), "{ours}");
        }
        for theirs in [
            "notes.txt",
            "audit/audit.log",
            "audit/kube-apiserver-audit-.log",
            "audit/kube-apiserver-audit-000.log.bak",
            "audit/kube-apiserver-audit-000.txt",
            "metrics/node-1.prom",
            "manifests/cluster.yaml",
            "store/x",
            "audit/sub/kube-apiserver-audit-000.log",
        ] {
            assert!(!written_by_a_run(theirs), "{theirs}");
        }
    }
}
