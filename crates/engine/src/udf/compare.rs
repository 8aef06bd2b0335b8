//! `x == "literal"`, `x != "literal"` and `x startswith_cs "literal"` for strings, read from
//! string views: a view holds a string's length and first bytes, and a whole string of up to
//! 12 bytes, so most rows are answered by comparing 8 or 16 bytes without reaching the string.
//! Every check query compares `Stage`, `Verb` and the subresource with literals over every
//! event; Arrow's general kernel took a tenth of `diagnose`'s CPU doing it
//! (docs/performance.md).

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, StringViewArray, make_view};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;

use super::{arg_array, finish, rows_for, scalar_str};

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
    // Other text (plain strings, a dictionary of strings) is read as views.
    let a = match a.data_type() {
        DataType::Utf8View => a,
        _ => arrow::compute::cast(&a, &DataType::Utf8View)?,
    };
    let a = a.as_string_view();
    let equal = views_equal(a, s);
    let values = if negate { !&equal } else { equal };
    let out = match a.logical_nulls() {
        // A null reads as "": its answer is whether "" equals `s`, turned for `!=`.
        Some(nulls) if nulls_empty => {
            BooleanArray::new(answer_nulls(values, Some(&nulls), s.is_empty() != negate), None)
        }
        nulls => BooleanArray::new(values, nulls),
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

/// Which strings start with `needle`, read from the views where they can be: a view holds a
/// string's length and its first 4 bytes (all of it up to 12 bytes), so most rows are
/// answered by masking the view, without reaching the string. Nulls read as "", as in the
/// row-by-row string predicates.
pub(super) fn views_start_with(a: &StringViewArray, needle: &str) -> BooleanArray {
    let nb = needle.as_bytes();
    let k = nb.len();
    let views = a.views();
    // The view's data bytes start at bit 32; `first(n)` keeps the first n of them.
    let first = |n: usize| -> u128 { ((1u128 << (8 * n.min(12))) - 1) << 32 };
    let target = make_view(&nb[..k.min(12)], 0, 0);
    let (inline_mask, prefix_mask) = (first(k), first(k.min(4)));
    let values = BooleanBuffer::collect_bool(views.len(), |i| {
        let view = views[i];
        let len = view as u32 as usize;
        if len < k {
            false
        } else if len <= 12 {
            // k <= len <= 12: the whole string is in the view.
            view & inline_mask == target & inline_mask
        } else {
            view & prefix_mask == target & prefix_mask
                && (k <= 4 || (a.is_valid(i) && a.value(i).as_bytes().starts_with(nb)))
        }
    });
    BooleanArray::new(answer_nulls(values, a.logical_nulls().as_ref(), nb.is_empty()), None)
}

/// `values` with the null slots (whatever they hold) set to `answer`.
fn answer_nulls(values: BooleanBuffer, nulls: Option<&NullBuffer>, answer: bool) -> BooleanBuffer {
    match nulls {
        None => values,
        Some(nulls) if answer => &values | &!nulls.inner(),
        Some(nulls) => &values & nulls.inner(),
    }
}

/// `kql_in_set(list, x)`: whether `x` is one of `list`'s values (null when `x` is null), for
/// `x in (T)` outside a `where`, where `list` is `T`'s distinct values from a scalar subquery.
/// A list that is the same for every row (a scalar) is hashed once per batch, so each row
/// costs a lookup instead of a scan of the list (DataFusion's `array_has` scanned it: 20,000
/// rows against 20,000 values took 3.45 s). A list per row is scanned row by row.
pub fn in_set(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let [list, x] = args else { return exec_err!("kql_in_set takes a list and a value") };
    let n = rows_for(args, rows);
    let x = arg_array(x, n)?;
    let out: BooleanArray = match list {
        ColumnarValue::Scalar(s) => {
            let values = match s {
                ScalarValue::List(l) if l.len() == 1 && !l.is_null(0) => l.value(0),
                ScalarValue::LargeList(l) if l.len() == 1 && !l.is_null(0) => l.value(0),
                _ => return finish(Arc::new(BooleanArray::from(vec![None::<bool>; n])), args),
            };
            member_of(&values, &x)?
        }
        ColumnarValue::Array(lists) => {
            let lists = match lists.data_type() {
                DataType::List(_) => lists.as_list::<i32>().clone(),
                other => return exec_err!("kql_in_set over {other}"),
            };
            (0..n)
                .map(|i| {
                    if x.is_null(i) || lists.is_null(i) {
                        return Ok(None);
                    }
                    let one = x.slice(i, 1);
                    Ok(Some(member_of(&lists.value(i), &one)?.value(0)))
                })
                .collect::<Result<BooleanArray>>()?
        }
    };
    finish(Arc::new(out), args)
}

/// For each row of `x`, whether it is among `values` (null when it is null).
fn member_of(values: &dyn Array, x: &dyn Array) -> Result<BooleanArray> {
    use std::collections::HashSet;
    if is_text(values.data_type()) && is_text(x.data_type()) {
        let set: HashSet<&str> = {
            let v = super::StrCol::new(values);
            (0..values.len()).filter_map(|i| v.get(i)).collect()
        };
        let xs = super::StrCol::new(x);
        return Ok((0..x.len()).map(|i| xs.get(i).map(|s| set.contains(s))).collect());
    }
    // Other types: compared as values of `x`'s type.
    let values = arrow::compute::cast(values, x.data_type())?;
    let set: HashSet<ScalarValue> = (0..values.len())
        .filter(|&i| values.is_valid(i))
        .map(|i| ScalarValue::try_from_array(&values, i))
        .collect::<Result<_>>()?;
    (0..x.len())
        .map(|i| {
            if x.is_null(i) { Ok(None) } else { Ok(Some(set.contains(&ScalarValue::try_from_array(x, i)?))) }
        })
        .collect()
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
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

    fn in_set_of(list: ColumnarValue, x: ArrayRef) -> Vec<Option<bool>> {
        let n = x.len();
        let out = in_set(&[list, ColumnarValue::Array(x)], n).expect("looks up");
        let ColumnarValue::Array(a) = out else { panic!("an array") };
        a.as_boolean().iter().collect()
    }

    #[test]
    fn in_set_finds_each_row_among_the_lists_values() {
        use arrow::array::{Int64Array, ListArray};
        use arrow::datatypes::Int64Type;
        let empty: Vec<Option<Vec<Option<i64>>>> = vec![Some(Vec::new())];
        let texts = ScalarValue::List(Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(empty)));
        // An empty list of numbers: nothing is in it.
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
        assert_eq!(in_set_of(ColumnarValue::Scalar(texts), ints.clone()), [Some(false), None]);
        // Strings: views looked up among plain strings; a null row stays null.
        let list = ScalarValue::List(ScalarValue::new_list_nullable(
            &[
                ScalarValue::Utf8(Some("get".into())),
                ScalarValue::Utf8(Some("list".into())),
                ScalarValue::Utf8(None),
            ],
            &DataType::Utf8,
        ));
        let x: ArrayRef =
            Arc::new(StringViewArray::from(vec![Some("list"), Some("watch"), None, Some("get")]));
        assert_eq!(in_set_of(ColumnarValue::Scalar(list), x), [Some(true), Some(false), None, Some(true)]);
        // Numbers, the list's cast to the row's type.
        let list = ScalarValue::List(ScalarValue::new_list_nullable(
            &[ScalarValue::Int32(Some(200)), ScalarValue::Int32(Some(404))],
            &DataType::Int32,
        ));
        let x: ArrayRef = Arc::new(Int64Array::from(vec![Some(404), Some(500), None]));
        assert_eq!(in_set_of(ColumnarValue::Scalar(list), x), [Some(true), Some(false), None]);
        // A null list: nothing is known.
        let x: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        assert_eq!(in_set_of(ColumnarValue::Scalar(ScalarValue::Null), x), [None]);
        // A list per row, each row against its own.
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(3)]),
            None,
        ]));
        let x: ArrayRef = Arc::new(Int64Array::from(vec![2, 2, 2]));
        assert_eq!(in_set_of(ColumnarValue::Array(lists), x), [Some(true), Some(false), None]);
    }
}
