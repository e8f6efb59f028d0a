//! Measures of the look a trajectory gives: how it uses its anchors, how much consecutive
//! frames change, and how that change follows the music (used by tests and `benches/look.rs`).

/// How a trajectory's softmax weights use its K anchors.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorUsage {
    /// Per anchor: the share of frames on which it has the largest weight (sums to 1).
    pub dominant_share: Vec<f64>,
    /// Share of frames whose largest weight is above the threshold given to [`anchor_usage`].
    pub above_threshold_share: f64,
    /// Mean over frames of the largest weight.
    pub mean_max_weight: f64,
}

impl AnchorUsage {
    /// The largest share of frames one anchor dominates.
    pub fn most_dominant_share(&self) -> f64 {
        self.dominant_share.iter().copied().fold(0.0, f64::max)
    }

    /// How many anchors dominate at least `share` of the frames.
    pub fn anchors_used(&self, share: f64) -> usize {
        self.dominant_share.iter().filter(|&&s| s >= share).count()
    }
}

/// Usage of `k` anchors from row-major N×K `weights`; `threshold` is the weight above which a
/// frame counts as held by one anchor (e.g. 0.9). Ties go to the lower anchor index. Empty
/// input (or `k = 0`) gives zero shares.
pub fn anchor_usage(weights: &[f32], k: usize, threshold: f64) -> AnchorUsage {
    let mut counts = vec![0usize; k];
    let (mut above, mut max_sum, mut frames) = (0usize, 0.0f64, 0usize);
    if k > 0 {
        for row in weights.chunks_exact(k) {
            let (best, max) = row
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) });
            counts[best] += 1;
            above += usize::from(f64::from(max) > threshold);
            max_sum += f64::from(max);
            frames += 1;
        }
    }
    let share = |c: usize| if frames == 0 { 0.0 } else { c as f64 / frames as f64 };
    AnchorUsage {
        dominant_share: counts.into_iter().map(share).collect(),
        above_threshold_share: share(above),
        mean_max_weight: if frames == 0 { 0.0 } else { max_sum / frames as f64 },
    }
}

/// Mean absolute difference between two equally long 8-bit frames, in 8-bit levels (0–255);
/// 0 when they are empty or differ in length.
pub fn mean_abs_change(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let sum: u64 = a.iter().zip(b).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    sum as f64 / a.len() as f64
}

/// Pearson correlation of two equally long series (0 when either is constant, shorter than 2,
/// or they differ in length).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    if n < 2 || n != b.len() {
        return 0.0;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n as f64, b.iter().sum::<f64>() / n as f64);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 0.0 || sbb <= 0.0 { 0.0 } else { sab / (saa * sbb).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_dominant_anchors_and_confident_frames() {
        let weights = [0.95, 0.05, 0.0, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8, 0.4, 0.4, 0.2];
        let u = anchor_usage(&weights, 3, 0.9);
        assert_eq!(u.dominant_share, vec![0.5, 0.25, 0.25]); // the 0.4/0.4 tie goes to anchor 0
        assert_eq!(u.above_threshold_share, 0.25);
        assert!((u.mean_max_weight - (0.95 + 0.5 + 0.8 + 0.4) / 4.0).abs() < 1e-6);
        assert_eq!(u.most_dominant_share(), 0.5);
        assert_eq!(u.anchors_used(0.25), 3);
        assert_eq!(anchor_usage(&[], 3, 0.9).dominant_share, vec![0.0; 3]);
        assert!(anchor_usage(&weights, 0, 0.9).dominant_share.is_empty());
    }

    #[test]
    fn change_and_correlation() {
        assert_eq!(mean_abs_change(&[0, 10, 255], &[5, 0, 250]), 20.0 / 3.0);
        assert_eq!(mean_abs_change(&[1], &[1, 2]), 0.0);
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]) - 0.9985).abs() < 1e-3);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0], &[0.0, 1.0]), 0.0);
    }
}
