//! `apiserver-doctor query` end to end: the binary over real published audit events (the
//! audit crate's fixtures), checked against counts computed here from the files themselves.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
}

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("../audit/tests/fixtures")
        .join(rel)
}

/// A real AKS Event Hub batch: 22 kube-audit records in a `{"records": [...]}` envelope.
fn eventhub() -> PathBuf {
    fixture("azure/sysdig-aks-audit-log_eventhub_records_event.json")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The events of the Event Hub fixture, read with serde_json (independently of the tool).
fn eventhub_events() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(eventhub()).expect("fixture");
    let doc: serde_json::Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).expect("fixture is JSON");
    doc["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            serde_json::from_str(r["properties"]["log"].as_str().expect("log string")).expect("log is JSON")
        })
        .collect()
}

/// CSV rows without the header (the fixtures hold no commas inside the selected fields).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines().skip(1).map(|l| l.split(',').map(|c| c.trim_matches('"').to_owned()).collect()).collect()
}

#[test]
fn guide_top_user_agents_matches_an_independent_count() {
    let q = "AKSAudit
| where TimeGenerated between(now(-1h)..now()) // When you experienced the problem
| summarize count() by UserAgent
| top 10 by count_
| project UserAgent, count_";
    let o = run(&[
        "query",
        "--input",
        eventhub().to_str().expect("utf-8 path"),
        "--now",
        "latest",
        "-o",
        "csv",
        q,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got: BTreeMap<String, i64> =
        csv_rows(&stdout(&o)).into_iter().map(|r| (r[0].clone(), r[1].parse().expect("count"))).collect();
    // Every event of the fixture is within the hour before the newest one.
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for e in eventhub_events() {
        *want.entry(e["userAgent"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    assert_eq!(got, want);
    assert!(stdout(&o).starts_with("UserAgent,count_\n"), "{}", stdout(&o));
}

#[test]
fn query_from_file_and_from_stdin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("q.kql");
    std::fs::write(&f, "KubeAudit\n| count\n").expect("writable");
    let input = eventhub();
    let input = input.to_str().expect("utf-8 path");
    let o = run(&["query", "--input", input, "-o", "csv", "-f", f.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = eventhub_events().len();
    assert_eq!(stdout(&o), format!("Count\n{n}\n"));

    let mut child = bin()
        .args(["query", "--input", input, "-o", "csv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child.stdin.take().expect("stdin").write_all(b"KubeAudit | where verb == 'get' | count").expect("writes");
    let o = child.wait_with_output().expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let gets = eventhub_events().iter().filter(|e| e["verb"] == "get").count();
    assert_eq!(stdout(&o), format!("Count\n{gets}\n"));
}

#[test]
fn json_output_is_one_array_of_objects() {
    let o = run(&[
        "query",
        "--input",
        eventhub().to_str().expect("utf-8 path"),
        "-o",
        "json",
        "KubeAudit | summarize n = count() by verb | sort by verb asc",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    let rows = v.as_array().expect("an array");
    let total: i64 = rows.iter().map(|r| r["n"].as_i64().expect("n is a number")).sum();
    assert_eq!(total as usize, eventhub_events().len());
    let verbs: Vec<&str> = rows.iter().map(|r| r["verb"].as_str().expect("verb")).collect();
    let mut sorted = verbs.clone();
    sorted.sort_unstable();
    assert_eq!(verbs, sorted);
}

#[test]
fn syntax_error_has_a_caret_and_exit_code_2() {
    let o =
        run(&["query", "--input", eventhub().to_str().expect("utf-8 path"), "KubeAudit | where verb == "]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains('^'), "{err}");
    assert!(err.contains("1:"), "names the line: {err}");
}

#[test]
fn unknown_column_suggests_the_right_one() {
    let o = run(&[
        "query",
        "--input",
        eventhub().to_str().expect("utf-8 path"),
        "AKSAudit | summarize count() by UserAgnt",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("UserAgent"), "{}", stderr(&o));
}

/// `query --input` over the Event Hub fixture with `extra` options; asserts it succeeded and
/// returns (stdout, stderr).
fn query_eventhub(extra: &[&str], q: &str) -> (String, String) {
    let input = eventhub();
    let mut args = vec!["query", "--input", input.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    args.push(q);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    (stdout(&o), stderr(&o))
}

#[test]
fn empty_time_window_explains_the_data_range_and_now_latest() {
    // The fixture is from 2020: the wall clock's last hour holds none of it.
    let (_, err) = query_eventhub(&["-o", "csv"], "AKSAudit | where TimeGenerated > ago(1h) | count");
    assert!(err.contains("--now latest"), "{err}");
    assert!(err.contains("2020-05-05"), "names the data's time range: {err}");
    assert!(err.contains("no event passed the time filter"), "{err}");
}

#[test]
fn empty_window_with_now_latest_does_not_suggest_now_latest() {
    // Pinned to the newest event, a window that ends before the data starts still keeps nothing:
    // the note says so without telling the user to pass what they already passed.
    let (_, err) = query_eventhub(&["--now", "latest"], "AKSAudit | where TimeGenerated < ago(365d) | count");
    assert!(err.contains("now() is pinned to the newest event"), "{err}");
    assert!(!err.contains("pass --now latest"), "{err}");
}

/// Bug (session 11): a query whose time window holds the data, but whose other filter keeps
/// nothing (the guide's P99 query with a user agent that is not there), was told to widen
/// its time window.
#[test]
fn no_rows_for_another_filter_does_not_blame_the_time_window() {
    let q = r#"AKSAudit | where TimeGenerated > ago(365d) | where UserAgent == "no-such-client" | summarize count() by Verb"#;
    let (out, err) = query_eventhub(&["--now", "latest"], q);
    assert!(!err.contains("time window") && !err.contains("time filter"), "{err}");
    assert!(!out.contains("get"), "no rows: {out}");
    // The same filter with a window that holds nothing still gets the note.
    let q = r#"AKSAudit | where TimeGenerated < ago(365d) | where UserAgent == "no-such-client" | summarize count() by Verb"#;
    let (_, err) = query_eventhub(&["--now", "latest"], q);
    assert!(err.contains("now() is pinned to the newest event"), "{err}");
}

#[test]
fn a_time_filter_that_keeps_rows_gives_no_note() {
    let (out, err) =
        query_eventhub(&["--now", "latest"], "AKSAudit | where TimeGenerated > ago(365d) | count");
    assert!(!err.contains("time filter"), "{err}");
    assert!(out.contains("22"), "all 22 events are in the window: {out}");
}

/// Review of issue 3/5: inputs held in memory (under 256 MiB) kept duplicates that the cached
/// store drops, so one query gave two answers: a file given twice, or concatenated with
/// itself, counted every event twice.
#[test]
fn duplicates_are_dropped_in_memory_as_the_store_drops_them() {
    let q = "AKSAudit | count";
    let input = eventhub();
    let path = input.to_str().expect("utf-8 path");
    let once = run(&["query", "--input", path, "-o", "csv", q]);
    assert!(once.status.success(), "{}", stderr(&once));
    assert_eq!(stdout(&once), "Count\n22\n");
    assert!(!stderr(&once).contains("duplicate"), "{}", stderr(&once));
    let twice = run(&["query", "--input", path, "--input", path, "-o", "csv", q]);
    assert_eq!(stdout(&twice), "Count\n22\n", "{}", stderr(&twice));
    assert!(stderr(&twice).contains("note: 22 duplicate events dropped"), "{}", stderr(&twice));
    let dir = tempfile::tempdir().expect("temp dir");
    let doubled = dir.path().join("doubled.log");
    let events: String = eventhub_events().iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&doubled, format!("{events}{events}")).expect("write");
    let both = run(&["query", "--input", doubled.to_str().expect("utf-8 path"), "-o", "csv", q]);
    assert_eq!(stdout(&both), "Count\n22\n", "{}", stderr(&both));
}

#[test]
fn big_inputs_go_through_the_cached_store_with_the_same_answer() {
    let q = "AKSAudit | summarize n = count() by Verb | order by Verb asc";
    let input = eventhub();
    let in_memory = run(&["query", "--input", input.to_str().expect("utf-8 path"), "-o", "csv", q]);
    assert!(in_memory.status.success(), "{}", stderr(&in_memory));
    let cache = tempfile::tempdir().expect("temp dir");
    let via_store = || {
        bin()
            .args(["query", "--input", input.to_str().expect("utf-8 path"), "-o", "csv", q])
            .env("APISERVER_DOCTOR_IN_MEMORY_MAX", "0")
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .expect("runs")
    };
    let first = via_store();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("reading it through a cached store"), "{}", stderr(&first));
    assert_eq!(stdout(&first), stdout(&in_memory));
    // One store (a directory), beside its lock file.
    let stores = || {
        std::fs::read_dir(cache.path().join("apiserver-doctor/stores"))
            .expect("cache")
            .flatten()
            .filter(|e| e.path().is_dir())
            .count()
    };
    assert_eq!(stores(), 1);
    // The second query reads the same cached store.
    let second = via_store();
    assert_eq!(stdout(&second), stdout(&in_memory));
    assert_eq!(stores(), 1);
}

/// `query --input INPUT -o csv --chart PATH Q`.
fn chart_query(input: &std::path::Path, path: &std::path::Path, q: &str) -> std::process::Output {
    run(&[
        "query",
        "--input",
        input.to_str().expect("utf-8 path"),
        "-o",
        "csv",
        "--chart",
        path.to_str().expect("utf-8 path"),
        q,
    ])
}

#[test]
fn render_timechart_writes_svg_and_png() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = eventhub();
    let q = "AKSAudit | summarize count() by bin(TimeGenerated, 5m), Verb | render timechart";
    for ext in ["svg", "png"] {
        let path = dir.path().join(format!("chart.{ext}"));
        let o = chart_query(&input, &path, q);
        assert!(o.status.success(), "{}", stderr(&o));
        let bytes = std::fs::read(&path).expect("chart written");
        match ext {
            "svg" => {
                let svg = String::from_utf8(bytes).expect("utf-8");
                assert!(svg.starts_with("<svg"), "{svg}");
                assert!(svg.contains("get"), "the verb series is drawn");
            }
            _ => assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n"),
        }
    }
}

/// The engine's memory limit is in force: under a limit the grouping fits only by spilling
/// (16 MiB for 60,000 groups) the answer is the same; a limit too small for even one batch
/// stops the query with a message naming the variable to raise, instead of growing without
/// bound; a limit that is not a size is refused.
#[test]
fn a_query_under_a_memory_limit_gives_the_same_answer_or_says_to_raise_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("many-ids.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    for i in 0..60_000 {
        writeln!(
            f,
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{i:08}-{:x}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"u{}"}},"userAgent":"a/{}","requestReceivedTimestamp":"2024-03-01T10:{:02}:{:02}.000000Z","stageTimestamp":"2024-03-01T10:{:02}:{:02}.100000Z"}}"#,
            i * 7919,
            i % 97,
            i % 13,
            (i / 60) % 60,
            i % 60,
            (i / 60) % 60,
            i % 60
        )
        .expect("write");
    }
    drop(f);
    let q = "AKSAudit | summarize n = count() by AuditId, UserAgent | summarize Groups = count(), Rows = sum(n), \
             Agents = dcount(UserAgent) | project Groups, Rows, Agents";
    let with_limit = |limit: &str| {
        bin()
            .args(["query", "--input", path.to_str().expect("utf-8 path"), "-o", "csv", q])
            .env("APISERVER_DOCTOR_MEMORY_LIMIT", limit)
            .output()
            .expect("runs")
    };
    let unlimited = with_limit("");
    assert!(unlimited.status.success(), "{}", stderr(&unlimited));
    assert_eq!(csv_rows(&stdout(&unlimited)), [["60000", "60000", "13"]]);
    let limited = with_limit("16M");
    assert!(limited.status.success(), "{}", stderr(&limited));
    assert_eq!(stdout(&limited), stdout(&unlimited));
    let starved = with_limit("1M");
    assert_eq!(starved.status.code(), Some(2), "{}", stdout(&starved));
    let err = stderr(&starved);
    assert!(err.contains("out of memory") && err.contains("raise APISERVER_DOCTOR_MEMORY_LIMIT"), "{err}");
    let bad = with_limit("lots");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("APISERVER_DOCTOR_MEMORY_LIMIT=\"lots\" is not a size"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_chart_file_that_is_neither_svg_nor_png_is_refused() {
    // `--chart c.jpg` silently wrote an SVG into c.jpg (ux review item 15).
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.jpg");
    let q = "AKSAudit | summarize count() by bin(TimeGenerated, 5m) | render timechart";
    let input = eventhub();
    let o = run(&[
        "query",
        "--input",
        input.to_str().expect("utf-8"),
        "--chart",
        path.to_str().expect("utf-8"),
        q,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("name a .svg or .png file"), "{}", stderr(&o));
    assert!(!path.exists());
}

#[test]
fn the_kql_reference_is_printed_by_the_binary_for_users_without_the_docs() {
    // `query --help` pointed to docs/kql.md, which someone holding only the binary lacks.
    let o = run(&["query", "--kql-reference"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("# KQL in apiserver-doctor"), "{}", stdout(&o));
    let help = stdout(&run(&["query", "--help"]));
    assert!(help.contains("--kql-reference") && !help.contains("docs/kql.md"), "{help}");
}

#[test]
fn a_store_that_does_not_exist_or_is_a_file_is_called_so() {
    // `query --store nope` said "nope: not an apiserver-doctor store"; a file gave
    // "sb/manifest.json: Not a directory (os error 20)".
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope");
    let o = run(&["query", "--store", missing.to_str().expect("utf-8"), "KubeAudit | count"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the store does not exist"), "{}", stderr(&o));
    let file = dir.path().join("sb");
    std::fs::write(&file, "x").expect("write");
    let o = run(&["query", "--store", file.to_str().expect("utf-8"), "KubeAudit | count"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a file, not a store directory"), "{}", stderr(&o));
}

#[test]
fn a_query_that_reads_no_table_runs_without_a_store() {
    // `query 'print 1'` failed on a machine with no store ("the store does not exist"),
    // though it reads none: trying out an expression needed a store first.
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope");
    let store = missing.to_str().expect("utf-8");
    let o = run(&["query", "--store", store, "print a = 40 + 2, b = strcat('x', 'y')", "-o", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "a,b\n42,xy\n");
    let o =
        run(&["query", "--store", store, "datatable(x: long) [1, 2, 3] | summarize s = sum(x)", "-o", "csv"]);
    assert_eq!(stdout(&o), "s\n6\n", "{}", stderr(&o));
    // A table of events named anywhere is the error, and nothing is created. It points at no
    // place in the query: the store, not the KQL, is wrong (UX review).
    for query in ["print 1 | join (AKSAudit | take 1) on $left.print_0 == $right.Code", "union * | count"] {
        let o = run(&["query", "--store", store, query]);
        assert_eq!(o.status.code(), Some(2), "{query}");
        let err = stderr(&o);
        assert!(err.contains("the store does not exist") && !err.contains("<query>:"), "{query}: {err}");
        assert!(stdout(&o).is_empty(), "{query}");
    }
    assert!(!missing.exists(), "a query must not create the store");
}

/// UX review: `query --input EMPTY_DIR` said "no audit event in EMPTY_DIR: nothing to query
/// (why each input was left out is said above)" with nothing said above, and it and
/// `query --store nosuch` drew a caret under the table's name, as if the KQL were wrong. The
/// empty directory is said to hold no file, "above" is said only of warnings printed, and
/// neither error points into the query.
#[test]
fn a_missing_store_or_empty_input_was_shown_as_a_query_syntax_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let empty = empty.to_str().expect("utf-8");
    let o = run(&["query", "--input", empty, "KubeAudit | count"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: no files under {empty}: nothing to query (give audit log files or a directory holding them)\n"
        )
    );
    let missing = dir.path().join("nosuch");
    let o = run(&["query", "--store", missing.to_str().expect("utf-8"), "KubeAudit | count"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: --store ") && err.contains("the store does not exist"), "{err}");
    assert!(!err.contains("<query>") && !err.contains('^'), "{err}");
    // A file that holds no event is warned about, and only then is "above" pointed to.
    let log = dir.path().join("audit.log");
    std::fs::write(&log, "").expect("write");
    let o = run(&["query", "--input", log.to_str().expect("utf-8"), "KubeAudit | count"]);
    let err = stderr(&o);
    assert!(err.contains("audit.log: no audit event in it (an empty file)\n"), "{err}");
    assert!(err.contains("nothing to query (the warning above says why)\n"), "{err}");
    assert!(!err.contains("<query>"), "{err}");
}

/// Docs review s21 item 11: `render areachart` and `scatterchart` were drawn as line charts
/// without a word; a kind drawn as asked gets no note.
#[test]
fn area_and_scatter_charts_say_they_are_drawn_as_line_charts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = eventhub();
    let path = dir.path().join("chart.svg");
    let chart = |kind: &str| {
        let q = format!("AKSAudit | summarize count() by bin(TimeGenerated, 5m) | render {kind}");
        let o = chart_query(&input, &path, &q);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    for kind in ["areachart", "scatterchart"] {
        let err = chart(kind);
        assert!(err.contains(&format!("note: `render {kind}` is drawn as a line chart")), "{kind}: {err}");
        let svg = std::fs::read_to_string(&path).expect("chart written");
        assert!(svg.contains("data-kind=\"linechart\""), "{svg}");
    }
    let err = chart("timechart");
    assert!(!err.contains("drawn as"), "{err}");
}

/// A Falco trace with a request body: a ClusterRoleBinding to cluster-admin (RequestResponse
/// level, so `requestObject` is there).
fn clusterrolebinding() -> PathBuf {
    fixture("audit/falco_k8s_audit_trace_files/attach_cluster_admin_role.json")
}

/// Review s26 (ingest, item 2): the published Sentinel query for cluster-admin bindings reads
/// `RequestObject`; over events read without bodies it answered 0 rows, exit 0, and nothing
/// said why. Now a note says the bodies are not held, and `--keep-bodies` keeps them.
#[test]
fn a_query_on_bodies_of_events_read_without_them_says_so_and_keep_bodies_keeps_them() {
    let input = clusterrolebinding();
    let path = input.to_str().expect("utf-8 path");
    let q = "AKSAudit | where tostring(RequestObject.roleRef.name) == 'cluster-admin' | count";
    let without = run(&["query", "--input", path, "-o", "csv", q]);
    assert!(without.status.success(), "{}", stderr(&without));
    assert_eq!(stdout(&without), "Count\n0\n");
    assert!(
        stderr(&without).contains("note: the query reads request or response bodies"),
        "{}",
        stderr(&without)
    );
    assert!(stderr(&without).contains("--keep-bodies"), "{}", stderr(&without));
    let with = run(&["query", "--input", path, "--keep-bodies", "-o", "csv", q]);
    assert!(with.status.success(), "{}", stderr(&with));
    assert_eq!(stdout(&with), "Count\n1\n", "{}", stderr(&with));
    assert!(!stderr(&with).contains("bodies"), "{}", stderr(&with));
    // Over the in-memory limit, the bodies go through a temporary store, never the cache.
    let cache = tempfile::tempdir().expect("temp dir");
    let big = bin()
        .args(["query", "--input", path, "--keep-bodies", "-o", "csv", q])
        .env("APISERVER_DOCTOR_IN_MEMORY_MAX", "0")
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .expect("runs");
    assert_eq!(stdout(&big), "Count\n1\n", "{}", stderr(&big));
    assert!(stderr(&big).contains("temporary store"), "{}", stderr(&big));
    assert!(!cache.path().join("apiserver-doctor/stores").exists(), "no cache store made for bodies");
    // A query that does not name the bodies gets no note.
    let plain = run(&["query", "--input", path, "-o", "csv", "AKSAudit | count"]);
    assert!(!stderr(&plain).contains("bodies"), "{}", stderr(&plain));
    // The flag needs --input: a store keeps what its ingest kept.
    let no_input = run(&["query", "--keep-bodies", q]);
    assert_eq!(no_input.status.code(), Some(2), "{}", stderr(&no_input));
}

/// Review s26 (ingest, item 5): an empty `--input` (a log just rotated) answered `Count 0`
/// with nothing on stderr, where `ingest` refuses the same file. It is warned about, and, the
/// only input, refused (exit 2; bad-input review s53, item 9), not counted as no requests.
#[test]
fn an_empty_input_file_is_warned_about_not_counted_as_no_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("audit.log");
    std::fs::write(&empty, "").expect("write");
    let o = run(&["query", "--input", empty.to_str().expect("utf-8 path"), "-o", "csv", "AKSAudit | count"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("audit.log: no audit event in it (an empty file)"), "{}", stderr(&o));
}

/// Review s26 (ingest, item 10): `-o json` wrote each row's keys sorted by name, not in the
/// order the query projects them.
#[test]
fn json_rows_keep_the_columns_in_the_query_order() {
    let input = eventhub();
    let q = "KubeAudit | take 1 | project verb, auditID, stage, Zeta = 1, alpha = 2";
    for (format, open) in [("json", "  {"), ("ndjson", "{")] {
        let o = run(&["query", "--input", input.to_str().expect("utf-8 path"), "-o", format, q]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let row = out.lines().find(|l| l.starts_with(open)).expect("a row");
        let keys: Vec<usize> = ["\"verb\"", "\"auditID\"", "\"stage\"", "\"Zeta\"", "\"alpha\""]
            .iter()
            .map(|k| row.find(k).unwrap_or_else(|| panic!("{k} in {row}")))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{format}: {row}");
        let v: serde_json::Value = serde_json::from_str(row.trim_end_matches(',')).expect("a JSON object");
        assert_eq!(v["alpha"], 2);
    }
}

/// Review s26 (ingest, item 10): `--input` read through the cached store did not say how many
/// duplicate events it dropped, as the read in memory does.
#[test]
fn input_through_the_cached_store_says_how_many_duplicates_it_dropped() {
    let cache = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let doubled = dir.path().join("doubled.log");
    let events: String = eventhub_events().iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&doubled, format!("{events}{events}")).expect("write");
    let o = bin()
        .args(["query", "--input", doubled.to_str().expect("utf-8 path"), "-o", "csv", "AKSAudit | count"])
        .env("APISERVER_DOCTOR_IN_MEMORY_MAX", "0")
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .expect("runs");
    assert_eq!(stdout(&o), "Count\n22\n", "{}", stderr(&o));
    assert!(stderr(&o).contains("note: 22 duplicate events dropped"), "{}", stderr(&o));
}

/// Docs review 27 (§10): `APISERVER_DOCTOR_IN_MEMORY_MAX=abc` was read as if unset, without a
/// word; the user who set it believed it in force.
#[test]
fn an_in_memory_max_that_is_not_a_number_is_said_and_the_default_used() {
    let input = eventhub();
    let out = bin()
        .args(["query", "--input", input.to_str().expect("utf-8 path"), "-o", "csv", "AKSAudit | count"])
        .env("APISERVER_DOCTOR_IN_MEMORY_MAX", "abc")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "APISERVER_DOCTOR_IN_MEMORY_MAX=\"abc\" is not a size (bytes, or a number with K, M, G or T, 1024-based); \
             using the default, 268435456"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("cached store"), "{}", stderr(&out));
}

/// Docs review 27 (§10): `--chart` with a query that has no `render` printed a note and exited
/// 0, so a script took the missing file for written. The table is still printed (the query
/// ran), and the exit code is 2 with the reason.
#[test]
fn a_chart_asked_of_a_query_without_render_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = eventhub();
    let path = dir.path().join("chart.svg");
    let o = chart_query(&input, &path, "AKSAudit | summarize n = count() by Verb");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the query has no `render`"), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Verb,n\n"), "{}", stdout(&o));
    assert!(!path.exists());
    let o = chart_query(&input, &path, "AKSAudit | summarize n = count() by Verb | render table");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("`render table` gives no chart here"), "{}", stderr(&o));
    assert!(!path.exists());
}

/// Review s56: `render timepivot` and `render ladderchart` with `--chart` were told "a chart
/// needs a number column" when the query had one: the kind is not drawn here, and that is said.
#[test]
fn a_kind_not_drawn_was_blamed_on_a_missing_number_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = eventhub();
    let path = dir.path().join("chart.svg");
    for kind in ["timepivot", "ladderchart"] {
        let q = format!("AKSAudit | summarize n = count() by Verb | render {kind}");
        let o = chart_query(&input, &path, &q);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("this tool does not draw `{kind}`; it draws timechart, ")), "{err}");
        assert!(!err.contains("number column"), "{err}");
        assert!(!path.exists());
    }
    // A kind drawn here, without a number column: that is the reason.
    let o = chart_query(&input, &path, "AKSAudit | project Verb | render columnchart");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a chart needs a number column to draw"), "{}", stderr(&o));
}

/// Review s56: a query returning every event held the whole result before writing a row (1.5 GB
/// for one file's hour, beyond the memory limit). CSV, JSON and NDJSON into a pipe are now
/// written as the rows come: the same rows and bytes as the held path (`-o table` holds), an
/// empty result still a header or `[]`, and the notes still said.
#[test]
fn rows_were_all_held_before_the_first_was_written() {
    let input = eventhub();
    let input = input.to_str().expect("utf-8 path");
    let all = "AKSAudit | project TimeGenerated, Verb, RequestUri | order by TimeGenerated asc";
    let csv = run(&["query", "--input", input, "-o", "csv", all]);
    assert_eq!(csv.status.code(), Some(0), "{}", stderr(&csv));
    assert!(stdout(&csv).starts_with("TimeGenerated,Verb,RequestUri\n"), "{}", stdout(&csv));
    let rows = csv_rows(&stdout(&csv));
    assert_eq!(rows.len(), eventhub_events().len());
    let ndjson = run(&["query", "--input", input, "-o", "ndjson", all]);
    let lines: Vec<serde_json::Value> =
        stdout(&ndjson).lines().map(|l| serde_json::from_str(l).expect("a JSON object a line")).collect();
    let json = run(&["query", "--input", input, "-o", "json", all]);
    let array: Vec<serde_json::Value> = serde_json::from_str(&stdout(&json)).expect("a JSON array");
    assert_eq!(lines, array);
    assert_eq!(array.len(), rows.len());
    for (row, obj) in rows.iter().zip(&array) {
        assert_eq!(obj["Verb"].as_str(), Some(row[1].as_str()), "{obj}");
    }
    // Nothing out: the header, an empty array, no line; the note on a category not there.
    let none = r#"AzureDiagnostics | where Category == "kube-apiserver" | project TimeGenerated, log_s"#;
    let o = run(&["query", "--input", input, "-o", "csv", none]);
    assert_eq!(stdout(&o), "TimeGenerated,log_s\n");
    assert!(stderr(&o).contains("note: the query selects Category \"kube-apiserver\""), "{}", stderr(&o));
    assert_eq!(stdout(&run(&["query", "--input", input, "-o", "json", none])), "[\n]\n");
    assert_eq!(stdout(&run(&["query", "--input", input, "-o", "ndjson", none])), "");
}

/// Review s40: `APISERVER_DOCTOR_IN_MEMORY_MAX=1K` was refused ("not a number of bytes") while
/// `APISERVER_DOCTOR_MEMORY_LIMIT` takes the same suffixes: it is a size now, in force.
#[test]
fn an_in_memory_max_with_a_suffix_is_a_size_in_force() {
    let input = eventhub();
    let cache = tempfile::tempdir().expect("temp dir");
    let out = bin()
        .args(["query", "--input", input.to_str().expect("utf-8 path"), "-o", "csv", "AKSAudit | count"])
        .env("APISERVER_DOCTOR_IN_MEMORY_MAX", "1K")
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("is not a size"), "{}", stderr(&out));
    // The fixture is larger than 1 KiB: read through a store, as the limit says.
    assert!(stderr(&out).contains("reading it through a cached store"), "{}", stderr(&out));
}

/// Review s40: `echo Q | query --input -` took standard input for the query, then read no
/// events from it. The query and the events cannot both come from standard input: refused.
#[test]
fn the_query_and_the_events_cannot_both_come_from_standard_input() {
    let mut child = bin()
        .args(["query", "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    if let Some(mut stdin) = child.stdin.take() {
        // The child may refuse before reading: a closed pipe is fine.
        let _ = stdin.write_all(b"AKSAudit | count\n");
    }
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--input - reads the events from standard input, so the query cannot come from it too"),
        "{}",
        stderr(&out)
    );
}

/// Bad-input review s53, item 9: `query --input` of files none of which holds an audit event
/// (random bytes, a /metrics scrape, an empty file) answered `Count 0` with exit 0, so a script
/// asking how many requests failed got 0 and success. It is an input error (exit 2), as in
/// `ingest` and `diagnose`; one usable file among them still answers.
#[test]
fn query_input_of_only_unusable_files_answered_0_with_exit_0() {
    let dir = tempfile::tempdir().expect("tmp");
    let scrape = dir.path().join("apiserver.prom");
    std::fs::write(
        &scrape,
        "# TYPE apiserver_storage_objects gauge\napiserver_storage_objects{resource=\"pods\"} 12\n",
    )
    .expect("write");
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").expect("write");
    let (scrape, empty) = (scrape.display().to_string(), empty.display().to_string());
    let out = run(&["query", "--input", &scrape, "--input", &empty, "KubeAudit | count"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("error: no audit event in {scrape}, {empty}: nothing to query")), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // A query that reads no events still runs (review s53b, item 11).
    let out = run(&["query", "--input", &empty, "print x = 1", "-o", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "x\n1\n");
    let good = eventhub().display().to_string();
    let out = run(&["query", "--input", &scrape, "--input", &good, "KubeAudit | count", "-o", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().nth(1), Some(eventhub_events().len().to_string().as_str()));
}

/// Review: `query --now -1h` was clap's "unexpected argument '-1' found", where `diagnose --now
/// -1h` already named the option and the forms it takes. Now the same, with exit code 2.
#[test]
fn a_now_starting_with_a_minus_was_taken_for_an_unexpected_argument() {
    let out =
        run(&["query", "--input", eventhub().to_str().expect("utf-8"), "--now", "-1h", "KubeAudit | count"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--now -1h: expected `latest` or a datetime"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("unexpected argument"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}
