//! The names KQL knows: tabular operators, functions, render kinds; and "did you mean".

/// Tabular operators this parser turns into an [`crate::ast::OperatorKind`].
pub const SUPPORTED_OPERATORS: &[&str] = &[
    "as",
    "count",
    "distinct",
    "evaluate",
    "extend",
    "filter",
    "getschema",
    "join",
    "limit",
    "lookup",
    "make-series",
    "mv-apply",
    "mv-expand",
    "mvapply",
    "mvexpand",
    "order",
    "parse",
    "parse-kv",
    "parse-where",
    "partition",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "render",
    "sample",
    "sample-distinct",
    "search",
    "serialize",
    "sort",
    "summarize",
    "take",
    "top",
    "top-hitters",
    "top-nested",
    "union",
    "where",
];

/// Valid KQL tabular operators that this tool does not run yet: parsing one is the error
/// "not supported yet: …" (exit code 2), not "unknown operator".
pub const UNSUPPORTED_OPERATORS: &[&str] = &[
    "consume",
    "execute-and-cache",
    "facet",
    "find",
    "fork",
    "graph-match",
    "graph-merge",
    "graph-shortest-paths",
    "graph-to-table",
    "invoke",
    "make-graph",
    "reduce",
    "scan",
];

/// What to write instead of an unsupported operator, where something close is supported.
pub fn unsupported_operator_hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "facet" => "one `summarize count() by Column` for each column",
        "fork" => "name the rows with `as T` and write each branch as its own query over `T`",
        _ => return None,
    })
}

/// `render` visualisations KQL knows.
pub const RENDER_KINDS: &[&str] = &[
    "anomalychart",
    "areachart",
    "barchart",
    "card",
    "columnchart",
    "graph",
    "ladderchart",
    "linechart",
    "piechart",
    "pivotchart",
    "plotly",
    "scatterchart",
    "stackedareachart",
    "table",
    "timechart",
    "timepivot",
    "treemap",
];

/// KQL aggregation functions (as used in `summarize` and `make-series`).
pub const AGGREGATE_FUNCTIONS: &[&str] = &[
    "any",
    "anyif",
    "arg_max",
    "arg_min",
    "avg",
    "avgif",
    "binary_all_and",
    "binary_all_or",
    "binary_all_xor",
    "buildschema",
    "count",
    "count_distinct",
    "count_distinctif",
    "countif",
    "dcount",
    "dcountif",
    "hll",
    "hll_if",
    "hll_merge",
    "make_bag",
    "make_bag_if",
    "make_list",
    "make_list_if",
    "make_list_with_nulls",
    "make_set",
    "make_set_if",
    "makelist",
    "makeset",
    "max",
    "maxif",
    "merge_tdigest",
    "min",
    "minif",
    "percentile",
    "percentiles",
    "percentiles_array",
    "percentilesw",
    "percentilesw_array",
    "percentilew",
    "stdev",
    "stdevif",
    "stdevp",
    "sum",
    "sumif",
    "take_any",
    "take_anyif",
    "tdigest",
    "tdigest_merge",
    "variance",
    "varianceif",
    "variancep",
    "variancepif",
];

/// KQL scalar functions (and special forms written as calls: `materialize`, `toscalar`,
/// `table`, `typeof`). Names not here and not defined by a `let` are unknown functions.
pub const SCALAR_FUNCTIONS: &[&str] = &[
    "abs",
    "acos",
    "ago",
    "array_concat",
    "array_iff",
    "array_iif",
    "array_index_of",
    "array_length",
    "array_reverse",
    "array_rotate_left",
    "array_rotate_right",
    "array_shift_left",
    "array_shift_right",
    "array_slice",
    "array_sort_asc",
    "array_sort_desc",
    "array_split",
    "array_sum",
    "asin",
    "assert",
    "atan",
    "atan2",
    "bag_has_key",
    "bag_keys",
    "bag_merge",
    "bag_pack",
    "bag_pack_columns",
    "bag_remove_keys",
    "bag_set_key",
    "bag_zip",
    "base64_decode_toarray",
    "base64_decode_toguid",
    "base64_decode_tostring",
    "base64_decodestring",
    "base64_encode_fromarray",
    "base64_encode_fromguid",
    "base64_encode_tostring",
    "base64_encodestring",
    "beta_cdf",
    "beta_inv",
    "beta_pdf",
    "bin",
    "bin_at",
    "bin_auto",
    "binary_and",
    "binary_not",
    "binary_or",
    "binary_shift_left",
    "binary_shift_right",
    "binary_xor",
    "bitset_count_ones",
    "case",
    "ceiling",
    "coalesce",
    "column_ifexists",
    "cos",
    "cot",
    "countof",
    "current_cluster_endpoint",
    "current_database",
    "current_principal",
    "cursor_after",
    "datetime_add",
    "datetime_diff",
    "datetime_local_to_utc",
    "datetime_part",
    "datetime_utc_to_local",
    "dayofmonth",
    "dayofweek",
    "dayofyear",
    "dcount_hll",
    "degrees",
    "dynamic_to_json",
    "endofday",
    "endofmonth",
    "endofweek",
    "endofyear",
    "estimate_data_size",
    "exp",
    "exp10",
    "exp2",
    "extract",
    "extract_all",
    "extract_json",
    "extractall",
    "extractjson",
    "floor",
    "format_bytes",
    "format_datetime",
    "format_ipv4",
    "format_ipv4_mask",
    "format_timespan",
    "gamma",
    "getmonth",
    "gettype",
    "getyear",
    "gzip_compress_to_base64_string",
    "gzip_decompress_from_base64_string",
    "has_any_index",
    "hash",
    "hash_combine",
    "hash_many",
    "hash_md5",
    "hash_sha1",
    "hash_sha256",
    "hash_xxhash64",
    "hourofday",
    "iff",
    "iif",
    "indexof",
    "indexof_regex",
    "ingestion_time",
    "ipv4_compare",
    "ipv4_is_in_any_range",
    "ipv4_is_in_range",
    "ipv4_is_match",
    "ipv4_is_private",
    "ipv4_netmask_suffix",
    "ipv6_compare",
    "ipv6_is_in_any_range",
    "ipv6_is_in_range",
    "ipv6_is_match",
    "isascii",
    "isempty",
    "isfinite",
    "isinf",
    "isnan",
    "isnotempty",
    "isnotnull",
    "isnull",
    "isutf8",
    "jaccard_index",
    "log",
    "log10",
    "log2",
    "loggamma",
    "make_datetime",
    "make_timespan",
    "materialize",
    "max_of",
    "min_of",
    "monthofyear",
    "new_guid",
    "next",
    "not",
    "now",
    "pack",
    "pack_all",
    "pack_array",
    "pack_dictionary",
    "parse_command_line",
    "parse_csv",
    "parse_ipv4",
    "parse_ipv4_mask",
    "parse_ipv6",
    "parse_ipv6_mask",
    "parse_json",
    "parse_path",
    "parse_url",
    "parse_urlquery",
    "parse_user_agent",
    "parse_version",
    "parse_xml",
    "parseurl",
    "parseurlquery",
    "percentile_array_tdigest",
    "percentile_tdigest",
    "percentrank_tdigest",
    "pi",
    "pow",
    "prev",
    "radians",
    "rand",
    "range",
    "rank_tdigest",
    "regex_quote",
    "repeat",
    "replace",
    "replace_regex",
    "replace_string",
    "replace_strings",
    "reverse",
    "round",
    "row_cumsum",
    "row_number",
    "row_rank_dense",
    "row_rank_min",
    "row_window_session",
    "series_abs",
    "series_add",
    "series_decompose",
    "series_decompose_anomalies",
    "series_decompose_forecast",
    "series_divide",
    "series_equals",
    "series_fill_backward",
    "series_fill_const",
    "series_fill_forward",
    "series_fill_linear",
    "series_fir",
    "series_fit_2lines",
    "series_fit_line",
    "series_greater",
    "series_iir",
    "series_less",
    "series_multiply",
    "series_outliers",
    "series_pearson_correlation",
    "series_periods_detect",
    "series_stats",
    "series_stats_dynamic",
    "series_subtract",
    "set_difference",
    "set_has_element",
    "set_intersect",
    "set_union",
    "sign",
    "sin",
    "split",
    "sqrt",
    "startofday",
    "startofmonth",
    "startofweek",
    "startofyear",
    "strcat",
    "strcat_array",
    "strcat_delim",
    "strcmp",
    "string_size",
    "strlen",
    "strrep",
    "substring",
    "table",
    "tan",
    "tobool",
    "toboolean",
    "todatetime",
    "todecimal",
    "todouble",
    "todynamic",
    "toguid",
    "tohex",
    "toint",
    "tolong",
    "tolower",
    "toobject",
    "toreal",
    "toscalar",
    "tostring",
    "totime",
    "totimespan",
    "toupper",
    "translate",
    "treepath",
    "trim",
    "trim_end",
    "trim_start",
    "typeof",
    "unicode_codepoints_from_string",
    "unicode_codepoints_to_string",
    "unixtime_microseconds_todatetime",
    "unixtime_milliseconds_todatetime",
    "unixtime_nanoseconds_todatetime",
    "unixtime_seconds_todatetime",
    "url_decode",
    "url_encode",
    "url_encode_component",
    "week_of_year",
    "weekofyear",
    "welch_test",
    "zip",
];

/// Whether `name` is a KQL function (scalar or aggregate).
pub fn is_known_function(name: &str) -> bool {
    SCALAR_FUNCTIONS.binary_search(&name).is_ok() || AGGREGATE_FUNCTIONS.binary_search(&name).is_ok()
}

/// All KQL function names (scalar and aggregate), sorted.
pub fn known_functions() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = SCALAR_FUNCTIONS.iter().chain(AGGREGATE_FUNCTIONS).copied().collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The candidate closest to `name`, if one is close enough to be a likely misspelling:
/// the same name in another case, or within a small edit distance.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    // Edit distance costs the product of the lengths: a huge name is no misspelling.
    if name.len() > 64 {
        return None;
    }
    let lower = name.to_lowercase();
    // Ranked: abbreviations first (`cnt` is `count`, not `cot`, one letter away: review s40),
    // then by edit distance; the first of equals wins.
    let mut best: Option<((bool, usize), &str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let candidate_lower = candidate.to_lowercase();
        if candidate_lower == lower {
            return Some(candidate.to_string());
        }
        let distance = strsim::damerau_levenshtein(&lower, &candidate_lower);
        let limit = (candidate.chars().count().max(name.chars().count()) / 3).max(1);
        let abbreviation = abbreviates(&lower, &candidate_lower);
        let rank = (!abbreviation, distance);
        if (distance <= limit || abbreviation) && best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, candidate));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Whether `short` reads as an abbreviation of `long` (both lower case): at least two letters,
/// the same first one, every letter of it in `long` in order, and `long` at most twice as long
/// and one more (`cnt` of `count`, `tostr` of `tostring`; not `c` of `count_distinct`).
fn abbreviates(short: &str, long: &str) -> bool {
    let (s, l) = (short.chars().count(), long.chars().count());
    if s < 2 || l <= s || l > 2 * s + 1 || short.chars().next() != long.chars().next() {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|x| x == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        for list in [SCALAR_FUNCTIONS, AGGREGATE_FUNCTIONS] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, list);
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("wher", SUPPORTED_OPERATORS.iter().copied()), Some("where".into()));
        assert_eq!(did_you_mean("Where", SUPPORTED_OPERATORS.iter().copied()), Some("where".into()));
        assert_eq!(did_you_mean("sumarize", SUPPORTED_OPERATORS.iter().copied()), Some("summarize".into()));
        assert_eq!(did_you_mean("tostrin", known_functions()), Some("tostring".into()));
        assert_eq!(did_you_mean("Count", known_functions()), Some("count".into()));
        assert_eq!(did_you_mean("frobnicate", known_functions()), None);
        // Review s40: an abbreviation is its word, not the nearest other name (`cot`).
        assert_eq!(did_you_mean("cnt", known_functions()), Some("count".into()));
        assert_eq!(did_you_mean("tostr", known_functions()), Some("tostring".into()));
        assert_eq!(did_you_mean("smrize", SUPPORTED_OPERATORS.iter().copied()), Some("summarize".into()));
    }
}
