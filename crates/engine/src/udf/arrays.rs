//! Functions over `dynamic` arrays and property bags, held as JSON text: `array_concat`,
//! `array_slice`, `array_sort_asc`, `set_union`, `bag_merge`, `zip` and the rest (see
//! [`arity`] and [`apply`]). One UDF, `kql_dyn_op(op, json…)`, runs them all: the first argument names the
//! function, the others are its arguments as JSON text; the result is JSON text (or null where
//! Kusto gives null).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::StringBuilder;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ColumnarValue;
use serde_json::Value;

use super::dynamic::parse_text;
use super::{StrCol, arg_array, finish, rows_for, scalar_str};

/// The arguments a function [`apply`] knows takes (at least, at most); `None` for the others.
/// `array_iif` is `array_iff`'s other name.
pub fn arity(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "array_reverse" | "array_sum" => (1, 1),
        "array_sort_asc" | "array_sort_desc" => (1, 2),
        "array_index_of" => (2, 5),
        "array_slice" | "array_iff" | "array_iif" | "bag_set_key" => (3, 3),
        "array_rotate_left" | "array_rotate_right" | "array_split" | "jaccard_index" | "repeat"
        | "bag_has_key" | "bag_remove_keys" | "bag_zip" | "set_has_element" => (2, 2),
        "array_shift_left" | "array_shift_right" => (2, 3),
        "array_concat" => (1, 64),
        "bag_merge" | "set_difference" | "set_intersect" | "set_union" | "zip" => (2, 64),
        _ => return None,
    })
}

/// `kql_dyn_op(op, json…)`.
pub fn dyn_op(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(op) = args.first().and_then(scalar_str).map(str::to_owned) else {
        return exec_err!("kql_dyn_op needs the function's name");
    };
    let n = rows_for(&args[1..], rows);
    let arrays = args[1..].iter().map(|a| arg_array(a, n)).collect::<Result<Vec<_>>>()?;
    let cols: Vec<StrCol> = arrays.iter().map(|a| StrCol::new(a.as_ref())).collect();
    let mut out = StringBuilder::with_capacity(n, n * 16);
    let mut values = Vec::with_capacity(cols.len());
    for i in 0..n {
        values.clear();
        values.extend(cols.iter().map(|c| c.get(i).map_or(Value::Null, parse_text)));
        match apply(&op, &values) {
            Some(v) => out.append_value(v.to_string()),
            None => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), &args[1..])
}

/// A value as a whole number (an index or a count).
fn int(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

/// A key telling values apart for sets: numbers by value (`1` and `1.0` are one), the rest by
/// their JSON text.
fn key(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("n{}", n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    }
}

/// Kusto's order for sorting a mixed array: numbers, then strings, then the rest.
fn sort_order(a: &Value, b: &Value) -> Ordering {
    fn class(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            _ => 2,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(f64::NAN).total_cmp(&y.as_f64().unwrap_or(f64::NAN))
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => class(a).cmp(&class(b)).then_with(|| a.to_string().cmp(&b.to_string())),
    }
}

/// A position: negative counts from the end.
fn position(i: i64, len: usize) -> i64 {
    if i < 0 { len as i64 + i } else { i }
}

/// The distinct items of arrays, in the order they first come.
fn distinct<'a>(items: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    let mut seen = HashSet::new();
    items.filter(|v| seen.insert(key(v))).cloned().collect()
}

/// The value at a simple JSONPath (`$.a.b`, `$['a']`) or a plain key.
fn path_get<'a>(bag: &'a Value, path: &str) -> Option<&'a Value> {
    let Some(rest) = path.strip_prefix('$') else {
        return bag.get(path);
    };
    let mut v = bag;
    let mut rest = rest;
    while !rest.is_empty() {
        let (name, tail) = if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            (&r[..end], &r[end + 2..])
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            (&r[..end], &r[end..])
        } else {
            return None;
        };
        v = v.get(name)?;
        rest = tail;
    }
    Some(v)
}

/// Runs function `op` on its arguments; `None` is null.
pub fn apply(op: &str, a: &[Value]) -> Option<Value> {
    let arr = |i: usize| a.get(i).and_then(Value::as_array);
    Some(match op {
        "array_concat" => {
            let mut out = Vec::new();
            for v in a {
                out.extend(v.as_array()?.iter().cloned());
            }
            Value::Array(out)
        }
        "array_reverse" => Value::Array(arr(0)?.iter().rev().cloned().collect()),
        "array_slice" => {
            let items = arr(0)?;
            let len = items.len();
            let start = position(int(a.get(1))?, len).max(0);
            let end = position(int(a.get(2))?, len).min(len as i64 - 1);
            if start > end {
                return Some(Value::Array(Vec::new()));
            }
            Value::Array(items[start as usize..=end as usize].to_vec())
        }
        "array_index_of" => {
            let items = arr(0)?;
            let target = a.get(1)?;
            let len = items.len();
            let start = position(int(a.get(2)).unwrap_or(0), len);
            if start < 0 || start as usize > len {
                return None;
            }
            let length = int(a.get(3)).unwrap_or(-1);
            let end =
                if length < 0 { len } else { (start as usize).saturating_add(length as usize).min(len) };
            let occurrence = int(a.get(4)).unwrap_or(1).max(1) as usize;
            let found = items[start as usize..end]
                .iter()
                .enumerate()
                .filter(|(_, v)| key(v) == key(target))
                .nth(occurrence - 1)
                .map(|(i, _)| i + start as usize);
            Value::from(found.map_or(-1, |i| i as i64))
        }
        "array_sum" => {
            let mut sum = 0.0;
            for v in arr(0)? {
                sum += v.as_f64()?;
            }
            Value::from(sum)
        }
        "array_iff" => {
            let conds = arr(0)?;
            let pick = |v: &Value, i: usize| match v {
                Value::Array(items) => items.get(i).cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            let (yes, no) = (a.get(1)?, a.get(2)?);
            Value::Array(
                conds
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c.as_bool().or_else(|| c.as_f64().map(|f| f != 0.0)) {
                        Some(true) => pick(yes, i),
                        Some(false) => pick(no, i),
                        None => Value::Null,
                    })
                    .collect(),
            )
        }
        "array_rotate_left" | "array_rotate_right" => {
            let mut items = arr(0)?.clone();
            if !items.is_empty() {
                let len = items.len() as i64;
                let n = int(a.get(1))?.rem_euclid(len) as usize;
                if op == "array_rotate_left" { items.rotate_left(n) } else { items.rotate_right(n) }
            }
            Value::Array(items)
        }
        "array_shift_left" | "array_shift_right" => {
            let items = arr(0)?;
            let len = items.len();
            let n = int(a.get(1))?;
            let fill = a.get(2).cloned().unwrap_or(Value::Null);
            // A negative shift goes the other way.
            let left = (op == "array_shift_left") == (n >= 0);
            let n = (n.unsigned_abs() as usize).min(len);
            let mut out: Vec<Value> = Vec::with_capacity(len);
            if left {
                out.extend(items[n..].iter().cloned());
                out.extend(std::iter::repeat_n(fill, n));
            } else {
                out.extend(std::iter::repeat_n(fill, n));
                out.extend(items[..len - n].iter().cloned());
            }
            Value::Array(out)
        }
        "array_split" => {
            let items = arr(0)?;
            let len = items.len();
            let mut cuts: Vec<usize> = match a.get(1)? {
                Value::Array(ix) => ix.iter().map(|v| int(Some(v))).collect::<Option<Vec<_>>>()?,
                v => vec![int(Some(v))?],
            }
            .into_iter()
            .map(|i| position(i, len).clamp(0, len as i64) as usize)
            .collect();
            cuts.sort_unstable();
            let mut out = Vec::new();
            let mut from = 0;
            for c in cuts {
                out.push(Value::Array(items[from..c.max(from)].to_vec()));
                from = c.max(from);
            }
            out.push(Value::Array(items[from..].to_vec()));
            Value::Array(out)
        }
        "array_sort_asc" | "array_sort_desc" => {
            let items = arr(0)?;
            let nulls_last = a.get(1).and_then(Value::as_bool).unwrap_or(true);
            let (mut nulls, mut rest): (Vec<Value>, Vec<Value>) =
                items.iter().cloned().partition(Value::is_null);
            rest.sort_by(sort_order);
            if op == "array_sort_desc" {
                rest.reverse();
            }
            if nulls_last {
                rest.append(&mut nulls);
                Value::Array(rest)
            } else {
                nulls.append(&mut rest);
                Value::Array(nulls)
            }
        }
        "set_union" => {
            let mut all = Vec::new();
            for v in a {
                all.extend(v.as_array()?.iter());
            }
            Value::Array(distinct(all.into_iter()))
        }
        "set_intersect" | "set_difference" => {
            let first = arr(0)?;
            let mut others = Vec::new();
            for v in &a[1..] {
                others.push(v.as_array()?.iter().map(key).collect::<HashSet<_>>());
            }
            let keep = |v: &&Value| {
                let k = key(v);
                if op == "set_intersect" {
                    others.iter().all(|o| o.contains(&k))
                } else {
                    !others.iter().any(|o| o.contains(&k))
                }
            };
            Value::Array(distinct(first.iter().filter(keep)))
        }
        "set_has_element" => {
            let target = key(a.get(1)?);
            Value::Bool(arr(0)?.iter().any(|v| key(v) == target))
        }
        "jaccard_index" => {
            let x: HashSet<String> = arr(0)?.iter().map(key).collect();
            let y: HashSet<String> = arr(1)?.iter().map(key).collect();
            let union = x.union(&y).count();
            if union == 0 {
                return None;
            }
            Value::from(x.intersection(&y).count() as f64 / union as f64)
        }
        "zip" => {
            let mut lists = Vec::new();
            for v in a {
                lists.push(v.as_array()?);
            }
            let longest = lists.iter().map(|l| l.len()).max().unwrap_or(0);
            Value::Array(
                (0..longest)
                    .map(|i| {
                        Value::Array(lists.iter().map(|l| l.get(i).cloned().unwrap_or(Value::Null)).collect())
                    })
                    .collect(),
            )
        }
        "repeat" => {
            let count = int(a.get(1))?.clamp(0, 1_048_576) as usize;
            Value::Array(vec![a.first()?.clone(); count])
        }
        "bag_has_key" => {
            let path = a.get(1)?.as_str()?;
            Value::Bool(a.first()?.is_object() && path_get(a.first()?, path).is_some())
        }
        "bag_merge" => {
            let mut out = serde_json::Map::new();
            for v in a {
                if let Value::Object(m) = v {
                    for (k, x) in m {
                        out.entry(k.clone()).or_insert_with(|| x.clone());
                    }
                }
            }
            Value::Object(out)
        }
        "bag_remove_keys" => {
            let mut bag = a.first()?.as_object()?.clone();
            for k in arr(1)? {
                if let Some(k) = k.as_str() {
                    bag.remove(k.strip_prefix("$.").unwrap_or(k));
                }
            }
            Value::Object(bag)
        }
        "bag_set_key" => {
            let mut bag = a.first()?.as_object()?.clone();
            let k = a.get(1)?.as_str()?;
            bag.insert(k.strip_prefix("$.").unwrap_or(k).to_owned(), a.get(2)?.clone());
            Value::Object(bag)
        }
        "bag_zip" => {
            let (keys, values) = (arr(0)?, arr(1)?);
            let mut bag = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                if let Some(k) = k.as_str() {
                    bag.insert(k.to_owned(), values.get(i).cloned().unwrap_or(Value::Null));
                }
            }
            Value::Object(bag)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(op: &str, a: &[Value]) -> Option<Value> {
        apply(op, a)
    }

    #[test]
    fn arrays_follow_kustos_documented_examples() {
        assert_eq!(run("array_slice", &[json!([1, 2, 3]), json!(1), json!(2)]), Some(json!([2, 3])));
        assert_eq!(run("array_slice", &[json!([1, 2, 3, 4, 5]), json!(-2), json!(-1)]), Some(json!([4, 5])));
        assert_eq!(run("array_slice", &[json!([1, 2, 3]), json!(2), json!(1)]), Some(json!([])));
        assert_eq!(
            run("array_rotate_left", &[json!([1, 2, 3, 4, 5]), json!(2)]),
            Some(json!([3, 4, 5, 1, 2]))
        );
        assert_eq!(
            run("array_rotate_right", &[json!([1, 2, 3, 4, 5]), json!(-2)]),
            Some(json!([3, 4, 5, 1, 2]))
        );
        assert_eq!(
            run("array_shift_left", &[json!([1, 2, 3, 4, 5]), json!(2)]),
            Some(json!([3, 4, 5, null, null]))
        );
        assert_eq!(
            run("array_shift_right", &[json!([1, 2, 3, 4, 5]), json!(2), json!(-1)]),
            Some(json!([-1, -1, 1, 2, 3]))
        );
        assert_eq!(
            run("array_split", &[json!([1, 2, 3, 4, 5]), json!([1, 3])]),
            Some(json!([[1], [2, 3], [4, 5]]))
        );
        assert_eq!(
            run("array_sort_asc", &[json!([null, "b", 3, "a", 1])]),
            Some(json!([1, 3, "a", "b", null]))
        );
        assert_eq!(run("array_sort_desc", &[json!([1, null, 3]), json!(false)]), Some(json!([null, 3, 1])));
        assert_eq!(
            run("array_index_of", &[json!(["a", "b", "c", "b"]), json!("b"), json!(2)]),
            Some(json!(3))
        );
        assert_eq!(run("array_index_of", &[json!([1, 2]), json!(3)]), Some(json!(-1)));
        assert_eq!(run("set_union", &[json!([1, 2, 3]), json!([2, 4.0, 1])]), Some(json!([1, 2, 3, 4.0])));
        assert_eq!(run("set_intersect", &[json!([1, 2, 3, 1]), json!([2, 1])]), Some(json!([1, 2])));
        assert_eq!(run("set_difference", &[json!([1, 2, 3]), json!([2]), json!([3])]), Some(json!([1])));
        assert_eq!(run("jaccard_index", &[json!([1, 2, 3]), json!([2, 3, 4])]), Some(json!(0.5)));
        assert_eq!(
            run("zip", &[json!([1, 2, 3]), json!([10, 20])]),
            Some(json!([[1, 10], [2, 20], [3, null]]))
        );
        assert_eq!(
            run("bag_merge", &[json!({"A1": 12, "B1": 2, "C1": 3}), json!({"A2": 81, "B2": 82, "A1": 1})]),
            Some(json!({"A1": 12, "B1": 2, "C1": 3, "A2": 81, "B2": 82}))
        );
        assert_eq!(run("bag_has_key", &[json!({"a": {"b": 1}}), json!("$.a.b")]), Some(json!(true)));
        assert_eq!(run("bag_has_key", &[json!({"a": 1}), json!("b")]), Some(json!(false)));
        assert_eq!(run("array_sum", &[json!([1, 2.5, "x"])]), None);
    }
}
