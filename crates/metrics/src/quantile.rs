//! Quantiles from cumulative histogram buckets, exactly as Prometheus' `histogram_quantile`,
//! and the bucket each falls in: all a histogram says for sure about a quantile.

/// One cumulative bucket: how many observations were `<= upper_bound`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bucket {
    /// The bucket's `le`.
    pub upper_bound: f64,
    /// Cumulative count of observations at or below `upper_bound`.
    pub count: f64,
}

/// Where a quantile of a histogram lies: the bucket its rank falls in, and the value
/// `histogram_quantile` interpolates there. The buckets say only that the quantile is above
/// `lower` and at most `upper`; `interpolated` assumes the observations are spread evenly
/// across the bucket, which the histogram does not record.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct QuantileBucket {
    /// The bucket's lower bound (exclusive): the previous bucket's `le`; 0 for the first
    /// bucket (as `histogram_quantile` assumes, for observations that are never negative);
    /// `-Inf` for a first bucket whose bound is at most 0.
    pub lower: f64,
    /// The bucket's `le` (inclusive); `+Inf` when the rank falls in the last bucket.
    pub upper: f64,
    /// What [`histogram_quantile`] gives: linear interpolation within the bucket, or the
    /// largest finite bound (`lower`) when the bucket is the `+Inf` one.
    pub interpolated: f64,
}

impl QuantileBucket {
    /// True when the rank falls in the `+Inf` bucket: the quantile is above `lower` and the
    /// histogram bounds it no further.
    pub fn unbounded(&self) -> bool {
        self.upper == f64::INFINITY
    }
}

/// The buckets as Prometheus reads them: sorted, equal bounds merged (its `coalesceBuckets`),
/// counts made monotonic (its `ensureMonotonic`, for scrapes that race with observations).
/// `None` for fewer than two buckets, no `+Inf` bucket, or no observations.
fn prepared(buckets: &[Bucket]) -> Option<Vec<Bucket>> {
    let mut sorted: Vec<Bucket> = buckets.iter().copied().filter(|b| !b.upper_bound.is_nan()).collect();
    sorted.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    let mut merged: Vec<Bucket> = Vec::with_capacity(sorted.len());
    for b in sorted {
        match merged.last_mut() {
            Some(last) if last.upper_bound == b.upper_bound => last.count += b.count,
            _ => merged.push(b),
        }
    }
    if merged.len() < 2 || merged.last().is_none_or(|b| b.upper_bound != f64::INFINITY) {
        return None;
    }
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.count < max {
            b.count = max;
        } else {
            max = b.count;
        }
    }
    let observations = merged[merged.len() - 1].count;
    if observations == 0.0 || observations.is_nan() {
        return None;
    }
    Some(merged)
}

/// The bucket the `q`-quantile (0 ≤ `q` ≤ 1) of cumulative buckets falls in, with the value
/// [`histogram_quantile`] gives for it; `None` where that gives NaN or an infinity (`q`
/// outside 0 to 1 or NaN, fewer than two buckets, no `+Inf` bucket, no observations).
pub fn quantile_bucket(q: f64, buckets: &[Bucket]) -> Option<QuantileBucket> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let merged = prepared(buckets)?;
    let n = merged.len();
    let mut rank = q * merged[n - 1].count;
    let b = merged.iter().position(|bucket| bucket.count >= rank).unwrap_or(n - 1);
    if b == n - 1 {
        let largest_finite = merged[n - 2].upper_bound;
        return Some(QuantileBucket {
            lower: largest_finite,
            upper: f64::INFINITY,
            interpolated: largest_finite,
        });
    }
    if b == 0 && merged[0].upper_bound <= 0.0 {
        let bound = merged[0].upper_bound;
        return Some(QuantileBucket { lower: f64::NEG_INFINITY, upper: bound, interpolated: bound });
    }
    let mut bucket_start = 0.0;
    let bucket_end = merged[b].upper_bound;
    let mut count = merged[b].count;
    if b > 0 {
        bucket_start = merged[b - 1].upper_bound;
        count -= merged[b - 1].count;
        rank -= merged[b - 1].count;
    }
    let interpolated = bucket_start + (bucket_end - bucket_start) * (rank / count);
    // A NaN bucket count (below the rank's bucket) makes the value NaN: no bucket is known then
    // (review s47: MET008 said "P99 in the (0.5, 1] s bucket, ≈NaN").
    interpolated.is_finite().then_some(QuantileBucket {
        lower: bucket_start,
        upper: bucket_end,
        interpolated,
    })
}

/// The `q`-quantile of cumulative buckets, following Prometheus' `bucketQuantile`:
///
/// - `q < 0` gives `-Inf`, `q > 1` gives `+Inf`, a NaN `q` gives NaN;
/// - fewer than two buckets, no `+Inf` bucket, or no observations give NaN;
/// - buckets with the same bound are merged and counts made monotonic (as Prometheus does
///   for scrapes that race with observations);
/// - the rank `q × total` falls in the first bucket whose count reaches it; within that
///   bucket the value is interpolated linearly between its lower and upper bound;
/// - a rank in the `+Inf` bucket gives the highest finite bound;
/// - a rank in the first bucket with a bound `<= 0` gives that bound, otherwise the first
///   bucket is interpolated from 0.
///
/// The value is an estimate inside the bucket [`quantile_bucket`] names; say which when it
/// is reported.
pub fn histogram_quantile(q: f64, buckets: &[Bucket]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    quantile_bucket(q, buckets).map_or(f64::NAN, |b| b.interpolated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs.iter().map(|&(upper_bound, count)| Bucket { upper_bound, count }).collect()
    }

    // Expected values worked out by hand from Prometheus' algorithm (comments give the steps).
    #[test]
    fn interpolates_linearly_within_the_bucket() {
        let h = b(&[(0.1, 50.0), (0.2, 70.0), (1.0, 90.0), (f64::INFINITY, 100.0)]);
        // rank 50 reaches the first bucket exactly: 0 + 0.1 * 50/50
        assert!((histogram_quantile(0.5, &h) - 0.1).abs() < 1e-12);
        // rank 60: between 0.1 and 0.2, 10 of 20 → 0.15
        assert!((histogram_quantile(0.6, &h) - 0.15).abs() < 1e-12);
        // rank 80: between 0.2 and 1.0, 10 of 20 → 0.6
        assert!((histogram_quantile(0.8, &h) - 0.6).abs() < 1e-12);
        // rank 25 in the first bucket: interpolated from 0
        assert!((histogram_quantile(0.25, &h) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn rank_in_the_inf_bucket_gives_the_highest_finite_bound() {
        let h = b(&[(0.1, 50.0), (0.2, 70.0), (1.0, 90.0), (f64::INFINITY, 100.0)]);
        assert_eq!(histogram_quantile(0.99, &h), 1.0);
        assert_eq!(histogram_quantile(1.0, &h), 1.0);
    }

    #[test]
    fn edge_cases_follow_prometheus() {
        let h = b(&[(0.1, 50.0), (f64::INFINITY, 100.0)]);
        assert_eq!(histogram_quantile(-0.1, &h), f64::NEG_INFINITY);
        assert_eq!(histogram_quantile(1.1, &h), f64::INFINITY);
        assert!(histogram_quantile(f64::NAN, &h).is_nan());
        assert!(histogram_quantile(0.5, &b(&[(f64::INFINITY, 3.0)])).is_nan(), "one bucket");
        assert!(histogram_quantile(0.5, &b(&[(0.1, 1.0), (0.2, 3.0)])).is_nan(), "no +Inf");
        assert!(histogram_quantile(0.5, &b(&[(0.1, 0.0), (f64::INFINITY, 0.0)])).is_nan(), "empty");
        // negative first bound: returned as is
        assert_eq!(histogram_quantile(0.1, &b(&[(-1.0, 5.0), (0.0, 8.0), (f64::INFINITY, 10.0)])), -1.0);
    }

    #[test]
    fn the_bucket_of_a_quantile_bounds_the_interpolated_value() {
        let h = b(&[(0.1, 50.0), (0.2, 70.0), (1.0, 90.0), (f64::INFINITY, 100.0)]);
        // rank 80: in (0.2, 1.0], interpolated 0.6
        let q = quantile_bucket(0.8, &h).expect("a bucket");
        assert_eq!((q.lower, q.upper), (0.2, 1.0));
        assert!((q.interpolated - 0.6).abs() < 1e-12);
        assert!(!q.unbounded());
        // rank 25 in the first bucket: (0, 0.1], from 0 as histogram_quantile assumes
        let q = quantile_bucket(0.25, &h).expect("a bucket");
        assert_eq!((q.lower, q.upper), (0.0, 0.1));
        // rank 50 exactly at a bucket's count: that bucket, at its upper bound
        let q = quantile_bucket(0.5, &h).expect("a bucket");
        assert_eq!((q.lower, q.upper, q.interpolated), (0.0, 0.1, 0.1));
        // every value agrees with histogram_quantile
        for q in [0.0, 0.1, 0.25, 0.5, 0.6, 0.75, 0.8, 0.9, 0.95, 0.99, 1.0] {
            assert_eq!(
                quantile_bucket(q, &h).map(|b| b.interpolated),
                Some(histogram_quantile(q, &h)),
                "{q}"
            );
        }
    }

    #[test]
    fn a_quantile_in_the_inf_bucket_is_only_bounded_below() {
        let h = b(&[(0.1, 50.0), (0.2, 70.0), (1.0, 90.0), (f64::INFINITY, 100.0)]);
        let q = quantile_bucket(0.99, &h).expect("a bucket");
        assert!(q.unbounded());
        assert_eq!((q.lower, q.upper), (1.0, f64::INFINITY));
        // histogram_quantile's value there is the bound, not a measurement
        assert_eq!(q.interpolated, histogram_quantile(0.99, &h));
    }

    #[test]
    fn no_bucket_where_histogram_quantile_gives_no_number() {
        let h = b(&[(0.1, 50.0), (f64::INFINITY, 100.0)]);
        assert_eq!(quantile_bucket(-0.1, &h), None);
        assert_eq!(quantile_bucket(1.1, &h), None);
        assert_eq!(quantile_bucket(f64::NAN, &h), None);
        assert_eq!(quantile_bucket(0.5, &b(&[(f64::INFINITY, 3.0)])), None, "one bucket");
        assert_eq!(quantile_bucket(0.5, &b(&[(0.1, 1.0), (0.2, 3.0)])), None, "no +Inf");
        assert_eq!(quantile_bucket(0.5, &b(&[(0.1, 0.0), (f64::INFINITY, 0.0)])), None, "empty");
        // a first bound at or below 0: nothing known below it
        let q =
            quantile_bucket(0.1, &b(&[(-1.0, 5.0), (0.0, 8.0), (f64::INFINITY, 10.0)])).expect("a bucket");
        assert_eq!((q.lower, q.upper, q.interpolated), (f64::NEG_INFINITY, -1.0, -1.0));
    }

    #[test]
    fn unsorted_duplicate_and_non_monotonic_buckets_are_repaired() {
        // out of order, a duplicate 0.2 bound (merged: 20+0 = 20), and a dip at 0.5
        let h = b(&[(f64::INFINITY, 40.0), (0.5, 15.0), (0.1, 10.0), (0.2, 20.0), (0.2, 0.0), (1.0, 40.0)]);
        // monotonic: 0.1→10, 0.2→20, 0.5→20, 1.0→40, inf→40; rank 30 in (0.5, 1.0]: 0.5 + 0.5*10/20
        assert!((histogram_quantile(0.75, &h) - 0.75).abs() < 1e-12);
    }
}
