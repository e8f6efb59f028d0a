//! Memoryless clippers and saturators.

/// Clamp to `±threshold`.
#[inline]
pub fn hard_clip(x: f64, threshold: f64) -> f64 {
    x.clamp(-threshold, threshold)
}

/// `T·tanh(x/T)`: unit slope at 0, asymptote `±T`.
#[inline]
pub fn tanh_clip(x: f64, threshold: f64) -> f64 {
    threshold * (x / threshold).tanh()
}

/// `T·tanh(x)`: saturation of the whole range towards a ceiling `T` — small signals pass at
/// gain `T`, full scale comes out at `0.76·T`, and nothing exceeds `T` (seed 001's soft clip).
///
/// ```
/// use ntsbuild::dsp::clip::tanh_ceiling;
/// assert!((tanh_ceiling(1e-3, 0.9) - 0.9e-3).abs() < 1e-9);
/// assert!(tanh_ceiling(100.0, 0.9) <= 0.9);
/// ```
#[inline]
pub fn tanh_ceiling(x: f64, ceiling: f64) -> f64 {
    ceiling * x.tanh()
}

/// Linear below `knee`, then a tanh curve that leaves the knee with unit slope and approaches
/// `threshold` asymptotically: `k + (T − k)·tanh((|x| − k)/(T − k))`, sign restored.
/// Requires `0 ≤ knee < threshold`; otherwise falls back to a hard clip at `threshold`.
///
/// ```
/// use ntsbuild::dsp::clip::soft_clip_knee;
/// assert_eq!(soft_clip_knee(0.5, 0.9, 0.7), 0.5);
/// assert!(soft_clip_knee(10.0, 0.9, 0.7) <= 0.9);
/// assert!(soft_clip_knee(-10.0, 0.9, 0.7) >= -0.9);
/// ```
#[inline]
pub fn soft_clip_knee(x: f64, threshold: f64, knee: f64) -> f64 {
    let a = x.abs();
    if a <= knee {
        return x;
    }
    let span = threshold - knee;
    if !(span > 0.0 && knee >= 0.0) {
        return hard_clip(x, threshold);
    }
    (knee + span * ((a - knee) / span).tanh()).copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knee_clip_is_continuous_monotonic_and_bounded() {
        let (t, k) = (0.912, 0.73);
        let mut prev = f64::MIN;
        for i in -3000..=3000 {
            let x = i as f64 / 1000.0;
            let y = soft_clip_knee(x, t, k);
            assert!(y >= prev);
            assert!(y.abs() <= t);
            prev = y;
        }
        let eps = 1e-9;
        assert!((soft_clip_knee(k + eps, t, k) - (k + eps)).abs() < 1e-12);
    }

    #[test]
    fn hard_and_tanh() {
        assert_eq!(hard_clip(2.0, 0.5), 0.5);
        assert_eq!(hard_clip(-2.0, 0.5), -0.5);
        assert!(tanh_clip(100.0, 0.8) <= 0.8);
        assert!((tanh_clip(1e-6, 0.8) - 1e-6).abs() < 1e-15);
    }
}
