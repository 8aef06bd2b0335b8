//! Helpers the store tests share: small log-backend inputs written to files.

use std::path::{Path, PathBuf};

const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"@ID@","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"u"},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-03-01T00:00:@S@Z","stageTimestamp":"2024-03-01T00:00:@S@Z"}"#;

/// `n` list events, one per line, with audit IDs `PREFIX-0`, `PREFIX-1`, …
pub fn events(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| {
            EVENT.replace("@ID@", &format!("{prefix}-{i}")).replace("@S@", &format!("{:02}", i % 60)) + "\n"
        })
        .collect()
}

/// `text` written to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write input");
    p
}
