//! Aggregates DataFusion lacks with Kusto's semantics: the nearest-rank `percentile()` (exact,
//! computed over every value of the group) and `make_list()` / `make_set()` of JSON texts.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type, UInt64Type};
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

/// A percentile's values as a multiset: each distinct value with the number of times it came.
/// The values a check takes percentiles of repeat (latencies in whole milliseconds: the demo's
/// 2.1 million `get nodes` hold 24 distinct ones), so this holds and hands on far less than the
/// values themselves: a partial aggregate's state is its distinct values and their counts.
#[derive(Debug)]
struct Counts<T: Num> {
    counts: datafusion::common::HashMap<T::Key, u64>,
}

impl<T: Num> Default for Counts<T> {
    fn default() -> Self {
        Counts { counts: datafusion::common::HashMap::default() }
    }
}

impl<T: Num> Counts<T> {
    fn add(&mut self, value: T, times: u64) {
        *self.counts.entry(value.key()).or_insert(0) += times;
    }

    /// The nearest-rank `p`th percentile of the values counted, as a sort of every value would
    /// give it: the distinct values sorted, walked until their counts pass the rank.
    fn percentile(&self, p: f64) -> Option<T> {
        let total: u64 = self.counts.values().sum();
        let rank = rank_index(usize::try_from(total).ok()?, p)? as u64;
        let mut distinct: Vec<(T, u64)> = self.counts.iter().map(|(k, n)| (T::from_key(*k), *n)).collect();
        distinct.sort_unstable_by(|a, b| T::cmp(&a.0, &b.0));
        let mut seen = 0u64;
        distinct.into_iter().find_map(|(v, n)| {
            seen += n;
            (seen > rank).then_some(v)
        })
    }

    /// Adds the values and counts of row `row` of a state (see [`count_lists`]).
    fn merge_row(&mut self, values: &ListArray, counts: &ListArray, row: usize) -> Result<()> {
        if values.is_null(row) {
            return Ok(());
        }
        let (v, n) = (values.value(row), counts.value(row));
        let Some(n) = n.as_primitive_opt::<UInt64Type>().filter(|n| n.len() == v.len()) else {
            return exec_err!("percentile state: counts do not match the values");
        };
        T::each(v.as_ref(), |i, value| self.add(value, n.value(i)));
        Ok(())
    }

    fn size(&self) -> usize {
        self.counts.capacity() * (std::mem::size_of::<(T::Key, u64)>() + 1)
    }
}

/// A percentile's state, one row per group: a list of its distinct values and a list of
/// their counts, in the same order.
fn count_lists<'a, T: Num>(groups: impl Iterator<Item = &'a Counts<T>>) -> Vec<ArrayRef> {
    let (mut lengths, mut values, mut counts) = (vec![], vec![], vec![]);
    for g in groups {
        lengths.push(g.counts.len());
        for (k, n) in &g.counts {
            values.push(T::from_key(*k));
            counts.push(*n);
        }
    }
    let offsets = OffsetBuffer::from_lengths(lengths);
    let values = T::array(values);
    let counts: ArrayRef = Arc::new(arrow::array::UInt64Array::from(counts));
    let list = |items: ArrayRef| -> ArrayRef {
        let item = Arc::new(Field::new("item", items.data_type().clone(), true));
        Arc::new(ListArray::new(item, offsets.clone(), items, None))
    };
    vec![list(values), list(counts)]
}

/// The two lists of a percentile's state.
fn state_lists(states: &[ArrayRef]) -> Result<(&ListArray, &ListArray)> {
    let list = |i: usize| states.get(i).and_then(|s| s.as_any().downcast_ref::<ListArray>());
    match (list(0), list(1)) {
        (Some(values), Some(counts)) if values.len() == counts.len() => Ok((values, counts)),
        _ => exec_err!("percentile state is not two lists of one length"),
    }
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
            DataType::Float64 => Box::new(PercentileAcc::<f64> { values: Counts::default(), p: self.p }),
            _ => Box::new(PercentileAcc::<i64> { values: Counts::default(), p: self.p }),
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
        let list = |name: String, ty: DataType| {
            Arc::new(Field::new(name, DataType::List(Arc::new(Field::new("item", ty, true))), true))
        };
        Ok(vec![
            list(format!("{}_values", args.name), args.return_type().clone()),
            list(format!("{}_counts", args.name), DataType::UInt64),
        ])
    }
}

trait Num: Copy + PartialOrd + Send + Sync + std::fmt::Debug + 'static {
    /// What equal values share, to count them (a float's bits).
    type Key: Copy + Eq + Hash + Send + Sync + std::fmt::Debug;
    fn key(self) -> Self::Key;
    fn from_key(key: Self::Key) -> Self;
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
    type Key = i64;
    fn key(self) -> i64 {
        self
    }
    fn from_key(key: i64) -> Self {
        key
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
    type Key = u64;
    fn key(self) -> u64 {
        self.to_bits()
    }
    fn from_key(key: u64) -> Self {
        f64::from_bits(key)
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
struct PercentileAcc<T: Num> {
    values: Counts<T>,
    p: f64,
}

impl<T: Num> Accumulator for PercentileAcc<T> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if let Some(a) = values.first() {
            T::each(a.as_ref(), |_, v| self.values.add(v, 1));
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(T::scalar(self.values.percentile(self.p)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        count_lists(std::iter::once(&self.values))
            .iter()
            .map(|list| ScalarValue::try_from_array(list, 0))
            .collect()
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (values, counts) = state_lists(states)?;
        (0..values.len()).try_for_each(|i| self.values.merge_row(values, counts, i))
    }
}

/// The counts of every group, kept per group index: what a per-group [`PercentileAcc`] keeps,
/// without DataFusion slicing every batch into one small batch per group.
#[derive(Debug)]
struct PercentileGroups<T: Num> {
    groups: Vec<Counts<T>>,
    p: f64,
}

impl<T: Num> PercentileGroups<T> {
    fn grow(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Counts::default);
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
                group.add(v, 1);
            }
        });
        Ok(())
    }
    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.groups);
        Ok(T::array_of_options(groups.iter().map(|g| g.percentile(self.p)).collect()))
    }
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        Ok(count_lists(groups.iter()))
    }
    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let (lists, counts) = state_lists(values)?;
        for (row, &g) in group_indices.iter().enumerate() {
            if let Some(group) = self.groups.get_mut(g) {
                group.merge_row(lists, counts, row)?;
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
        // One row in, one group out: each row's value counted once, or nothing.
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
        let offsets = OffsetBuffer::from_lengths(lengths);
        let ones: ArrayRef = Arc::new(arrow::array::UInt64Array::from(vec![1u64; kept.len()]));
        let list = |items: ArrayRef| -> ArrayRef {
            let item = Arc::new(Field::new("item", items.data_type().clone(), true));
            Arc::new(ListArray::new(item, offsets.clone(), items, None))
        };
        Ok(vec![list(T::array(kept)), list(ones)])
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<Counts<T>>()
            + self.groups.iter().map(Counts::size).sum::<usize>()
    }
}

/// What one input value of [`MakeList`] contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Items {
    /// Itself, whatever it holds (`make_list`, and `make_set` of a value that is no dynamic).
    Whole,
    /// A JSON array's elements, each an item; any other value itself (`make_set` of a
    /// dynamic, as Kusto's "set from array column" example takes `Arr1`'s elements).
    Elements,
    /// A JSON array's elements; anything else nothing (`hll_merge` of exact `hll` sets).
    ArrayElements,
}

/// `make_list(x [, max])` / `make_set(x [, max])` over JSON texts: a JSON array. With
/// `ordered`, a second argument gives each row's position in its serialized input, and the
/// list follows it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MakeList {
    name: String,
    distinct: bool,
    items: Items,
    ordered: bool,
    max: usize,
    signature: Signature,
}

/// The `make_list` (or, when `distinct`, `make_set`) aggregate keeping at most `max` items.
pub fn make_list(distinct: bool, max: usize) -> Arc<AggregateUDF> {
    list_aggregate(distinct, Items::Whole, false, max)
}

/// `make_list` over serialized rows (after `sort`, `top`, `serialize`, …): called with the
/// value and the row's position, it lists the first `max` items in that order. DataFusion
/// drops a sort under an aggregate that asks for no order, so the order cannot come from the
/// rows' arrival (review s50: `sort by x desc | summarize make_list(x)` came out in scan order).
pub fn make_list_ordered(max: usize) -> Arc<AggregateUDF> {
    list_aggregate(false, Items::Whole, true, max)
}

/// `make_set` of a dynamic: the elements of arrays, other values as they are.
pub fn make_set_of_elements(max: usize) -> Arc<AggregateUDF> {
    list_aggregate(true, Items::Elements, false, max)
}

/// The union of JSON arrays as a set (`hll_merge` of exact `hll` sets), at most `max` items.
pub fn set_union(max: usize) -> Arc<AggregateUDF> {
    list_aggregate(true, Items::ArrayElements, false, max)
}

fn list_aggregate(distinct: bool, items: Items, ordered: bool, max: usize) -> Arc<AggregateUDF> {
    let kind = match (distinct, items, ordered) {
        (_, Items::ArrayElements, _) => "union",
        (true, Items::Elements, _) => "set_elements",
        (true, _, _) => "set",
        (false, _, true) => "list_ordered",
        (false, _, false) => "list",
    };
    Arc::new(AggregateUDF::new_from_impl(MakeList {
        name: format!("kql_make_{kind}_{max}"),
        distinct,
        items,
        ordered,
        max,
        signature: Signature::any(if ordered { 2 } else { 1 }, Volatility::Immutable),
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
            placed: vec![],
            distinct: self.distinct,
            kind: self.items,
            ordered: self.ordered,
            max: self.max,
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Field::new("item", DataType::Utf8, true);
        let mut fields =
            vec![Arc::new(Field::new(format!("{}_items", args.name), DataType::List(Arc::new(item)), true))];
        if self.ordered {
            let position = Field::new("item", DataType::Int64, true);
            fields.push(Arc::new(Field::new(
                format!("{}_positions", args.name),
                DataType::List(Arc::new(position)),
                true,
            )));
        }
        Ok(fields)
    }
}

#[derive(Debug)]
struct MakeListAcc {
    items: Vec<String>,
    seen: BTreeSet<String>,
    /// An ordered list's items with their positions, in no order until [`Self::trim`].
    placed: Vec<(i64, String)>,
    distinct: bool,
    /// What each input value contributes (only in updates: states hold items).
    kind: Items,
    ordered: bool,
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

    /// Adds an item of an ordered list at its position, keeping no more than twice `max`
    /// between trims.
    fn place(&mut self, position: i64, s: &str) {
        self.placed.push((position, s.to_owned()));
        if self.placed.len() >= self.max.saturating_mul(2).max(1024) {
            self.trim();
        }
    }

    /// Sorts an ordered list's items by position and keeps the first `max`.
    fn trim(&mut self) {
        self.placed.sort_by_key(|(p, _)| *p);
        self.placed.truncate(self.max);
    }

    /// Adds what one input value contributes.
    fn add(&mut self, s: &str) {
        match self.kind {
            Items::Whole => self.push(s),
            Items::Elements | Items::ArrayElements => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(serde_json::Value::Array(items)) => {
                    for item in items {
                        self.push(&item.to_string());
                    }
                }
                _ if self.kind == Items::Elements => self.push(s),
                _ => {}
            },
        }
    }

    /// The items in output order: a set's sorted (Kusto leaves the order open), a list's as they
    /// came, or by position when ordered.
    fn output(&mut self) -> Vec<&String> {
        if self.ordered {
            self.trim();
            return self.placed.iter().map(|(_, s)| s).collect();
        }
        if self.distinct { self.seen.iter().collect() } else { self.items.iter().collect() }
    }
}

impl Accumulator for MakeListAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(a) = values.first() else { return Ok(()) };
        if self.ordered {
            let Some(positions) = values.get(1).and_then(|p| p.as_primitive_opt::<Int64Type>()) else {
                return exec_err!("make_list of ordered rows needs the rows' positions");
            };
            for i in 0..a.len() {
                let Some(s) = str_at(a.as_ref(), i) else { continue };
                let position = if positions.is_null(i) { i64::MAX } else { positions.value(i) };
                self.place(position, s);
            }
            return Ok(());
        }
        for i in 0..a.len() {
            if let Some(s) = str_at(a.as_ref(), i) {
                self.add(s);
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
            + self.placed.iter().map(|(_, s)| s.capacity() + 32).sum::<usize>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let ordered = self.ordered;
        let positions: Vec<ScalarValue> = if ordered {
            self.trim();
            self.placed.iter().map(|(p, _)| ScalarValue::Int64(Some(*p))).collect()
        } else {
            vec![]
        };
        let scalars: Vec<ScalarValue> =
            self.output().into_iter().map(|s| ScalarValue::Utf8(Some(s.clone()))).collect();
        let mut state = vec![ScalarValue::List(ScalarValue::new_list_nullable(&scalars, &DataType::Utf8))];
        if ordered {
            state.push(ScalarValue::List(ScalarValue::new_list_nullable(&positions, &DataType::Int64)));
        }
        Ok(state)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first().and_then(|s| s.as_any().downcast_ref::<ListArray>()) else {
            return exec_err!("make_list state is not a list");
        };
        let positions = match self.ordered {
            true => match states.get(1).and_then(|s| s.as_any().downcast_ref::<ListArray>()) {
                Some(p) => Some(p),
                None => return exec_err!("make_list state has no positions"),
            },
            false => None,
        };
        for i in 0..lists.len() {
            if lists.is_null(i) {
                continue;
            }
            let inner = lists.value(i);
            let strings = inner.as_string::<i32>();
            let places = positions.map(|p| p.value(i));
            let places = places.as_ref().and_then(|p| p.as_primitive_opt::<Int64Type>());
            for j in 0..strings.len() {
                if strings.is_null(j) {
                    continue;
                }
                match places {
                    Some(p) if j < p.len() && !p.is_null(j) => self.place(p.value(j), strings.value(j)),
                    Some(_) => self.place(i64::MAX, strings.value(j)),
                    None => self.push(strings.value(j)),
                }
            }
        }
        Ok(())
    }
}

/// An aggregate whose result and state are each one JSON text: `make_bag` and the t-digest
/// aggregates ([`super::tdigest`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TextAggregate {
    name: String,
    kind: TextKind,
    signature: Signature,
}

/// Which [`TextAggregate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// `make_bag(x, max)`.
    Bag {
        /// The most keys kept.
        max: usize,
    },
    /// `tdigest(x)` or, with `merge`, `tdigest_merge(d)`.
    Digest {
        /// Whether the inputs are digests to merge.
        merge: bool,
    },
}

/// The aggregate of a kind.
pub fn text_aggregate(kind: TextKind) -> Arc<AggregateUDF> {
    let name = match kind {
        TextKind::Bag { max } => format!("kql_make_bag_{max}"),
        TextKind::Digest { merge: false } => "kql_tdigest".to_owned(),
        TextKind::Digest { merge: true } => "kql_tdigest_merge".to_owned(),
    };
    Arc::new(AggregateUDF::new_from_impl(TextAggregate {
        name,
        kind,
        signature: Signature::any(1, Volatility::Immutable),
    }))
}

/// `make_bag(x [, max])` over JSON texts: one property bag of every bag's properties (values
/// that are not bags are ignored). A key met in more than one bag keeps its smallest value's
/// JSON text, and past `max` keys the smallest keys are kept, so that the answer does not
/// depend on the order a parallel plan brings rows in (Kusto picks "an arbitrary value").
pub fn make_bag(max: usize) -> Arc<AggregateUDF> {
    text_aggregate(TextKind::Bag { max })
}

impl AggregateUDFImpl for TextAggregate {
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
        Ok(match self.kind {
            TextKind::Bag { max } => Box::new(MakeBagAcc { bag: BTreeMap::new(), max }),
            TextKind::Digest { merge } => super::tdigest::accumulator(merge),
        })
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}_text", args.name), DataType::Utf8, true))])
    }
}

#[derive(Debug)]
struct MakeBagAcc {
    /// Key → the value's JSON text.
    bag: BTreeMap<String, String>,
    max: usize,
}

impl MakeBagAcc {
    /// Folds in the properties of one JSON text (nothing when it is not a bag).
    fn add(&mut self, text: &str) {
        let Ok(serde_json::Value::Object(props)) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        for (k, v) in props {
            let v = v.to_string();
            match self.bag.get_mut(&k) {
                Some(old) => {
                    if v < *old {
                        *old = v;
                    }
                }
                None => {
                    if self.bag.len() >= self.max
                        && self.bag.last_key_value().is_some_and(|(last, _)| *last <= k)
                    {
                        continue;
                    }
                    self.bag.insert(k, v);
                    if self.bag.len() > self.max {
                        self.bag.pop_last();
                    }
                }
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.bag.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
        out
    }

    fn add_all(&mut self, a: &ArrayRef) {
        for i in 0..a.len() {
            if let Some(s) = str_at(a.as_ref(), i) {
                self.add(s);
            }
        }
    }
}

impl Accumulator for MakeBagAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if let Some(a) = values.first() {
            self.add_all(a);
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(Some(self.text())))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.bag.iter().map(|(k, v)| k.capacity() + v.capacity() + 48).sum::<usize>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(Some(self.text()))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        if let Some(a) = states.first() {
            self.add_all(a);
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
                let mut acc = PercentileAcc::<i64> { values: Counts::default(), p: 99.0 };
                let arr: ArrayRef = Arc::new(arrow::array::Int64Array::from(part.to_vec()));
                acc.update_batch(&[arr]).expect("updates");
                acc
            })
            .collect();
        for p in [0.0, 50.0, 90.0, 99.0, 100.0] {
            let mut total = PercentileAcc::<i64> { values: Counts::default(), p };
            for part in &mut partials {
                let state = part.state().expect("state");
                let arrays: Vec<ArrayRef> = state.iter().map(|s| s.to_array().expect("array")).collect();
                total.merge_batch(&arrays).expect("merges");
            }
            let mut sorted = all.clone();
            sorted.sort_unstable();
            assert_eq!(
                total.evaluate().expect("evaluates"),
                ScalarValue::Int64(nearest_rank(&sorted, p)),
                "p{p}"
            );
        }
        let mut empty = PercentileAcc::<f64> { values: Counts::default(), p: 99.0 };
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

    #[test]
    fn percentile_state_holds_each_distinct_value_once_with_its_count() {
        use arrow::array::Int64Array;
        // 10,000 latencies over two groups, six distinct values (1 comes twice in the cycle):
        // the state a partial aggregate hands on is six values per group, not 5,000.
        let values: Vec<i64> = (0..10_000).map(|i| [3, 1, 4, 1, 5, 9, 2][i % 7]).collect();
        let groups: Vec<usize> = (0..values.len()).map(|i| i % 2).collect();
        let mut acc = PercentileGroups::<i64> { groups: vec![], p: 50.0 };
        let array: ArrayRef = Arc::new(Int64Array::from(values.clone()));
        acc.update_batch(&[array], &groups, None, 2).expect("updates");
        let state = acc.state(EmitTo::All).expect("state");
        let (lists, counts) = state_lists(&state).expect("two lists");
        assert_eq!(lists.values().len(), 12, "six distinct values in each group");
        let counted: u64 = counts.values().as_primitive::<UInt64Type>().values().iter().sum();
        assert_eq!(counted, 10_000);
        let mut total = PercentileGroups::<i64> { groups: vec![], p: 50.0 };
        total.merge_batch(&state, &[0, 1], 2).expect("merges");
        let got: Vec<Option<i64>> =
            total.evaluate(EmitTo::All).expect("evaluates").as_primitive::<Int64Type>().iter().collect();
        let want: Vec<Option<i64>> = (0..2)
            .map(|g| {
                let mut v: Vec<i64> =
                    values.iter().zip(&groups).filter(|(_, h)| **h == g).map(|(x, _)| *x).collect();
                v.sort_unstable();
                nearest_rank(&v, 50.0)
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn float_percentile_counts_signed_zeros_and_infinities_as_a_sort_orders_them() {
        use arrow::array::Float64Array;
        let values = vec![
            Some(0.0),
            Some(-0.0),
            Some(f64::INFINITY),
            None,
            Some(f64::NAN),
            Some(-1.5),
            Some(0.0),
            Some(f64::NEG_INFINITY),
            Some(2.25),
            Some(-0.0),
            Some(2.25),
        ];
        let mut sorted: Vec<f64> = values.iter().flatten().copied().filter(|f| !f.is_nan()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        for p in [0.0, 10.0, 25.0, 40.0, 50.0, 75.0, 90.0, 100.0] {
            let mut acc = PercentileAcc::<f64> { values: Counts::default(), p };
            let array: ArrayRef = Arc::new(Float64Array::from(values.clone()));
            acc.update_batch(&[array]).expect("updates");
            let got = acc.evaluate().expect("evaluates");
            let want = nearest_rank(&sorted, p);
            match (got, want) {
                (ScalarValue::Float64(Some(g)), Some(w)) => {
                    assert_eq!(g.to_bits(), w.to_bits(), "p{p}: {g} against {w}")
                }
                (got, want) => panic!("p{p}: {got:?} against {want:?}"),
            }
        }
    }

    #[test]
    fn percentile_state_whose_counts_do_not_match_its_values_is_an_error() {
        use arrow::array::{Int64Array, UInt64Array};
        let list = |items: ArrayRef, lengths: Vec<usize>| -> ArrayRef {
            let item = Arc::new(Field::new("item", items.data_type().clone(), true));
            Arc::new(ListArray::new(item, OffsetBuffer::from_lengths(lengths), items, None))
        };
        let values = list(Arc::new(Int64Array::from(vec![1, 2, 3])), vec![3]);
        let counts = list(Arc::new(UInt64Array::from(vec![1, 1])), vec![2]);
        let mut acc = PercentileAcc::<i64> { values: Counts::default(), p: 50.0 };
        assert!(acc.merge_batch(&[values.clone(), counts]).is_err());
        assert!(acc.merge_batch(&[values]).is_err(), "one list is not a state");
    }
}
