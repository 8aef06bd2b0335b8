//! `apiserver-doctor probe`: the network path to an API server, step by step, and its findings.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use findings::{InputSummary, Report, Thresholds};

use super::metrics::{FailOn, Output, render};

/// Arguments of `apiserver-doctor probe`.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Probe the network path to a Kubernetes API server: resolve its name, connect to every address \
(three times each), make the TLS handshake, and read /readyz?verbose (three times) and /livez?verbose. \
Every step is timed; what fails is reported with its reason and what to check. Read-only: it sends no \
credentials and changes nothing.",
    after_help = "Proxies: as kubectl, through the kubeconfig's proxy-url, else HTTPS_PROXY (HTTP_PROXY for \
http://) unless NO_PROXY names the server (a comma list of names, domains, IP addresses and CIDR ranges; `*` \
for all); never for localhost or a loopback address. The PROXY line says which proxy was taken.\n\n\
Examples:\n  apiserver-doctor probe https://myaks-dns-1a2b3c.hcp.eastus.azmk8s.io\n  \
apiserver-doctor probe https://10.0.0.4:443 --cacert ca.crt\n  \
apiserver-doctor probe  # the current kubeconfig context's server and CA\n  \
apiserver-doctor probe --context prod-aks --kubeconfig ~/.kube/config\n\n\
Exit codes: 0 nothing at or above --fail-on; 1 a finding at or above it (a step that fails, such as a name \
that does not resolve, a refused connection, a certificate not trusted or a /readyz not ok, is a finding); 2 a \
usage error: a bad URL, a --cacert that cannot be read or holds no certificate, no kubeconfig or context to \
take the server from, or a proxy setting that is not usable."
)]
pub struct Args {
    /// The API server's address (https://HOST[:PORT]); without it, the server and CA of the
    /// kubeconfig's context.
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// CA bundle (PEM) to verify the API server's certificate (the cluster's CA); without it,
    /// the kubeconfig's when the URL comes from there, else the system's CA bundle
    /// (`SSL_CERT_FILE`, else /etc/ssl/certs/ca-certificates.crt and the like; the Mozilla roots
    /// bundled with the tool when there is none). The TRUST line says which.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// The kubeconfig to take the server and CA from (default: the files of `KUBECONFIG`,
    /// merged as kubectl does, else `~/.kube/config`; when none exists, in a pod, the in-cluster
    /// configuration: KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and the service account's
    /// CA, as kubectl); used when no URL is given. Its insecure-skip-tls-verify and
    /// tls-server-name are honoured.
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME", conflicts_with = "url")]
    pub context: Option<String>,
    /// Connections to each address, and /readyz requests: a whole number from 1 to 20.
    #[arg(long, value_name = "N", default_value_t = 3, allow_negative_numbers = true, value_parser = attempts)]
    pub attempts: u32,
    /// Seconds allowed for each step: whole seconds from 1 to 120 (`5` or `5s`).
    #[arg(long, value_name = "SECONDS", default_value_t = 5, allow_hyphen_values = true, value_parser = timeout_seconds)]
    pub timeout: u64,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: Output,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_enum, default_value = "critical")]
    pub fail_on: FailOn,
}

/// `--attempts`: a whole number from 1 to 20 (clap's range parser said only "invalid digit
/// found in string" for `2.5`).
fn attempts(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n @ 1..=20) => Ok(n),
        _ => Err(format!("`{text}` is not a whole number from 1 to 20, e.g. 3")),
    }
}

/// `--timeout`: whole seconds from 1 to 120, with or without `s` (`0.5` said only "invalid
/// digit found in string", and the range was in no help).
fn timeout_seconds(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed.strip_suffix('s').unwrap_or(trimmed);
    match digits.parse::<u64>() {
        Ok(n @ 1..=120) => Ok(n),
        _ => Err(format!("`{text}` is not whole seconds from 1 to 120, e.g. 5")),
    }
}

/// The options of a probe of `url`, through the proxy kubectl would take from the environment
/// (`HTTPS_PROXY` unless `NO_PROXY` excludes the server, as Go's `ProxyFromEnvironment` does).
pub fn options(url: &str, cacert: Option<probe::Ca>, attempts: u32, timeout: u64) -> probe::ProbeOptions {
    probe::ProbeOptions {
        url: url.to_owned(),
        cacert,
        attempts,
        timeout: std::time::Duration::from_secs(timeout),
        proxy: probe::proxy::from_process_environment(url).setting,
        ..probe::ProbeOptions::default()
    }
}

/// The options of the probe, and a line saying where the server came from when not from the
/// command line.
fn target(args: &Args) -> anyhow::Result<(probe::ProbeOptions, Option<String>)> {
    if let Some(url) = &args.url {
        let cacert = args.cacert.clone().map(probe::Ca::File);
        // A proxy variable set but not applied to this server (NO_PROXY, loopback): said.
        let note = probe::proxy::from_process_environment(url).note.map(|n| format!("{n}."));
        return Ok((options(url, cacert, args.attempts, args.timeout), note));
    }
    let (paths, skip_missing) = match &args.kubeconfig {
        Some(p) => (vec![p.clone()], false),
        None => probe::kubeconfig::default_paths().unwrap_or_default(),
    };
    // No kubeconfig named and none where kubectl looks: in a pod, kubectl then takes the
    // in-cluster configuration, and so does the probe (review L5: it failed with "~/.kube/config:
    // No such file"). Not with --context, which kubectl looks for in a kubeconfig.
    if args.kubeconfig.is_none()
        && args.context.is_none()
        && paths.iter().all(|p| matches!(p.try_exists(), Ok(false)))
    {
        let missing = match paths.as_slice() {
            [] => "no KUBECONFIG, no HOME".to_owned(),
            [one] => format!("{} does not exist", one.display()),
            many => format!(
                "none of {} exists",
                many.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        };
        match probe::kubeconfig::in_cluster_from_environment() {
            Ok(Some(in_cluster)) => return in_cluster_target(args, in_cluster, &missing),
            Err(e) => anyhow::bail!(
                "no kubeconfig ({missing}), and {e} (give the API server's URL, or a kubeconfig with --kubeconfig)"
            ),
            Ok(None) if paths.is_empty() => anyhow::bail!(
                "give the API server's URL, or a kubeconfig with --kubeconfig (no KUBECONFIG, no HOME)"
            ),
            Ok(None) => {}
        }
    }
    let server = probe::kubeconfig::server_from(&paths, args.context.as_deref(), skip_missing)
        .map_err(|e| anyhow::anyhow!("{e} (or give the API server's URL)"))?;
    let mut from = format!(
        "Server and CA of context {} (cluster {}) in {}",
        server.context, server.cluster, server.files
    );
    if server.insecure {
        from.push_str(
            "\nThe kubeconfig sets insecure-skip-tls-verify: the certificate is not verified, as kubectl does not verify it (insecure).",
        );
    }
    if let Some(name) = &server.tls_server_name {
        from.push_str(&format!(
            "\nThe kubeconfig sets tls-server-name: the certificate is checked for {name}."
        ));
    }
    let mut options = options(&server.url, server.ca, args.attempts, args.timeout);
    // The cluster's proxy-url wins over the environment, as in kubectl (which then reads
    // neither HTTPS_PROXY nor NO_PROXY).
    match server.proxy {
        Some(proxy) => options.proxy = Some(proxy),
        None => {
            if let Some(note) = probe::proxy::from_process_environment(&server.url).note {
                from.push_str(&format!("\n{note}."));
            }
        }
    }
    if let Some(cacert) = &args.cacert {
        options.cacert = Some(probe::Ca::File(cacert.clone()));
    }
    // --cacert asks for verification: it overrides the kubeconfig's insecure-skip-tls-verify.
    options.insecure = server.insecure && args.cacert.is_none();
    options.tls_server_name = server.tls_server_name;
    options.allow_path = true;
    Ok((options, Some(from)))
}

/// The options of a probe of the in-cluster API server (no kubeconfig found, `missing` saying
/// why), with the service account's CA unless --cacert is given, and the line saying so.
fn in_cluster_target(
    args: &Args,
    in_cluster: probe::kubeconfig::InCluster,
    missing: &str,
) -> anyhow::Result<(probe::ProbeOptions, Option<String>)> {
    let variables =
        format!("KUBERNETES_SERVICE_HOST={}, KUBERNETES_SERVICE_PORT={}", in_cluster.host, in_cluster.port);
    let no_token = (!in_cluster.token_found).then(|| {
        format!(
            "no service account token at {}: kubectl does not use the in-cluster configuration without one (it then tries http://localhost:8080)",
            in_cluster.token.display()
        )
    });
    let ca = match (&args.cacert, in_cluster.ca) {
        (Some(cacert), _) => probe::Ca::File(cacert.clone()),
        (None, Ok(ca)) => ca,
        (None, Err(e)) => anyhow::bail!(
            "no kubeconfig ({missing}); in-cluster configuration ({variables}): {e}{} (give the cluster's CA with --cacert, or the API server's URL)",
            no_token.as_deref().map(|t| format!("; {t}")).unwrap_or_default()
        ),
    };
    let mut from = format!(
        "No kubeconfig ({missing}); in-cluster service account configuration used ({variables}), as kubectl in a pod does. The service account token is not sent: the probe sends no credentials."
    );
    if let Some(t) = no_token {
        from.push_str(&format!(
            "\nThe pod has {t}; the probe tests the path to {} all the same.",
            in_cluster.url
        ));
    }
    if let Some(note) = probe::proxy::from_process_environment(&in_cluster.url).note {
        from.push_str(&format!("\n{note}."));
    }
    Ok((options(&in_cluster.url, Some(ca), args.attempts, args.timeout), Some(from)))
}

/// The report of a probe: one input, its findings, the connectivity checks as run.
pub fn probe_report(evidence: &probe::ProbeEvidence, t: &Thresholds) -> Report {
    let reached = evidence.tcp.iter().filter(|a| a.error.is_none()).count();
    Report {
        schema_version: findings::REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        window: None,
        inputs: vec![InputSummary {
            kind: "probe".to_owned(),
            source: evidence.target.url.clone(),
            records: (evidence.tcp.len() + evidence.http.len()) as u64,
            skipped: 0,
            detected: Some(format!(
                "{reached} of {} TCP connections, {} health requests",
                evidence.tcp.len(),
                evidence.http.len()
            )),
        }],
        overview: Default::default(),
        findings: probe::checks::run(evidence, t),
        checks_run: probe::checks::infos().iter().map(|i| i.code.to_owned()).collect(),
    }
}

/// Runs `apiserver-doctor probe`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (options, from) = target(&args)?;
    // Each step said as it runs, on a terminal only (as `ingest` draws its bar): black-holed
    // addresses take --attempts × --timeout, which is long to wait in silence.
    let collected = if std::io::stderr().is_terminal() {
        probe::collect_with_progress(&options, &mut std::io::stderr())
    } else {
        probe::collect(&options)
    };
    let evidence = collected.map_err(|e| match e {
        // A CA file here is always --cacert's (the kubeconfig's CA comes as its bytes): named by
        // the option, as the other usage errors are.
        probe::ProbeError::CaFile { path, message } if matches!(options.cacert, Some(probe::Ca::File(_))) => {
            anyhow::anyhow!("--cacert {path}: {message}")
        }
        other => other.into(),
    })?;
    let report = probe_report(&evidence, &Thresholds::default());
    let code = args.fail_on.exit_code(&report);
    // A reader that stopped early (`| head`) does not change the verdict.
    super::unless_closed_pipe(write(&args, &report, &evidence, from.as_deref()))?;
    Ok(code)
}

fn write(
    args: &Args,
    report: &Report,
    evidence: &probe::ProbeEvidence,
    from: Option<&str>,
) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"report": report::json_value(report), "probe": evidence, "from": from}),
            )?;
            writeln!(out)?;
        }
        Output::Text | Output::Markdown => {
            if let Some(from) = from {
                writeln!(out, "{from}")?;
            }
            if matches!(args.output, Output::Markdown) {
                writeln!(out, "```text\n{}```\n", probe::render_steps(evidence))?;
            } else {
                writeln!(out, "{}", probe::render_steps(evidence))?;
            }
            render(report, args.output, &mut out)?;
        }
        Output::Html => {
            // The steps and their times, which text prints above the findings, as the
            // report's notes: the page shows them in its header.
            let mut report = report.clone();
            let steps = probe::render_steps(evidence);
            report.overview.notes.extend(
                from.into_iter()
                    .map(str::to_owned)
                    .chain(steps.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))),
            );
            render(&report, args.output, &mut out)?
        }
    }
    out.flush()?;
    Ok(())
}
