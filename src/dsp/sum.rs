//! Deterministic multi-lane f64 sums: a fixed association order that the compiler can
//! vectorise (a plain `iter().sum()` is one serial add chain, latency-bound).

/// Independent accumulators per sum.
pub const LANES: usize = 8;

#[inline(always)]
fn combine(acc: [f64; LANES]) -> f64 {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// `Σ f(x)` over `xs`, element `i` going to lane `i % LANES`.
///
/// ```
/// let s = ntsbuild::dsp::sum::sum_map(&[1.0f32, 2.0, 3.0], |x| f64::from(x) * 2.0);
/// assert_eq!(s, 12.0);
/// ```
#[inline(always)]
pub fn sum_map<T: Copy>(xs: &[T], f: impl Fn(T) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(x);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a += f(x);
    }
    combine(acc)
}

/// `Σ f(a_i, b_i)` over the common length of `a` and `b`, lanes as in [`sum_map`].
#[inline(always)]
pub fn dot_map<A: Copy, B: Copy>(a: &[A], b: &[B], f: impl Fn(A, B) -> f64) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(xa).zip(xb) {
            *s += f(x, y);
        }
    }
    for ((s, &x), &y) in acc.iter_mut().zip(ra).zip(rb) {
        *s += f(x, y);
    }
    combine(acc)
}

/// [`dot_map`] over whole groups of [`LANES`] elements only: equal to it when the common length
/// is a multiple of `LANES` (elements past the last whole group are not summed). Without a
/// remainder to fold in, the lanes stay in registers instead of going through memory.
#[inline(always)]
pub fn dot_map_whole_lanes<A: Copy, B: Copy>(a: &[A], b: &[B], f: impl Fn(A, B) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    for (xa, xb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for ((s, &x), &y) in acc.iter_mut().zip(xa).zip(xb) {
            *s += f(x, y);
        }
    }
    combine(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exact_sums_of_integers() {
        let xs: Vec<f32> = (0..1025).map(|i| i as f32).collect();
        assert_eq!(sum_map(&xs, f64::from), 1024.0 * 1025.0 / 2.0);
        assert_eq!(dot_map(&xs, &xs[..3], |a, b| f64::from(a * b)), 5.0);
    }

    #[test]
    fn whole_lanes_equal_dot_map_bit_for_bit() {
        let a: Vec<f32> = (0..48).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 + 0.1).collect();
        let b: Vec<f32> = (0..48).map(|i| ((i * 104_729) % 997) as f32 * 3e-2).collect();
        let f = |x: f32, y: f32| f64::from(x) * f64::from(y);
        for n in (0..=48).step_by(LANES) {
            assert_eq!(dot_map_whole_lanes(&a[..n], &b[..n], f).to_bits(), dot_map(&a[..n], &b[..n], f).to_bits());
        }
        // Past the last whole group nothing is summed.
        assert_eq!(dot_map_whole_lanes(&a[..11], &b[..11], f), dot_map(&a[..8], &b[..8], f));
    }
}
