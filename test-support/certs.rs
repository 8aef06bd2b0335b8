//! Test certificates made with `openssl`, for the tests that run a real TLS server (etcd's, the
//! probe's). Each test file includes this file with `#[path]`; every function returns `false`
//! when openssl cannot do its part, so the caller can skip, or fail under CI.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// `openssl ARGS` in `dir`, quietly; whether it succeeded.
pub fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A self-signed CA valid `days` days: `ca.key` and `ca.crt`.
pub fn ca(dir: &Path, cn: &str, days: &str) -> bool {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            days,
            "-subj",
            &format!("/CN={cn}"),
        ],
    )
}

/// A key and a signing request for `cn`: `NAME.key` and `NAME.csr`.
pub fn request(dir: &Path, name: &str, cn: &str) -> bool {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={cn}"),
        ],
    )
}

/// The request `csr` signed by the CA into `out`, valid `days` days, with the extensions in
/// the file `ext`.
pub fn sign(dir: &Path, csr: &str, out: &str, days: &str, ext: &str) -> bool {
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            out,
            "-days",
            days,
            "-extfile",
            ext,
        ],
    )
}
