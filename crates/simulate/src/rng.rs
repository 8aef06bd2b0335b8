//! A small deterministic random number generator and the distributions the traffic needs.
//!
//! Hand-rolled so the output for a seed never changes with a dependency's version:
//! SplitMix64 to derive seeds, xoshiro256++ to draw.

/// SplitMix64 step: a good 64-bit mix, used to derive independent seeds from one.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a few words into one seed (order matters).
pub fn hash(words: &[u64]) -> u64 {
    words.iter().fold(0x5EED_u64, |acc, &w| mix64(acc ^ mix64(w)))
}

/// xoshiro256++.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed` (any value, including 0).
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut s = [0u64; 4];
        for slot in &mut s {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *slot = mix64(z);
        }
        Rng { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = (self.s[0].wrapping_add(self.s[3])).rotate_left(23).wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for traffic shapes, and branch-free.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box–Muller; one value per call keeps the stream simple).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64(); // (0, 1]: ln is finite
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and log-space sigma.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson-distributed count with mean `lambda`.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            // Knuth: multiply uniforms until below e^-lambda.
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut p = self.f64();
            while p > limit {
                k += 1;
                p *= self.f64();
            }
            k
        } else {
            // Normal approximation: at these means the shape difference is invisible in traffic.
            let v = lambda + lambda.sqrt() * self.normal();
            v.round().max(0.0) as u64
        }
    }

    /// 128 random bits, for UUIDs.
    pub fn u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seeds_differ() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let c = Rng::new(8).next_u64();
        assert_eq!(a, b);
        assert_ne!(a[0], c);
    }

    #[test]
    fn distributions_have_the_right_centre() {
        let mut r = Rng::new(1);
        let n = 20_000;
        let mean_poisson = (0..n).map(|_| r.poisson(4.0)).sum::<u64>() as f64 / n as f64;
        assert!((mean_poisson - 4.0).abs() < 0.1, "{mean_poisson}");
        let big = (0..n).map(|_| r.poisson(100.0)).sum::<u64>() as f64 / n as f64;
        assert!((big - 100.0).abs() < 1.0, "{big}");
        let mut ln: Vec<f64> = (0..n).map(|_| r.lognormal(0.01, 0.5)).collect();
        ln.sort_by(f64::total_cmp);
        let median = ln[n / 2];
        assert!((median - 0.01).abs() < 0.0005, "{median}");
        assert!((0..n).all(|_| r.below(10) < 10));
        assert_eq!(r.below(0), 0);
    }
}
