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
}
