//! `x == "literal"` and `x != "literal"` for strings, read from string views: a view holds a
//! string's length and first bytes, and a whole string of up to 12 bytes, so most rows are
//! answered by comparing 8 or 16 bytes without reaching the string. Every check query
//! compares `Stage`, `Verb` and the subresource with literals over every event; Arrow's
//! general kernel took a tenth of `diagnose`'s CPU doing it (docs/performance.md).

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, StringViewArray, make_view};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;

use super::{arg_array, finish, rows_for, scalar_str, str_at};

/// `x == s`. Arguments: `x`, the literal `s`, and whether a null `x` reads as "" (else it
/// gives null, as SQL's `=` does).
pub fn str_eq(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    compare(args, rows, false)
}

/// `x != s`, with the arguments of [`str_eq`].
pub fn str_ne(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    compare(args, rows, true)
}

fn compare(args: &[ColumnarValue], rows: usize, negate: bool) -> Result<ColumnarValue> {
    let [x, s, nulls_empty] = args else { return exec_err!("a string comparison takes three arguments") };
    let Some(s) = scalar_str(s) else { return exec_err!("a string comparison needs a literal") };
    let nulls_empty = matches!(nulls_empty, ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))));
    let n = rows_for(args, rows);
    let a = arg_array(x, n)?;
    // Anything else that holds text (a dictionary of strings) is read as views.
    let a = match a.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => a,
        _ => arrow::compute::cast(&a, &DataType::Utf8View)?,
    };
    let equal = match a.data_type() {
        DataType::Utf8View => views_equal(a.as_string_view(), s),
        _ => BooleanBuffer::collect_bool(a.len(), |i| str_at(&a, i) == Some(s)),
    };
    let values = if negate { !&equal } else { equal };
    let out = match a.logical_nulls() {
        None => BooleanArray::new(values, None),
        Some(nulls) if nulls_empty => {
            // A null reads as "": its answer is whether "" equals `s`, turned for `!=`.
            let valid = nulls.inner();
            let values = if s.is_empty() != negate { &values | &!valid } else { &values & valid };
            BooleanArray::new(values, None)
        }
        Some(nulls) => BooleanArray::new(values, Some(nulls)),
    };
    finish(Arc::new(out), args)
}

/// Which views hold `s` (null slots: anything; the caller masks them).
fn views_equal(a: &StringViewArray, s: &str) -> BooleanBuffer {
    let views = a.views();
    let bytes = s.as_bytes();
    let target = make_view(bytes, 0, 0);
    if bytes.len() <= 12 {
        // The whole string is in the view, zero-padded: equal views, equal strings.
        BooleanBuffer::collect_bool(views.len(), |i| views[i] == target)
    } else {
        // Length and first four bytes first; the string itself only when they match.
        let head = target as u64;
        BooleanBuffer::collect_bool(views.len(), |i| {
            views[i] as u64 == head && a.is_valid(i) && a.value(i) == s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, StringViewArray};

    fn run(x: ArrayRef, s: &str, nulls_empty: bool, negate: bool) -> Vec<Option<bool>> {
        let args = [
            ColumnarValue::Array(x.clone()),
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(s.to_owned()))),
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(nulls_empty))),
        ];
        let out = compare(&args, x.len(), negate).expect("compares");
        let ColumnarValue::Array(a) = out else { panic!("an array") };
        a.as_boolean().iter().collect()
    }

    use arrow::array::ArrayRef;

    #[test]
    fn views_and_plain_strings_agree_with_string_equality_under_both_null_rules() {
        let values = [
            Some("ResponseComplete"),
            Some("ResponseStarted"),
            None,
            Some(""),
            Some("watch"),
            Some("watchers"),
            Some("RequestReceived"),
            Some("RequestReceivedX"),
            Some("RequestRecEIVED"),
            Some("a string long enough to live in a data buffer"),
            Some("list"),
        ];
        let literals = [
            "ResponseStarted",
            "RequestReceived",
            "watch",
            "list",
            "",
            "a string long enough to live in a data buffer",
        ];
        let views: ArrayRef = Arc::new(StringViewArray::from(values.to_vec()));
        let plain: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
        let dict: ArrayRef = Arc::new(
            values.iter().copied().collect::<arrow::array::DictionaryArray<arrow::datatypes::Int32Type>>(),
        );
        for s in literals {
            for negate in [false, true] {
                for nulls_empty in [false, true] {
                    let expected: Vec<Option<bool>> = values
                        .iter()
                        .map(|v| match (v, nulls_empty) {
                            (None, false) => None,
                            (v, _) => Some((v.unwrap_or("") == s) != negate),
                        })
                        .collect();
                    let what = format!("{s:?} negate={negate} nulls_empty={nulls_empty}");
                    assert_eq!(run(views.clone(), s, nulls_empty, negate), expected, "views {what}");
                    assert_eq!(run(plain.clone(), s, nulls_empty, negate), expected, "plain {what}");
                    assert_eq!(run(dict.clone(), s, nulls_empty, negate), expected, "dictionary {what}");
                }
            }
        }
    }
}
