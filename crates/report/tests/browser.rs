//! The HTML report in a real browser: Debian's headless `chromium` loads the file from disk;
//! the test asserts that the charts and findings are in the DOM, that the inline script ran
//! to its end, that the page wrote nothing to the console (no error, no blocked fetch), and
//! keeps a screenshot. Without chromium it skips, unless `CI` or
//! `APISERVER_DOCTOR_REQUIRE_REAL` is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn require_real() -> bool {
    ["CI", "APISERVER_DOCTOR_REQUIRE_REAL"].iter().any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

/// The browser on PATH, or `None` (after saying why) when the test may skip.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    assert!(!require_real(), "chromium is not on PATH, and CI or APISERVER_DOCTOR_REQUIRE_REAL is set");
    eprintln!("skipping: chromium is not on PATH (apt-get install -y chromium)");
    None
}

struct Run {
    stdout: String,
    stderr: String,
}

/// Runs headless chromium on `page` with `extra` flags; kills it after a minute.
fn run_chromium(browser: &Path, page: &Path, extra: &[String]) -> Run {
    let profile = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("cannot make a profile directory: {e}"),
    };
    let out_dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("cannot make a temp directory: {e}"),
    };
    let (out_path, err_path) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
    let (Ok(out_file), Ok(err_file)) = (std::fs::File::create(&out_path), std::fs::File::create(&err_path))
    else {
        panic!("cannot create output files in {}", out_dir.path().display())
    };
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(out_file)
    .stderr(err_file);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot start {}: {e}", browser.display()),
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > Duration::from_secs(90) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 90 s");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("waiting for chromium: {e}"),
        }
    }
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Run { stdout: read(&out_path), stderr: read(&err_path) }
}

/// Every message the page wrote to the console (chromium logs them as `…:CONSOLE:…] "…"`).
/// Our report logs nothing, so any message at all is a failure: an error, a warning, or a
/// fetch blocked by the Content-Security-Policy.
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

fn artifact_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

fn write_page(dir: &Path, name: &str, html: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Err(e) = std::fs::write(&path, html) {
        panic!("cannot write {}: {e}", path.display());
    }
    path
}

#[test]
fn the_console_check_catches_errors_and_blocked_fetches() {
    // The detector must be able to fail: a page that throws and fetches is caught.
    let Some(browser) = chromium() else { return };
    let dir = artifact_dir();
    let page = write_page(
        &dir,
        "canary.html",
        br#"<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'"></head><body><img alt="" src="https://example.invalid/x.png"><script>throw new Error("boom-canary");</script></body></html>"#,
    );
    let run = run_chromium(&browser, &page, &["--dump-dom".to_owned()]);
    let messages = console_messages(&run.stderr);
    assert!(messages.iter().any(|m| m.contains("boom-canary")), "uncaught error not seen: {messages:?}");
    assert!(messages.iter().any(|m| m.contains("example.invalid")), "blocked fetch not seen: {messages:?}");
}

#[test]
fn html_report_loads_in_chromium_with_charts_findings_and_a_clean_console() {
    let Some(browser) = chromium() else { return };
    let dir = artifact_dir();
    let mut html = Vec::new();
    if let Err(e) = report::render_html(&common::sample_report(), &mut html) {
        panic!("rendering the HTML report failed: {e}");
    }
    let page = write_page(&dir, "report.html", &html);

    let run = run_chromium(&browser, &page, &["--dump-dom".to_owned()]);
    let dom = &run.stdout;
    assert!(
        dom.contains("data-ready=\"true\""),
        "the inline script did not run to its end; stderr:\n{}",
        run.stderr
    );
    assert_eq!(dom.matches("<svg ").count(), 4, "overview and finding charts");
    assert!(dom.contains("class=\"chart\" data-kind=\"barchart\""));
    assert!(dom.contains("class=\"chart\" data-kind=\"timechart\""));
    assert!(dom.contains("class=\"chart\" data-kind=\"columnchart\""));
    assert_eq!(dom.matches("<article class=\"finding").count(), 8);
    // Worst first in the browser's DOM too.
    let first_info = dom.find("data-severity=\"info\"").unwrap_or(usize::MAX);
    let last_critical = dom.rfind("data-severity=\"critical\"").unwrap_or(0);
    assert!(last_critical < first_info, "an info finding comes before a critical one");
    // The user agent with markup is text in the DOM, not an element.
    assert!(dom.contains("evil-agent/1.0 &lt;script&gt;"));
    assert!(!dom.contains("<script>alert"));
    let messages = console_messages(&run.stderr);
    assert!(messages.is_empty(), "the page wrote to the console:\n{}", messages.join("\n"));

    let screenshot = dir.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    let run = run_chromium(
        &browser,
        &page,
        &[format!("--screenshot={}", screenshot.display()), "--window-size=1280,4000".to_owned()],
    );
    let messages = console_messages(&run.stderr);
    assert!(messages.is_empty(), "the page wrote to the console:\n{}", messages.join("\n"));
    let png = std::fs::read(&screenshot).unwrap_or_default();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "no screenshot at {}", screenshot.display());
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(width, 1280);
    eprintln!("screenshot of the HTML report: {}", screenshot.display());
}
