//! Token shapes (JWTs such as service-account tokens, `Bearer …` values, bootstrap tokens)
//! found in text and replaced: the report's last line of defence (`report::redact_report`),
//! and any message that quotes an input (a scrape's first line) before it cuts the quote.

/// What a token is replaced with.
pub const REDACTED: &str = "[REDACTED]";

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
