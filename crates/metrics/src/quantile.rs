//! Quantiles from cumulative histogram buckets, exactly as Prometheus' `histogram_quantile`.

/// One cumulative bucket: how many observations were `<= upper_bound`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bucket {
    /// The bucket's `le`.
    pub upper_bound: f64,
    /// Cumulative count of observations at or below `upper_bound`.
    pub count: f64,
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
    let mut sorted: Vec<Bucket> = buckets.iter().copied().filter(|b| !b.upper_bound.is_nan()).collect();
    sorted.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    // Merge buckets with the same bound (Prometheus' coalesceBuckets).
    let mut merged: Vec<Bucket> = Vec::with_capacity(sorted.len());
    for b in sorted {
        match merged.last_mut() {
            Some(last) if last.upper_bound == b.upper_bound => last.count += b.count,
            _ => merged.push(b),
        }
    }
    if merged.len() < 2 || merged.last().is_none_or(|b| b.upper_bound != f64::INFINITY) {
        return f64::NAN;
    }
    // Counts must not decrease (Prometheus' ensureMonotonic).
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.count < max {
            b.count = max;
        } else {
            max = b.count;
        }
    }
    let n = merged.len();
    let observations = merged[n - 1].count;
    if observations == 0.0 || observations.is_nan() {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = merged.iter().position(|bucket| bucket.count >= rank).unwrap_or(n - 1);
    if b == n - 1 {
        return merged[n - 2].upper_bound;
    }
    if b == 0 && merged[0].upper_bound <= 0.0 {
        return merged[0].upper_bound;
    }
    let mut bucket_start = 0.0;
    let bucket_end = merged[b].upper_bound;
    let mut count = merged[b].count;
    if b > 0 {
        bucket_start = merged[b - 1].upper_bound;
        count -= merged[b - 1].count;
        rank -= merged[b - 1].count;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
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
    fn unsorted_duplicate_and_non_monotonic_buckets_are_repaired() {
        // out of order, a duplicate 0.2 bound (merged: 20+0 = 20), and a dip at 0.5
        let h = b(&[(f64::INFINITY, 40.0), (0.5, 15.0), (0.1, 10.0), (0.2, 20.0), (0.2, 0.0), (1.0, 40.0)]);
        // monotonic: 0.1→10, 0.2→20, 0.5→20, 1.0→40, inf→40; rank 30 in (0.5, 1.0]: 0.5 + 0.5*10/20
        assert!((histogram_quantile(0.75, &h) - 0.75).abs() < 1e-12);
    }
}
