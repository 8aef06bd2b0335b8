//! How wide text is drawn, and labels cut to fit it that stay apart: two names that share
//! their start and their end (`…:pv-protection-controller`, `…:pvc-protection-controller`)
//! must not get the same label in one chart or table.
//!
//! Widths come from a measure of one character: terminal columns for text, pixels for SVG
//! ([`advance_em`] times the font size).

use std::collections::BTreeMap;

/// The width of one character, in the unit of the budget (columns or pixels).
pub(crate) type Measure<'a> = &'a dyn Fn(char) -> f64;

/// Terminal columns of a character (0 for combining marks, 2 for wide East Asian ones).
pub(crate) fn columns(c: char) -> f64 {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) as f64
}

/// The advance of `c` in DejaVu Sans (Bold when `bold`), in ems: the font the SVG asks for
/// first and the PNG embeds. Characters outside its Latin table count 1 em (a CJK glyph of a
/// fallback font is 1 em; Greek and Cyrillic capitals up to 1.2), a little more in bold.
pub(crate) fn advance_em(c: char, bold: bool) -> f64 {
    let table = if bold { &BOLD } else { &REGULAR };
    let units = (c as usize).checked_sub(0x20).and_then(|i| table.get(i)).copied().unwrap_or(0);
    if units > 0 {
        return f64::from(units) / 2048.0;
    }
    match unicode_width::UnicodeWidthChar::width(c) {
        Some(0) => 0.0,
        Some(2) => 1.0,
        _ if bold => 1.15,
        _ => 1.0,
    }
}

/// The width of `s` under `measure`.
pub(crate) fn width(s: &str, measure: Measure) -> f64 {
    s.chars().map(measure).sum()
}

/// Float sums of pixel widths must not cut a label that fits exactly.
const SLACK: f64 = 1e-6;

/// `s` cut to at most `max`, ending with `…` when it was cut.
pub(crate) fn cut_end(s: &str, max: f64, measure: Measure) -> String {
    if width(s, measure) <= max + SLACK {
        return s.to_owned();
    }
    let ellipsis = measure('…');
    let mut out = String::new();
    let mut used = 0.0;
    for c in s.chars() {
        let w = measure(c);
        if used + w + ellipsis > max + SLACK {
            break;
        }
        out.push(c);
        used += w;
    }
    if max + SLACK >= ellipsis {
        out.push('…');
    }
    out
}

/// `s` cut to at most `max` by taking out its middle (`…` in its place): a third of the room
/// for its start, the rest for its end, where names usually differ. Below about five
/// characters of room it is cut at its end instead.
pub(crate) fn cut_middle(s: &str, max: f64, measure: Measure) -> String {
    if width(s, measure) <= max + SLACK || max < 5.0 * measure('n') {
        return cut_end(s, max, measure);
    }
    let chars: Vec<char> = s.chars().collect();
    let ellipsis = measure('…');
    let head_max = ((max - ellipsis) / 3.0).max(0.0);
    let mut head = 0;
    let mut used = 0.0;
    while head < chars.len() && used + measure(chars[head]) <= head_max + SLACK {
        used += measure(chars[head]);
        head += 1;
    }
    let mut tail = chars.len();
    while tail > head && used + ellipsis + measure(chars[tail - 1]) <= max + SLACK {
        used += measure(chars[tail - 1]);
        tail -= 1;
    }
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[tail..]);
    out
}

/// `s` cut to at most `max` so that character `at` (where it differs from a name it would
/// otherwise look the same as) stays visible, with a little of what comes before it: its
/// start, a window around `at`, its end, `…` between them. `None` when the window does not fit.
fn cut_around(s: &str, at: usize, max: f64, measure: Measure) -> Option<String> {
    if width(s, measure) <= max + SLACK {
        return Some(s.to_owned());
    }
    let chars: Vec<char> = s.chars().collect();
    let at = at.min(chars.len());
    let room = max - 2.0 * measure('…');
    if room <= 0.0 {
        return None;
    }
    // The window: half the room, up to a third of it before `at`.
    let window_room = room / 2.0;
    let (mut start, mut end, mut used) = (at, at, 0.0);
    while start > 0 && used + measure(chars[start - 1]) <= window_room / 3.0 + SLACK {
        start -= 1;
        used += measure(chars[start]);
    }
    while end < chars.len() && used + measure(chars[end]) <= window_room + SLACK {
        used += measure(chars[end]);
        end += 1;
    }
    if at < chars.len() && end <= at {
        return None;
    }
    // At the end of the name: the rest of the window's room before it.
    while start > 0 && used + measure(chars[start - 1]) <= window_room + SLACK {
        start -= 1;
        used += measure(chars[start]);
    }
    // The start gets a third of what is left, the end the rest.
    let head_room = (room - used) / 3.0;
    let (mut head, mut head_used) = (0, 0.0);
    while head < start && head_used + measure(chars[head]) <= head_room + SLACK {
        head_used += measure(chars[head]);
        head += 1;
    }
    let mut used = used + head_used;
    let mut tail = chars.len();
    while tail > end && used + measure(chars[tail - 1]) <= room + SLACK {
        used += measure(chars[tail - 1]);
        tail -= 1;
    }
    let mut out = String::new();
    let mut last = 0;
    for (from, to) in [(0, head), (start, end), (tail, chars.len())] {
        if from >= to {
            continue;
        }
        if from > last {
            out.push('…');
        }
        out.extend(&chars[from..to]);
        last = to;
    }
    if last < chars.len() {
        out.push('…');
    }
    Some(out)
}

/// Groups of indices whose labels are equal although their names are not, in label order.
fn clashes(names: &[String], labels: &[String]) -> Vec<Vec<usize>> {
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, label) in labels.iter().enumerate() {
        by_label.entry(label.as_str()).or_default().push(i);
    }
    by_label.into_values().filter(|group| group.iter().any(|&i| names[i] != names[group[0]])).collect()
}

/// Length in characters of the start all of `names` share.
fn common_start<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    let mut names = names.map(|n| n.chars().collect::<Vec<char>>());
    let Some(first) = names.next() else { return 0 };
    names.fold(first.len(), |len, n| first.iter().zip(&n).take(len).take_while(|(a, b)| a == b).count())
}

/// Each name cut in its middle to its budget ([`cut_middle`]), and different names always
/// with different labels: where two cuts come out the same, each keeps the part where the
/// names differ ([`cut_around`]); where even that is the same, each gets a number (` #1`,
/// ` #2`, in the order of the names). Equal names keep equal labels.
pub(crate) fn distinct(names: &[String], budgets: &[f64], measure: Measure) -> Vec<String> {
    let budget = |i: usize| budgets.get(i).copied().unwrap_or(0.0);
    let mut labels: Vec<String> =
        names.iter().enumerate().map(|(i, n)| cut_middle(n, budget(i), measure)).collect();
    // A group of three can need a second round: two of them may share more than all three.
    for _ in 0..3 {
        let groups = clashes(names, &labels);
        if groups.is_empty() {
            return labels;
        }
        for group in groups {
            let at = common_start(group.iter().map(|&i| names[i].as_str()));
            for &i in &group {
                if let Some(label) = cut_around(&names[i], at, budget(i), measure) {
                    labels[i] = label;
                }
            }
        }
    }
    for group in clashes(names, &labels) {
        let mut seen: Vec<&str> = Vec::new();
        for &i in &group {
            let number = match seen.iter().position(|n| *n == names[i]) {
                Some(k) => k + 1,
                None => {
                    seen.push(&names[i]);
                    seen.len()
                }
            };
            let mark = format!(" #{number}");
            let room = (budget(i) - width(&mark, measure)).max(0.0);
            let label = format!("{}{mark}", cut_middle(&names[i], room, measure));
            labels[i] = cut_end(label.trim_start(), budget(i), measure);
        }
    }
    labels
}

/// `s` in lines of at most `max`, broken at spaces, in at most `max_lines` lines: the last is
/// cut with `…` when the text goes on; a word longer than a line is cut too.
pub(crate) fn wrap(s: &str, max: f64, max_lines: usize, measure: Measure) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        if line.is_empty() {
            line = word.to_owned();
        } else if width(&line, measure) + measure(' ') + width(word, measure) <= max + SLACK
            || lines.len() + 1 >= max_lines.max(1)
        {
            // The last line takes the rest, to be cut below.
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.iter().map(|l| cut_end(l, max, measure)).collect()
}

/// DejaVu Sans advances of U+0020 to U+017F in 2048ths of an em (0: no glyph).
#[rustfmt::skip]
const REGULAR: [u16; 352] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087,
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612,
    1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024,
    1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253,
    1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    651, 821, 1303, 1303, 1303, 1303, 690, 1024, 1024, 2048, 965, 1253, 1716, 739, 2048, 1024,
    1024, 1716, 821, 821, 1024, 1303, 1303, 651, 1024, 821, 965, 1253, 1985, 1985, 1985, 1087,
    1401, 1401, 1401, 1401, 1401, 1401, 1995, 1430, 1294, 1294, 1294, 1294, 604, 604, 604, 604,
    1587, 1532, 1612, 1612, 1612, 1612, 1612, 1716, 1612, 1499, 1499, 1499, 1499, 1251, 1239, 1290,
    1255, 1255, 1255, 1255, 1255, 1255, 2011, 1126, 1260, 1260, 1260, 1260, 569, 569, 569, 569,
    1253, 1298, 1253, 1253, 1253, 1253, 1253, 1716, 1253, 1298, 1298, 1298, 1298, 1212, 1300, 1212,
    1401, 1255, 1401, 1255, 1401, 1255, 1430, 1126, 1430, 1126, 1430, 1126, 1430, 1126, 1577, 1300,
    1587, 1300, 1294, 1260, 1294, 1260, 1294, 1260, 1294, 1260, 1294, 1260, 1587, 1300, 1587, 1300,
    1587, 1300, 1587, 1300, 1540, 1298, 1876, 1423, 604, 569, 604, 569, 604, 569, 604, 569,
    604, 569, 1208, 1138, 604, 569, 1343, 1186, 1186, 1141, 569, 1141, 569, 1141, 768, 1141,
    700, 1151, 582, 1532, 1298, 1532, 1298, 1532, 1298, 1666, 1532, 1298, 1612, 1253, 1612, 1253,
    1612, 1253, 2191, 2095, 1423, 842, 1423, 842, 1423, 842, 1300, 1067, 1300, 1067, 1300, 1067,
    1300, 1067, 1251, 803, 1251, 803, 1251, 803, 1499, 1298, 1499, 1298, 1499, 1298, 1499, 1298,
    1499, 1298, 1499, 1298, 2025, 1675, 1251, 1212, 1251, 1403, 1075, 1403, 1075, 1403, 1075, 721,
];
/// DejaVu Sans Bold advances of U+0020 to U+017F in 2048ths of an em (0: no glyph).
#[rustfmt::skip]
const BOLD: [u16; 352] = [
    713, 934, 1067, 1716, 1425, 2052, 1786, 627, 936, 936, 1071, 1716, 778, 850, 778, 748,
    1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 819, 819, 1716, 1716, 1716, 1188,
    2048, 1585, 1561, 1503, 1700, 1399, 1399, 1681, 1714, 762, 762, 1587, 1305, 2038, 1714, 1741,
    1501, 1741, 1577, 1475, 1397, 1663, 1585, 2259, 1579, 1483, 1485, 936, 748, 936, 1716, 1024,
    1024, 1382, 1466, 1214, 1466, 1389, 891, 1466, 1458, 702, 702, 1362, 702, 2134, 1458, 1407,
    1466, 1466, 1010, 1219, 979, 1458, 1335, 1892, 1321, 1335, 1192, 1458, 748, 1458, 1716, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    713, 934, 1425, 1425, 1303, 1425, 748, 1024, 1024, 2048, 1155, 1323, 1716, 850, 2048, 1024,
    1024, 1716, 897, 897, 1024, 1507, 1303, 778, 1024, 897, 1155, 1323, 2120, 2120, 2120, 1188,
    1585, 1585, 1585, 1585, 1585, 1585, 2222, 1503, 1399, 1399, 1399, 1399, 762, 762, 762, 762,
    1716, 1714, 1741, 1741, 1741, 1741, 1741, 1716, 1741, 1663, 1663, 1663, 1663, 1483, 1511, 1473,
    1382, 1382, 1382, 1382, 1382, 1382, 2146, 1214, 1389, 1389, 1389, 1389, 702, 702, 702, 702,
    1407, 1458, 1407, 1407, 1407, 1407, 1407, 1716, 1407, 1458, 1458, 1458, 1458, 1335, 1466, 1335,
    1585, 1382, 1585, 1382, 1585, 1382, 1503, 1214, 1503, 1214, 1503, 1214, 1503, 1214, 1700, 1466,
    1716, 1466, 1399, 1389, 1399, 1389, 1399, 1389, 1399, 1389, 1399, 1389, 1681, 1466, 1681, 1466,
    1681, 1466, 1681, 1466, 1714, 1458, 1994, 1618, 762, 702, 762, 702, 762, 702, 762, 702,
    762, 702, 1524, 1404, 762, 702, 1587, 1362, 1362, 1305, 702, 1305, 702, 1305, 982, 1305,
    1140, 1315, 760, 1714, 1458, 1714, 1458, 1714, 1458, 2013, 1714, 1458, 1741, 1407, 1741, 1407,
    1741, 1407, 2390, 2241, 1577, 1010, 1577, 1010, 1577, 1010, 1475, 1219, 1475, 1219, 1475, 1219,
    1475, 1219, 1397, 979, 1397, 979, 1397, 979, 1663, 1458, 1663, 1458, 1663, 1458, 1663, 1458,
    1663, 1458, 1663, 1458, 2259, 1892, 1483, 1335, 1483, 1485, 1192, 1485, 1192, 1485, 1192, 891,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Review 50 item 1: `…:pv-protection-controller` and `…:pvc-protection-controller` were
    /// both `kube-contr…protection-controller`, in charts and in text tables.
    #[test]
    fn distinct_keeps_the_part_where_names_differ_then_numbers_them() {
        let clients = names(&[
            "kube-controller-manager/system:serviceaccount:kube-system:pv-protection-controller",
            "kube-controller-manager/system:serviceaccount:kube-system:pvc-protection-controller",
            "kubelet",
        ]);
        for max in [12.0, 20.0, 24.0, 33.0, 40.0] {
            let labels = distinct(&clients, &[max; 3], &columns);
            assert_ne!(labels[0], labels[1], "{max}: {labels:?}");
            assert!(labels.iter().all(|l| width(l, &columns) <= max), "{max}: {labels:?}");
            assert_eq!(labels[2], "kubelet");
        }
        let labels = distinct(&clients, &[33.0; 3], &columns);
        assert!(labels[0].contains("pv-") && labels[1].contains("pvc-"), "{labels:?}");
        // Same-named service accounts in two namespaces differ in their middle.
        let accounts = names(&[
            "team/system:serviceaccount:production-namespace-one:controller-alpha-reconciler-for-widgets",
            "team/system:serviceaccount:production-namespace-two:controller-alpha-reconciler-for-widgets",
        ]);
        let labels = distinct(&accounts, &[40.0; 2], &columns);
        assert!(labels[0].contains("one") && labels[1].contains("two"), "{labels:?}");
        // In pixels too, with the widths of DejaVu Sans at 12 px.
        let px = |c: char| advance_em(c, false) * 12.0;
        let labels = distinct(&clients, &[150.0; 3], &px);
        assert_ne!(labels[0], labels[1], "{labels:?}");
        assert!(labels.iter().all(|l| width(l, &px) <= 150.0), "{labels:?}");
        // Little room: the difference first; too little even for that: numbered.
        let alike = names(&["aaaaaaaa1bbbbbbbb", "aaaaaaaa2bbbbbbbb"]);
        assert_eq!(distinct(&alike, &[6.0; 2], &columns), ["…1b…bb", "…2b…bb"]);
        assert_eq!(distinct(&alike, &[3.0; 2], &columns), ["#1", "#2"]);
        // Equal names keep equal labels.
        let twice = names(&["kube-controller-manager/x:job-controller"; 2]);
        let labels = distinct(&twice, &[20.0; 2], &columns);
        assert_eq!(labels[0], labels[1]);
    }

    /// Review 50 item 4: labels were laid out at 0.6 em a character, but `W` is 0.99 em,
    /// `m` 0.97, `@` 1.0 and even `a` 0.61 in DejaVu Sans.
    #[test]
    fn wide_letters_are_measured_with_the_font_s_own_widths() {
        assert!((advance_em('W', false) - 0.989).abs() < 0.001);
        assert!((advance_em('@', false) - 1.0).abs() < 0.001);
        assert!((advance_em('a', false) - 0.613).abs() < 0.001);
        assert!(advance_em('W', true) > advance_em('W', false));
        assert_eq!(advance_em('日', false), 1.0);
        assert_eq!(advance_em('\u{301}', false), 0.0);
        let px = |c: char| advance_em(c, false) * 12.0;
        let label = cut_end(&"W".repeat(30), 120.0, &px);
        assert!(width(&label, &px) <= 120.0, "{label}");
        assert_eq!(label, format!("{}…", "W".repeat(9)));
    }

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_the_last_line() {
        let text = "the 5 busiest and the 5 slowest clients; 19 other clients not drawn";
        assert_eq!(
            wrap(text, 40.0, 3, &columns),
            ["the 5 busiest and the 5 slowest clients;", "19 other clients not drawn"]
        );
        assert_eq!(wrap(text, 20.0, 2, &columns), ["the 5 busiest and", "the 5 slowest clien…"]);
        assert_eq!(wrap("", 20.0, 2, &columns), Vec::<String>::new());
    }
}
