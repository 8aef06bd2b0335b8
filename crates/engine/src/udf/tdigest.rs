//! `tdigest()`, `tdigest_merge()` and `percentile_tdigest()`, exact.
//!
//! Kusto's t-digest is an approximate sketch; here the "digest" is the exact multiset of the
//! values: a JSON array of `[value, count]` pairs in ascending order of value. Merging adds the
//! counts, and `percentile_tdigest()` reads the nearest-rank percentile off them, so
//! `percentile_tdigest(tdigest(x), p)` equals `percentile(x, p)` (which this engine also
//! computes exactly). Values are reals (whole numbers are written without a fraction).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder};
use arrow::datatypes::Float64Type;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{Accumulator, AggregateUDF, ColumnarValue};

use super::{StrCol, arg_array, finish, rows_for};

/// `tdigest(x)` over reals, or `tdigest_merge(d)` over digests.
pub fn digest(merge: bool) -> Arc<AggregateUDF> {
    super::aggregates::text_aggregate(super::aggregates::TextKind::Digest { merge })
}

/// The accumulator of `tdigest` or, with `merge`, of `tdigest_merge`.
pub(super) fn accumulator(merge: bool) -> Box<dyn Accumulator> {
    Box::new(DigestAcc { counts: HashMap::new(), merge })
}

#[derive(Debug)]
struct DigestAcc {
    /// A value's bits (`f64::to_bits`, -0 read as 0) → how many times it came.
    counts: HashMap<u64, u64>,
    merge: bool,
}

/// The pairs of a digest's JSON text (nothing when it is not one).
fn pairs(text: &str) -> Vec<(f64, u64)> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_f64()?, p.get(1)?.as_u64()?))
        })
        .collect()
}

/// A digest's pairs, sorted by value, as JSON text.
fn text_of(mut pairs: Vec<(f64, u64)>) -> String {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = String::from("[");
    for (i, (v, n)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing to a String cannot fail.
        let _ = if v.fract() == 0.0 && v.abs() < 9.0e15 {
            write!(out, "[{},{n}]", *v as i64)
        } else {
            write!(out, "[{v},{n}]")
        };
    }
    out.push(']');
    out
}

impl DigestAcc {
    fn add(&mut self, v: f64, n: u64) {
        if v.is_nan() {
            return;
        }
        let v = if v == 0.0 { 0.0 } else { v };
        *self.counts.entry(v.to_bits()).or_default() += n;
    }

    fn add_texts(&mut self, a: &ArrayRef) {
        let col = StrCol::new(a.as_ref());
        for i in 0..a.len() {
            if let Some(t) = col.get(i) {
                for (v, n) in pairs(t) {
                    self.add(v, n);
                }
            }
        }
    }

    fn text(&self) -> String {
        text_of(self.counts.iter().map(|(bits, n)| (f64::from_bits(*bits), *n)).collect())
    }
}

impl Accumulator for DigestAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(a) = values.first() else { return Ok(()) };
        if self.merge {
            self.add_texts(a);
            return Ok(());
        }
        let Some(x) = a.as_primitive_opt::<Float64Type>() else {
            return exec_err!("tdigest() takes reals, got {}", a.data_type());
        };
        for i in 0..x.len() {
            if x.is_valid(i) {
                self.add(x.value(i), 1);
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(Some(self.text())))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.counts.capacity() * 24
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(Some(self.text()))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        if let Some(a) = states.first() {
            self.add_texts(a);
        }
        Ok(())
    }
}

/// The nearest-rank `p`th percentile of a digest's sorted pairs.
fn percentile_of(pairs: &[(f64, u64)], p: f64) -> Option<f64> {
    let total: u64 = pairs.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    // As `percentile()`: the smallest value with at least p% of the values at or below it.
    let rank = ((p / 100.0 * total as f64).ceil().max(1.0) as u64).min(total);
    let mut seen = 0;
    for (v, n) in pairs {
        seen += n;
        if seen >= rank {
            return Some(*v);
        }
    }
    pairs.last().map(|(v, _)| *v)
}

/// `kql_percentile_tdigest(digest, p)`: a real; null for an empty digest.
pub fn percentile_tdigest(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let d = arg_array(&args[0], n)?;
    let p = arg_array(&args[1], n)?;
    let Some(p) = p.as_primitive_opt::<Float64Type>() else {
        return exec_err!("percentile_tdigest() needs a real percentage");
    };
    let digests = StrCol::new(d.as_ref());
    let mut out = Float64Builder::with_capacity(n);
    let mut last: Option<(&str, Vec<(f64, u64)>)> = None;
    for i in 0..n {
        let (Some(text), true) = (digests.get(i), p.is_valid(i)) else {
            out.append_null();
            continue;
        };
        if last.as_ref().is_none_or(|(t, _)| *t != text) {
            let mut parsed = pairs(text);
            parsed.sort_by(|a, b| a.0.total_cmp(&b.0));
            last = Some((text, parsed));
        }
        out.append_option(last.as_ref().and_then(|(_, ps)| percentile_of(ps, p.value(i))));
    }
    finish(Arc::new(out.finish()), args)
}

/// A digest's text normalized (sorted, counts summed).
#[cfg(test)]
fn normalized(text: &str) -> String {
    let mut acc = DigestAcc { counts: HashMap::new(), merge: true };
    for (v, n) in pairs(text) {
        acc.add(v, n);
    }
    acc.text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_merge_by_adding_counts_and_read_the_nearest_rank() {
        assert_eq!(normalized("[[3,1],[1,2],[3,4],[2.5,1]]"), "[[1,2],[2.5,1],[3,5]]");
        let ps = pairs("[[1,2],[2.5,1],[3,5]]");
        // 8 values: 1 1 2.5 3 3 3 3 3.
        assert_eq!(percentile_of(&ps, 25.0), Some(1.0));
        assert_eq!(percentile_of(&ps, 30.0), Some(2.5));
        assert_eq!(percentile_of(&ps, 50.0), Some(3.0));
        assert_eq!(percentile_of(&ps, 0.0), Some(1.0));
        assert_eq!(percentile_of(&[], 50.0), None);
    }
}
