//! "Did you mean": the known word nearest to what a user typed. One Levenshtein distance for
//! every place that suggests a spelling (check codes, thresholds, manifest kinds, verbs).

/// The Levenshtein distance between `a` and `b`, in characters (not bytes).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The candidate nearest to `text`, compared without regard to ASCII case, if it is at most
/// `max` edits away. The first of equally near candidates wins.
pub fn nearest<'a>(text: &str, candidates: impl IntoIterator<Item = &'a str>, max: usize) -> Option<&'a str> {
    let text = text.trim().to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let d = edit_distance(&text, &candidate.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.filter(|(d, _)| *d <= max).map(|(_, c)| c)
}

/// The candidates worth suggesting for `text`, compared without regard to ASCII case: the
/// nearest when at most a third of `text`'s characters (at least one) must change, else those
/// holding `text` whole, or held whole in it (4 characters or more), up to three; none when
/// nothing is close. A suggestion at any distance misleads (UX review: `bogus_thing` got "did
/// you mean `log_gap_seconds`?").
pub fn close<'a>(text: &str, candidates: &[&'a str]) -> Vec<&'a str> {
    let typed = text.trim().to_ascii_lowercase();
    let max = (typed.chars().count() / 3).max(1);
    if let Some(n) = nearest(&typed, candidates.iter().copied(), max) {
        return vec![n];
    }
    const MIN_SHARED: usize = 4;
    let holding: Vec<&'a str> = candidates
        .iter()
        .copied()
        .filter(|c| {
            let c = c.to_ascii_lowercase();
            (typed.chars().count() >= MIN_SHARED && c.contains(&typed))
                || (c.chars().count() >= MIN_SHARED && typed.contains(&c))
        })
        .collect();
    if holding.len() <= 3 { holding } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_insertions_deletions_and_substitutions_in_characters() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("list", "list"), 0);
        assert_eq!(edit_distance("lsit", "list"), 2);
        assert_eq!(edit_distance("lst", "list"), 1);
        assert_eq!(edit_distance("lists", "list"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        // Characters, not bytes: é is one edit from e.
        assert_eq!(edit_distance("café", "cafe"), 1);
    }

    #[test]
    fn nearest_ignores_case_and_refuses_what_is_too_far() {
        let verbs = ["get", "list", "watch"];
        assert_eq!(nearest("LIST", verbs, 2), Some("list"));
        assert_eq!(nearest("lsit", verbs, 2), Some("list"));
        assert_eq!(nearest("bogus", verbs, 2), None);
        assert_eq!(nearest("wach", verbs, 2), Some("watch"));
        // The first of equally near candidates.
        assert_eq!(nearest("xet", ["get", "set"], 1), Some("get"));
    }

    /// UX review: an unknown `--config` threshold got the nearest name at any distance
    /// (`bogus_thing` → "did you mean `log_gap_seconds`?").
    #[test]
    fn a_suggestion_was_made_at_any_distance() {
        let names = ["log_gap_seconds", "p99_mutating_seconds", "min_requests", "min_errors"];
        assert_eq!(close("bogus_thing", &names), Vec::<&str>::new());
        assert_eq!(close("p99_mutatin_seconds", &names), vec!["p99_mutating_seconds"]);
        assert_eq!(close("MIN_REQUEST", &names), vec!["min_requests"]);
        // Part of a name, too far by edits, is still close.
        assert_eq!(close("gap_seconds", &names), vec!["log_gap_seconds"]);
        assert_eq!(close("min_", &names), vec!["min_requests", "min_errors"]);
        // Held in too many names to single one out.
        let four = ["mutating_seconds", "reading_seconds", "listing_seconds", "watching_seconds"];
        assert_eq!(close("seconds", &four), Vec::<&str>::new());
        assert_eq!(close("x", &names), Vec::<&str>::new());
    }
}
