//! The last line of defence against printing a credential: every string of the report is
//! scanned for token shapes (JWTs such as service-account tokens, `Bearer …` values,
//! bootstrap tokens) and they are replaced before any renderer sees them. Checks should
//! never put a credential in a finding; this makes sure a slip does not reach a ticket.

use findings::{Chart, Finding, Report, Table};

/// What a token is replaced with.
pub const REDACTED: &str = "[REDACTED]";

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

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

/// Length of a JWT (`eyJ….….…`) starting at `i`, if one does.
fn jwt_at(b: &[u8], i: usize) -> Option<usize> {
    if !b[i..].starts_with(b"eyJ") || (i > 0 && is_b64url(b[i - 1])) {
        return None;
    }
    let mut j = i;
    for part in 0..3 {
        let start = j;
        while j < b.len() && is_b64url(b[j]) {
            j += 1;
        }
        // Header and payload are long; an unsigned token has an empty signature.
        if part < 2 && j - start < 10 {
            return None;
        }
        if part < 2 {
            if j >= b.len() || b[j] != b'.' {
                return None;
            }
            j += 1;
        }
    }
    Some(j - i)
}

/// Length of a bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) starting at `i`, if one does.
fn bootstrap_at(b: &[u8], i: usize) -> Option<usize> {
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if i > 0 && (ok(b[i - 1]) || b[i - 1] == b'.') || b.len() < i + 23 {
        return None;
    }
    let token = &b[i..i + 23];
    let shape = token[..6].iter().all(|&c| ok(c)) && token[6] == b'.' && token[7..].iter().all(|&c| ok(c));
    let ends = b.get(i + 23).is_none_or(|&c| !ok(c) && c != b'.');
    // Both halves of a real token mix letters and digits; plain words do not.
    let mixed = |p: &[u8]| p.iter().any(u8::is_ascii_digit) && p.iter().any(u8::is_ascii_lowercase);
    (shape && ends && mixed(&token[..6]) && mixed(&token[7..])).then_some(23)
}

/// Length of the token after `Bearer ` starting at `i` (the word `Bearer` itself is kept).
fn bearer_at(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if b.len() < i + 7
        || !b[i..i + 6].eq_ignore_ascii_case(b"bearer")
        || (i > 0 && b[i - 1].is_ascii_alphanumeric())
    {
        return None;
    }
    let mut j = i + 6;
    let spaces = j;
    while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
        j += 1;
    }
    if j == spaces {
        return None;
    }
    let start = j;
    while j < b.len() && is_token_char(b[j]) {
        j += 1;
    }
    (j - start >= 8 && b[start] != REDACTED.as_bytes()[0]).then_some((start, j - start))
}

/// `s` with every token replaced, or `None` when there was none.
pub fn redact(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let hit = if let Some(len) = jwt_at(b, i) {
            Some((i, len))
        } else if let Some(len) = bootstrap_at(b, i) {
            Some((i, len))
        } else {
            bearer_at(b, i)
        };
        match hit {
            Some((start, len)) => {
                // Every match starts and ends on ASCII, so the slices are on char boundaries.
                let o = out.get_or_insert_with(String::new);
                o.push_str(&s[copied..start]);
                o.push_str(REDACTED);
                copied = start + len;
                i = copied;
            }
            None => i += 1,
        }
    }
    out.map(|mut o| {
        o.push_str(&s[copied..]);
        o
    })
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
