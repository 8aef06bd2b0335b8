//! Aggregates DataFusion lacks with Kusto's semantics: the nearest-rank `percentile()` (exact,
//! computed over every value of the group) and `make_list()` / `make_set()` of JSON texts.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

use super::str_at;

/// Kusto's nearest-rank percentile: the smallest value with at least `p`% of the values at or
/// below it (`p` = 0 gives the minimum). `values` must be sorted.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as f64;
    let rank = (p / 100.0 * n).ceil().max(1.0).min(n) as usize;
    sorted.get(rank - 1).copied()
}

/// `percentile(x, p)`: exact nearest-rank over Int64 or Float64 input.
#[derive(Debug)]
pub struct Percentile {
    name: String,
    p: f64,
    signature: Signature,
}

impl PartialEq for Percentile {
    fn eq(&self, other: &Self) -> bool {
        self.p.to_bits() == other.p.to_bits()
    }
}
impl Eq for Percentile {}
impl Hash for Percentile {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.p.to_bits().hash(state);
    }
}

/// The `percentile(x, p)` aggregate for one `p`.
pub fn percentile(p: f64) -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(Percentile {
        name: format!("kql_percentile_{}", p.to_string().replace(['.', '-'], "_")),
        p,
        signature: Signature::any(1, Volatility::Immutable),
    }))
}

impl AggregateUDFImpl for Percentile {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(DataType::Int64) => Ok(DataType::Int64),
            Some(DataType::Float64) => Ok(DataType::Float64),
            Some(other) => exec_err!("percentile() of {other}"),
            None => exec_err!("percentile() needs a value"),
        }
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(match args.return_type() {
            DataType::Float64 => Box::new(PercentileAcc::<f64> { values: vec![], p: self.p }),
            _ => Box::new(PercentileAcc::<i64> { values: vec![], p: self.p }),
        })
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Field::new("item", args.return_type().clone(), true);
        Ok(vec![Arc::new(Field::new(format!("{}_values", args.name), DataType::List(Arc::new(item)), true))])
    }
}

trait Num: Copy + PartialOrd + Send + Sync + std::fmt::Debug + 'static {
    fn read(a: &dyn Array, out: &mut Vec<Self>);
    fn scalar(v: Option<Self>) -> ScalarValue;
    fn cmp(a: &Self, b: &Self) -> std::cmp::Ordering;
}

impl Num for i64 {
    fn read(a: &dyn Array, out: &mut Vec<Self>) {
        if let Some(p) = a.as_primitive_opt::<Int64Type>() {
            out.extend(p.iter().flatten());
        }
    }
    fn scalar(v: Option<Self>) -> ScalarValue {
        ScalarValue::Int64(v)
    }
    fn cmp(a: &Self, b: &Self) -> std::cmp::Ordering {
        a.cmp(b)
    }
}

impl Num for f64 {
    fn read(a: &dyn Array, out: &mut Vec<Self>) {
        if let Some(p) = a.as_primitive_opt::<Float64Type>() {
            out.extend(p.iter().flatten().filter(|f| !f.is_nan()));
        }
    }
    fn scalar(v: Option<Self>) -> ScalarValue {
        ScalarValue::Float64(v)
    }
    fn cmp(a: &Self, b: &Self) -> std::cmp::Ordering {
        a.total_cmp(b)
    }
}

#[derive(Debug)]
struct PercentileAcc<T> {
    values: Vec<T>,
    p: f64,
}

impl<T: Num> Accumulator for PercentileAcc<T> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if let Some(a) = values.first() {
            T::read(a.as_ref(), &mut self.values);
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.values.sort_unstable_by(T::cmp);
        Ok(T::scalar(nearest_rank(&self.values, self.p)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<T>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let scalars: Vec<ScalarValue> = self.values.iter().map(|v| T::scalar(Some(*v))).collect();
        let dt = T::scalar(None).data_type();
        Ok(vec![ScalarValue::List(ScalarValue::new_list_nullable(&scalars, &dt))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first().and_then(|s| s.as_any().downcast_ref::<ListArray>()) else {
            return exec_err!("percentile state is not a list");
        };
        for i in 0..lists.len() {
            if !lists.is_null(i) {
                T::read(lists.value(i).as_ref(), &mut self.values);
            }
        }
        Ok(())
    }
}

/// `make_list(x [, max])` / `make_set(x [, max])` over JSON texts: a JSON array.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MakeList {
    name: String,
    distinct: bool,
    max: usize,
    signature: Signature,
}

/// The `make_list` (or, when `distinct`, `make_set`) aggregate keeping at most `max` items.
pub fn make_list(distinct: bool, max: usize) -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(MakeList {
        name: format!("kql_make_{}_{max}", if distinct { "set" } else { "list" }),
        distinct,
        max,
        signature: Signature::any(1, Volatility::Immutable),
    }))
}

impl AggregateUDFImpl for MakeList {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn is_nullable(&self) -> bool {
        false
    }
    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(MakeListAcc {
            items: vec![],
            seen: BTreeSet::new(),
            distinct: self.distinct,
            max: self.max,
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Field::new("item", DataType::Utf8, true);
        Ok(vec![Arc::new(Field::new(format!("{}_items", args.name), DataType::List(Arc::new(item)), true))])
    }
}

#[derive(Debug)]
struct MakeListAcc {
    items: Vec<String>,
    seen: BTreeSet<String>,
    distinct: bool,
    max: usize,
}

impl MakeListAcc {
    fn push(&mut self, s: &str) {
        if self.distinct {
            // Keep the `max` smallest distinct items, so which ones survive does not depend on
            // the order rows arrive in from a parallel plan.
            if self.seen.len() >= self.max && self.seen.last().is_some_and(|l| l.as_str() <= s) {
                return;
            }
            // Most groups hold fewer distinct items than the limit: look before copying, or
            // every row would allocate its text only to drop it as a duplicate.
            if self.seen.contains(s) {
                return;
            }
            self.seen.insert(s.to_owned());
            if self.seen.len() > self.max {
                self.seen.pop_last();
            }
            return;
        }
        if self.items.len() < self.max {
            self.items.push(s.to_owned());
        }
    }

    /// The items in output order: a set's sorted (Kusto leaves the order open), a list's as they came.
    fn output(&self) -> Vec<&String> {
        if self.distinct { self.seen.iter().collect() } else { self.items.iter().collect() }
    }
}

impl Accumulator for MakeListAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if let Some(a) = values.first() {
            for i in 0..a.len() {
                if let Some(s) = str_at(a.as_ref(), i) {
                    self.push(s);
                }
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let items: Vec<&str> = self.output().into_iter().map(String::as_str).collect();
        Ok(ScalarValue::Utf8(Some(format!("[{}]", items.join(",")))))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.items.iter().chain(self.seen.iter()).map(|s| s.capacity() + 24).sum::<usize>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let scalars: Vec<ScalarValue> =
            self.output().into_iter().map(|s| ScalarValue::Utf8(Some(s.clone()))).collect();
        Ok(vec![ScalarValue::List(ScalarValue::new_list_nullable(&scalars, &DataType::Utf8))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first().and_then(|s| s.as_any().downcast_ref::<ListArray>()) else {
            return exec_err!("make_list state is not a list");
        };
        for i in 0..lists.len() {
            if lists.is_null(i) {
                continue;
            }
            let inner = lists.value(i);
            let strings = inner.as_string::<i32>();
            for j in 0..strings.len() {
                if !strings.is_null(j) {
                    self.push(strings.value(j));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nearest rank against a direct reading of the definition on 1..=100 and a small set.
    #[test]
    fn nearest_rank_follows_the_definition() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 99.0), Some(99));
        assert_eq!(nearest_rank(&v, 50.0), Some(50));
        assert_eq!(nearest_rank(&v, 0.0), Some(1));
        assert_eq!(nearest_rank(&v, 100.0), Some(100));
        let w = [15i64, 20, 35, 40, 50];
        assert_eq!(nearest_rank(&w, 30.0), Some(20));
        assert_eq!(nearest_rank(&w, 40.0), Some(20));
        assert_eq!(nearest_rank(&w, 50.0), Some(35));
        assert_eq!(nearest_rank::<i64>(&[], 50.0), None);
    }
}
