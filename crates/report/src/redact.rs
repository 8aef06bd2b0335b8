//! The last line of defence against printing a credential: every string of the report is
//! scanned for token shapes (JWTs such as service-account tokens, `Bearer …` values,
//! bootstrap tokens) and they are replaced before any renderer sees them. Checks should
//! never put a credential in a finding; this makes sure a slip does not reach a ticket.

pub use findings::redact::{REDACTED, redact};
use findings::{Chart, Finding, Report, Table};

/// A copy of the report with every token-looking string replaced by [`REDACTED`].
pub fn redact_report(report: &Report) -> Report {
    let mut r = report.clone();
    fix(&mut r.tool_version);
    for input in &mut r.inputs {
        fix(&mut input.kind);
        fix(&mut input.source);
        if let Some(d) = &mut input.detected {
            fix(d);
        }
    }
    if let Some(c) = &mut r.overview.top_clients {
        chart(c);
    }
    if let Some(c) = &mut r.overview.latency_over_time {
        chart(c);
    }
    if let Some(t) = &mut r.overview.p99_table {
        table(t);
    }
    // Notes quote inputs (a file's first line): a token there was printed in every format
    // (reports review s55, item 1).
    r.overview.notes.iter_mut().for_each(fix);
    r.findings.iter_mut().for_each(finding);
    r.checks_run.iter_mut().for_each(fix);
    r
}

fn finding(f: &mut Finding) {
    fix(&mut f.code);
    fix(&mut f.title);
    fix(&mut f.subject.kind);
    fix(&mut f.subject.name);
    fix(&mut f.summary);
    fix(&mut f.evidence.source);
    for m in &mut f.evidence.measures {
        fix(&mut m.label);
        fix(&mut m.unit);
    }
    if let Some(q) = &mut f.evidence.query {
        fix(q);
    }
    if let Some(t) = &mut f.evidence.table {
        table(t);
    }
    if let Some(c) = &mut f.evidence.chart {
        chart(c);
    }
    for t in &mut f.thresholds {
        fix(&mut t.name);
        fix(&mut t.unit);
        fix(&mut t.source);
    }
    for r in &mut f.remedies {
        fix(&mut r.title);
        fix(&mut r.body);
    }
}

fn table(t: &mut Table) {
    t.columns.iter_mut().for_each(fix);
    t.rows.iter_mut().flatten().for_each(fix);
}

fn chart(c: &mut Chart) {
    fix(&mut c.kind);
    fix(&mut c.title);
    fix(&mut c.x_label);
    fix(&mut c.y_label);
    for s in &mut c.series {
        fix(&mut s.name);
        for p in &mut s.points {
            fix(&mut p.x);
        }
    }
}

fn fix(s: &mut String) {
    if let Some(clean) = redact(s) {
        *s = clean;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

    #[test]
    fn jwts_are_replaced_wherever_they_sit() {
        let s = format!("token={JWT}; next");
        assert_eq!(redact(&s).as_deref(), Some("token=[REDACTED]; next"));
    }

    #[test]
    fn bearer_values_are_replaced_but_the_word_kept() {
        assert_eq!(
            redact("Authorization: Bearer abcdef0123456789xyz").as_deref(),
            Some("Authorization: Bearer [REDACTED]")
        );
        // Already redacted text is left alone, and so is prose.
        assert_eq!(redact("Bearer [REDACTED]"), None);
        assert_eq!(redact("the bearer of bad news"), None);
    }

    #[test]
    fn bootstrap_tokens_are_replaced_but_not_plain_words() {
        assert_eq!(
            redact("join with 07401b.f395accd246ae52d now").as_deref(),
            Some("join with [REDACTED] now")
        );
        assert_eq!(redact("kube-system.coredns-deployment"), None);
        assert_eq!(redact("apps.deployments.example.com"), None);
    }

    #[test]
    fn ordinary_report_text_is_untouched() {
        for s in [
            "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33",
            "AKSAudit | where UserAgent == \"x\"",
            "system:serviceaccount:kube-system:eyJ-not-a-token",
            "",
        ] {
            assert_eq!(redact(s), None, "{s}");
        }
    }

    #[test]
    fn multibyte_text_around_a_token_survives() {
        let s = format!("→ {JWT} ←");
        assert_eq!(redact(&s).as_deref(), Some("→ [REDACTED] ←"));
    }
}
