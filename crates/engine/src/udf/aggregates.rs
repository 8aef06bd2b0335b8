//! Aggregates DataFusion lacks with Kusto's semantics: the nearest-rank `percentile()` (exact,
//! computed over every value of the group) and `make_list()` / `make_set()` of JSON texts.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use super::str_at;

/// Kusto's nearest-rank percentile: the smallest value with at least `p`% of the values at or
/// below it (`p` = 0 gives the minimum). `values` must be sorted.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    sorted.get(rank_index(sorted.len(), p)?).copied()
}

/// The 0-based index of the nearest-rank `p`th percentile among `n` sorted values.
fn rank_index(n: usize, p: f64) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let len = n as f64;
    Some((p / 100.0 * len).ceil().max(1.0).min(len) as usize - 1)
}

/// The nearest-rank `p`th percentile of `values`, in any order: the value a sort would put at
/// the rank, found without sorting the rest.
fn select_rank<T: Num>(values: &mut [T], p: f64) -> Option<T> {
    let i = rank_index(values.len(), p)?;
    Some(*values.select_nth_unstable_by(i, T::cmp).1)
}

/// A percentile's state: one list of values per row, `lengths[i]` of `values` for row `i`.
fn value_lists<T: Num>(lengths: Vec<usize>, values: Vec<T>) -> ArrayRef {
    let values = T::array(values);
    let item = Arc::new(Field::new("item", values.data_type().clone(), true));
    Arc::new(ListArray::new(item, OffsetBuffer::from_lengths(lengths), values, None))
}

/// Whether an aggregate's `FILTER` leaves out `row`.
fn filtered_out(filter: Option<&arrow::array::BooleanArray>, row: usize) -> bool {
    filter.is_some_and(|f| !f.is_valid(row) || !f.value(row))
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
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(match args.return_type() {
            DataType::Float64 => Box::new(PercentileGroups::<f64> { groups: vec![], p: self.p }),
            _ => Box::new(PercentileGroups::<i64> { groups: vec![], p: self.p }),
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
    fn array(values: Vec<Self>) -> ArrayRef;
    fn array_of_options(values: Vec<Option<Self>>) -> ArrayRef;
    /// Row `i` of `a`, unless null (or NaN).
    fn at(a: &dyn Array, i: usize) -> Option<Self>;
    /// `f(row, value)` for every row of `a` that is not null (or NaN), the array's type
    /// resolved once.
    fn each(a: &dyn Array, f: impl FnMut(usize, Self));
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
    fn array(values: Vec<Self>) -> ArrayRef {
        Arc::new(arrow::array::Int64Array::from(values))
    }
    fn array_of_options(values: Vec<Option<Self>>) -> ArrayRef {
        Arc::new(arrow::array::Int64Array::from(values))
    }
    fn at(a: &dyn Array, i: usize) -> Option<Self> {
        a.as_primitive_opt::<Int64Type>().filter(|p| p.is_valid(i)).map(|p| p.value(i))
    }
    fn each(a: &dyn Array, mut f: impl FnMut(usize, Self)) {
        let Some(p) = a.as_primitive_opt::<Int64Type>() else { return };
        match p.nulls() {
            None => p.values().iter().enumerate().for_each(|(i, v)| f(i, *v)),
            Some(nulls) => nulls.valid_indices().for_each(|i| f(i, p.value(i))),
        }
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
    fn array(values: Vec<Self>) -> ArrayRef {
        Arc::new(arrow::array::Float64Array::from(values))
    }
    fn array_of_options(values: Vec<Option<Self>>) -> ArrayRef {
        Arc::new(arrow::array::Float64Array::from(values))
    }
    fn at(a: &dyn Array, i: usize) -> Option<Self> {
        a.as_primitive_opt::<Float64Type>()
            .filter(|p| p.is_valid(i))
            .map(|p| p.value(i))
            .filter(|f| !f.is_nan())
    }
    fn each(a: &dyn Array, mut f: impl FnMut(usize, Self)) {
        let Some(p) = a.as_primitive_opt::<Float64Type>() else { return };
        let mut g = |i: usize, v: f64| {
            if !v.is_nan() {
                f(i, v)
            }
        };
        match p.nulls() {
            None => p.values().iter().enumerate().for_each(|(i, v)| g(i, *v)),
            Some(nulls) => nulls.valid_indices().for_each(|i| g(i, p.value(i))),
        }
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
        Ok(T::scalar(select_rank(&mut self.values, self.p)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<T>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        // One list of every value, built as an array (a scalar per value cost more than the
        // percentile itself over millions of values).
        let list = value_lists(vec![self.values.len()], self.values.clone());
        Ok(vec![ScalarValue::try_from_array(&list, 0)?])
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

/// The values of every group, kept per group index: what a per-group [`PercentileAcc`] keeps,
/// without DataFusion slicing every batch into one small batch per group.
#[derive(Debug)]
struct PercentileGroups<T> {
    groups: Vec<Vec<T>>,
    p: f64,
}

impl<T: Num> PercentileGroups<T> {
    fn grow(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
    }
}

impl<T: Num> GroupsAccumulator for PercentileGroups<T> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&arrow::array::BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let Some(a) = values.first() else { return Ok(()) };
        let groups = &mut self.groups;
        T::each(a.as_ref(), |row, v| {
            if filtered_out(opt_filter, row) {
                return;
            }
            if let Some(group) = group_indices.get(row).and_then(|&g| groups.get_mut(g)) {
                group.push(v);
            }
        });
        Ok(())
    }
    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.groups);
        Ok(T::array_of_options(
            groups.into_iter().map(|mut values| select_rank(&mut values, self.p)).collect(),
        ))
    }
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        let lengths = groups.iter().map(Vec::len).collect();
        Ok(vec![value_lists(lengths, groups.into_iter().flatten().collect())])
    }
    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let Some(lists) = values.first().and_then(|s| s.as_any().downcast_ref::<ListArray>()) else {
            return exec_err!("percentile state is not a list");
        };
        for (row, &g) in group_indices.iter().enumerate() {
            if !lists.is_null(row)
                && let Some(group) = self.groups.get_mut(g)
            {
                T::read(lists.value(row).as_ref(), group);
            }
        }
        Ok(())
    }
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&arrow::array::BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(a) = values.first() else { return exec_err!("percentile() needs a value") };
        let (mut lengths, mut kept) = (Vec::with_capacity(a.len()), Vec::with_capacity(a.len()));
        for row in 0..a.len() {
            match T::at(a.as_ref(), row).filter(|_| !filtered_out(opt_filter, row)) {
                Some(v) => {
                    kept.push(v);
                    lengths.push(1);
                }
                None => lengths.push(0),
            }
        }
        Ok(vec![value_lists(lengths, kept)])
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<Vec<T>>()
            + self.groups.iter().map(|g| g.capacity() * std::mem::size_of::<T>()).sum::<usize>()
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

    #[test]
    fn percentile_of_partial_states_merged_equals_the_sorted_nearest_rank() {
        // Values out of order and repeated, split over two partial accumulators as a parallel
        // plan splits them, then merged through their states.
        let all: Vec<i64> = (0..1000).map(|i| (i * 7919) % 613).collect();
        let (left, right) = all.split_at(387);
        let mut partials: Vec<PercentileAcc<i64>> = [left, right]
            .iter()
            .map(|part| {
                let mut acc = PercentileAcc::<i64> { values: vec![], p: 99.0 };
                let arr: ArrayRef = Arc::new(arrow::array::Int64Array::from(part.to_vec()));
                acc.update_batch(&[arr]).expect("updates");
                acc
            })
            .collect();
        for p in [0.0, 50.0, 90.0, 99.0, 100.0] {
            let mut total = PercentileAcc::<i64> { values: vec![], p };
            for part in &mut partials {
                let state = part.state().expect("state");
                let arr = state[0].to_array().expect("array");
                total.merge_batch(&[arr]).expect("merges");
            }
            let mut sorted = all.clone();
            sorted.sort_unstable();
            assert_eq!(
                total.evaluate().expect("evaluates"),
                ScalarValue::Int64(nearest_rank(&sorted, p)),
                "p{p}"
            );
        }
        let mut empty = PercentileAcc::<f64> { values: vec![], p: 99.0 };
        assert_eq!(empty.evaluate().expect("evaluates"), ScalarValue::Float64(None));
    }

    #[test]
    fn grouped_percentile_equals_one_accumulator_per_group() {
        use arrow::array::{BooleanArray, Int64Array};
        // Rows over three groups in two partial accumulators; a filter drops row 1.
        let rows: Vec<(usize, Option<i64>)> = (0..300usize)
            .map(|i| (i % 3, if i % 17 == 0 { None } else { Some((i as i64 * 7919) % 101) }))
            .collect();
        let (left, right) = rows.split_at(120);
        let mut partials: Vec<PercentileGroups<i64>> = Vec::new();
        for part in [left, right] {
            let mut acc = PercentileGroups::<i64> { groups: vec![], p: 90.0 };
            let values: ArrayRef = Arc::new(Int64Array::from(part.iter().map(|r| r.1).collect::<Vec<_>>()));
            let groups: Vec<usize> = part.iter().map(|r| r.0).collect();
            let filter = BooleanArray::from((0..part.len()).map(|i| i != 1).collect::<Vec<_>>());
            acc.update_batch(&[values], &groups, Some(&filter), 3).expect("updates");
            partials.push(acc);
        }
        let mut total = PercentileGroups::<i64> { groups: vec![], p: 90.0 };
        for part in &mut partials {
            let state = part.state(EmitTo::All).expect("state");
            total.merge_batch(&state, &[0, 1, 2], 3).expect("merges");
        }
        let first = total.evaluate(EmitTo::First(1)).expect("evaluates");
        let rest = total.evaluate(EmitTo::All).expect("evaluates");
        let got: Vec<Option<i64>> = [first, rest]
            .iter()
            .flat_map(|a| a.as_primitive::<Int64Type>().iter().collect::<Vec<_>>())
            .collect();
        let want: Vec<Option<i64>> = (0..3)
            .map(|g| {
                let mut v: Vec<i64> = rows
                    .iter()
                    .enumerate()
                    .filter(|(i, r)| r.0 == g && *i != 1 && *i != 121)
                    .filter_map(|(_, r)| r.1)
                    .collect();
                v.sort_unstable();
                nearest_rank(&v, 90.0)
            })
            .collect();
        assert_eq!(got, want);
    }
}
