//! Layer 2: a step sequencer that places kit samples on a swung grid and mixes them to stereo.

pub mod params;
pub mod pattern;

pub use params::{SongError, SongParams, SongVoice};
pub use pattern::{PatternError, parse_pattern};

use crate::dsp::level::db_to_lin;

/// Final peak level of a song, dBFS.
pub const SONG_PEAK_DB: f64 = -1.0;

/// Render a song to stereo `[left, right]`.
///
/// - `samples[i]` is voice `i`'s mono sample (extra samples are ignored; a voice without one
///   is silent).
/// - Step `k` of the song uses velocity `steps[k mod steps.len()]` (patterns repeat); a
///   velocity > 0 places the sample at [`SongParams::step_index`] scaled by
///   `velocity · 10^(gain_db/20)` and the constant-power pan `L = cos θ, R = sin θ`,
///   `θ = (pan + 1)·π/4`. Overlapping hits add (in f64, voices in order, hits in time order).
/// - Length: `max(grid_len, last sample end)`, i.e. the grid `bars · steps_per_bar · step_len`
///   plus the longest tail that rings past it.
/// - Finally both channels are scaled together so the peak is −1 dBFS; silence stays silent.
///
/// Call [`SongParams::validate`] first; out-of-range values are clamped here (never a panic),
/// non-finite sample values count as 0.
///
/// ```
/// use ntsbuild::song::{render_song, SongParams, SongVoice};
/// let params = SongParams {
///     bpm: 120.0, bars: 1, steps_per_bar: 4, swing: 0.0,
///     voices: vec![SongVoice { name: "click".into(), steps: vec![1.0], gain_db: 0.0, pan: 0.0 }],
/// };
/// let click: &[f32] = &[1.0];
/// let [left, right] = render_song(&params, &[click], 48_000);
/// assert_eq!(left.len(), 96_000); // one bar of 4/4 at 120 bpm
/// assert!(left[24_000] > 0.0 && right[48_000] > 0.0);
/// ```
pub fn render_song(params: &SongParams, samples: &[&[f32]], sample_rate_hz: u32) -> [Vec<f32>; 2] {
    if sample_rate_hz == 0 {
        return [Vec::new(), Vec::new()];
    }
    let p = sanitized(params);

    let mut len = p.grid_len(sample_rate_hz);
    for (voice, sample) in p.voices.iter().zip(samples) {
        if let Some((last, _)) = hits(&p, voice, sample_rate_hz).last() {
            len = len.max(last + sample.len());
        }
    }

    let mut left = vec![0.0f64; len];
    let mut right = vec![0.0f64; len];
    for (voice, sample) in p.voices.iter().zip(samples) {
        let theta = (voice.pan + 1.0) * std::f64::consts::FRAC_PI_4;
        let gain = db_to_lin(voice.gain_db);
        let (gl, gr) = (gain * theta.cos(), gain * theta.sin());
        for (start, velocity) in hits(&p, voice, sample_rate_hz) {
            let (l, r) = (velocity * gl, velocity * gr);
            for ((s, yl), yr) in sample.iter().zip(&mut left[start..]).zip(&mut right[start..]) {
                let s = if s.is_finite() { f64::from(*s) } else { 0.0 };
                *yl += s * l;
                *yr += s * r;
            }
        }
    }

    let peak = left.iter().chain(&right).fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = if peak > 0.0 { db_to_lin(SONG_PEAK_DB) / peak } else { 1.0 };
    let to_f32 = |ch: Vec<f64>| ch.into_iter().map(|v| (v * scale) as f32).collect();
    [to_f32(left), to_f32(right)]
}

/// `(sample index, velocity)` of every hit of `voice`, in time order.
fn hits<'a>(p: &'a SongParams, voice: &'a SongVoice, sample_rate_hz: u32) -> impl Iterator<Item = (usize, f64)> + 'a {
    let len = voice.steps.len() as u64;
    (0..p.total_steps()).filter_map(move |k| {
        let v = *voice.steps.get(usize::try_from(k % len.max(1)).ok()?)?;
        (v.is_finite() && v > 0.0).then(|| (p.step_index(k, sample_rate_hz), f64::from(v)))
    })
}

/// A copy with every field forced into its valid range (render never panics or explodes).
fn sanitized(params: &SongParams) -> SongParams {
    use params::*;
    let finite_or = |v: f64, d: f64| if v.is_finite() { v } else { d };
    let mut p = params.clone();
    p.bpm = finite_or(p.bpm, 120.0).clamp(BPM_RANGE.0, BPM_RANGE.1);
    p.steps_per_bar = p.steps_per_bar.clamp(STEPS_PER_BAR_RANGE.0, STEPS_PER_BAR_RANGE.1);
    p.swing = finite_or(p.swing, 0.0).clamp(0.0, MAX_SWING);
    let bar_s = 60.0 / p.bpm * BEATS_PER_BAR;
    let max_bars = ((MAX_DURATION_S / bar_s).floor() as u32).max(1);
    p.bars = p.bars.clamp(BARS_RANGE.0, BARS_RANGE.1.min(max_bars));
    for v in &mut p.voices {
        v.gain_db = finite_or(v.gain_db, 0.0).clamp(GAIN_DB_RANGE.0, GAIN_DB_RANGE.1);
        v.pan = finite_or(v.pan, 0.0).clamp(-1.0, 1.0);
        for s in &mut v.steps {
            *s = if s.is_finite() { s.clamp(0.0, 1.0) } else { 0.0 };
        }
    }
    p
}

#[cfg(test)]
mod tests;
