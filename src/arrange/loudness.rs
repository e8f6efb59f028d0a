//! Loudness of a stereo programme by ITU-R BS.1770-4 / EBU R128 (the `ebur128` crate: K-weighting,
//! 400 ms momentary and 3 s short-term windows, −70 LUFS absolute and −10 LU relative gates,
//! 4× oversampled true peak), plus per-channel RMS, crest factor and a per-beat table — the
//! seed's loudness rows with BS.1770's gating and channel sum instead of its ungated channel mean.
//!
//! Levels that do not exist (the integrated loudness of silence, a momentary loudness before
//! 400 ms) are `None`; RMS and peaks use the seed's floor of 1e-9 (−180 dBFS).

use std::fmt;

use ebur128::{EbuR128, Mode};
use serde::Serialize;

use super::automation::SmoothingWindow;
use super::tempo::TempoMap;

/// Amplitude floor for dB values (the seed's).
pub const FLOOR: f64 = 1e-9;

/// A measurement failure (the analyser refused the format).
#[derive(Debug, Clone, PartialEq)]
pub struct LoudnessError(pub String);

impl fmt::Display for LoudnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loudness analysis: {}", self.0)
    }
}

impl std::error::Error for LoudnessError {}

fn err(e: ebur128::Error) -> LoudnessError {
    LoudnessError(format!("{e:?}"))
}

/// `20·log10(max(x, 1e-9))`.
pub fn db(x: f64) -> f64 {
    20.0 * x.max(FLOOR).log10()
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The programme-wide figures (`loudness.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoudnessSummary {
    /// Gated integrated loudness, LUFS (`None` for silence).
    pub integrated_lufs: Option<f64>,
    /// EBU Tech 3342 loudness range, LU.
    pub loudness_range_lu: Option<f64>,
    pub sample_peak_dbfs: f64,
    pub true_peak_dbtp: f64,
    /// RMS of each channel, dBFS.
    pub rms_dbfs: [f64; 2],
    /// Sample peak over the RMS of both channels together, dB.
    pub crest_factor_db: f64,
}

/// One row per beat (`loudness.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BeatRow {
    /// 1-based bar and beat in the bar.
    pub bar: u32,
    pub beat: u32,
    /// When the beat starts, seconds.
    pub time_s: f64,
    /// Momentary (400 ms) and short-term (3 s) loudness of the windows ending with the beat.
    pub momentary_lufs: Option<f64>,
    pub short_term_lufs: Option<f64>,
    /// RMS and sample peak over the beat.
    pub rms_dbfs_l: f64,
    pub rms_dbfs_r: f64,
    pub peak_dbfs: f64,
}

/// A programme's loudness: the summary and the beat rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loudness {
    pub summary: LoudnessSummary,
    pub rows: Vec<BeatRow>,
}

/// What `loudness.json` holds: the summary, the master settings it can be checked against, and
/// the automation smoothing windows applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoudnessReport {
    #[serde(flatten)]
    pub summary: LoudnessSummary,
    pub target_lufs: Option<f64>,
    pub true_peak_ceiling_dbtp: Option<f64>,
    pub smoothing: Vec<SmoothingWindow>,
}

fn rms(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>() / x.len() as f64).sqrt()
}

fn meter(channels: u32, sample_rate_hz: u32) -> Result<EbuR128, LoudnessError> {
    EbuR128::new(channels, sample_rate_hz, Mode::I | Mode::LRA | Mode::TRUE_PEAK).map_err(err)
}

/// The integrated loudness (LUFS; `None` for silence) and the true peak (linear, max over the
/// channels) of a stereo programme.
pub fn integrated_and_true_peak(
    left: &[f32],
    right: &[f32],
    sample_rate_hz: u32,
) -> Result<(Option<f64>, f64), LoudnessError> {
    let n = left.len().min(right.len());
    let mut m = ProgrammeMeter::new(sample_rate_hz)?;
    m.add(&left[..n], &right[..n])?;
    m.finish()
}

/// [`integrated_and_true_peak`] of a stereo programme given in pieces (the same numbers however
/// it is cut: the meter keeps its state between pieces).
pub struct ProgrammeMeter(EbuR128);

impl ProgrammeMeter {
    pub fn new(sample_rate_hz: u32) -> Result<ProgrammeMeter, LoudnessError> {
        meter(2, sample_rate_hz).map(ProgrammeMeter)
    }

    /// The next piece (both channels of one length).
    pub fn add(&mut self, left: &[f32], right: &[f32]) -> Result<(), LoudnessError> {
        self.0.add_frames_planar_f32(&[left, right]).map_err(err)
    }

    /// The integrated loudness (LUFS; `None` for silence) and the true peak (linear, max over
    /// the channels).
    pub fn finish(self) -> Result<(Option<f64>, f64), LoudnessError> {
        let m = self.0;
        let tp = m.true_peak(0).map_err(err)?.max(m.true_peak(1).map_err(err)?);
        Ok((finite(m.loudness_global().map_err(err)?), tp))
    }
}

/// Measure a stereo programme and tabulate it beat by beat through `tempo`.
///
/// Beat `k` covers samples `round(seconds(k)·sr) .. round(seconds(k+1)·sr)` (the last one is
/// cut at the end of the audio). A drum-pattern song passes `TempoMap::constant(bpm)`.
pub fn analyze(left: &[f32], right: &[f32], sample_rate_hz: u32, tempo: &TempoMap) -> Result<Loudness, LoudnessError> {
    let n = left.len().min(right.len());
    analyze_frames(n, sample_rate_hz, tempo, |start, l, r| {
        l.copy_from_slice(&left[start..start + l.len()]);
        r.copy_from_slice(&right[start..start + r.len()]);
    })
}

/// [`analyze`] of a programme of `n` frames that `read(start, left, right)` hands over a beat
/// at a time (samples `start .. start + left.len()`), so it is never held whole: the same
/// numbers.
pub fn analyze_frames(
    n: usize,
    sample_rate_hz: u32,
    tempo: &TempoMap,
    mut read: impl FnMut(usize, &mut [f32], &mut [f32]),
) -> Result<Loudness, LoudnessError> {
    let mut m = meter(2, sample_rate_hz)?;
    let mut rows = Vec::new();
    let (mut l, mut r) = (Vec::new(), Vec::new());
    // Σ x² per channel over the whole programme, in sample order (as `rms` sums).
    let mut squares = [0.0f64; 2];
    let mut k = 0u32;
    let mut start = 0usize;
    while start < n || (n == 0 && k == 0) {
        let end = tempo.sample_at(f64::from(k + 1), sample_rate_hz).min(n).max(start);
        l.resize(end - start, 0.0);
        r.resize(end - start, 0.0);
        read(start, &mut l, &mut r);
        for (sum, x) in squares.iter_mut().zip([&l, &r]) {
            for v in x.iter() {
                *sum += f64::from(*v) * f64::from(*v);
            }
        }
        if !l.is_empty() {
            m.add_frames_planar_f32(&[&l, &r]).map_err(err)?;
        }
        let peak = if l.is_empty() {
            0.0
        } else {
            m.prev_sample_peak(0).map_err(err)?.max(m.prev_sample_peak(1).map_err(err)?)
        };
        let (bar, beat) = tempo.bar_beat(f64::from(k));
        rows.push(BeatRow {
            bar,
            beat: beat.round() as u32,
            time_s: tempo.seconds(f64::from(k)),
            momentary_lufs: finite(m.loudness_momentary().map_err(err)?),
            short_term_lufs: finite(m.loudness_shortterm().map_err(err)?),
            rms_dbfs_l: db(rms(&l)),
            rms_dbfs_r: db(rms(&r)),
            peak_dbfs: db(peak),
        });
        if end == start {
            break;
        }
        start = end;
        k += 1;
    }
    let sample_peak = m.sample_peak(0).map_err(err)?.max(m.sample_peak(1).map_err(err)?);
    let true_peak = m.true_peak(0).map_err(err)?.max(m.true_peak(1).map_err(err)?);
    let whole_rms = |sum: f64| if n == 0 { 0.0 } else { (sum / n as f64).sqrt() };
    let (rl, rr) = (whole_rms(squares[0]), whole_rms(squares[1]));
    let both = ((rl * rl + rr * rr) / 2.0).sqrt();
    let summary = LoudnessSummary {
        integrated_lufs: finite(m.loudness_global().map_err(err)?),
        loudness_range_lu: finite(m.loudness_range().map_err(err)?),
        sample_peak_dbfs: db(sample_peak),
        true_peak_dbtp: db(true_peak),
        rms_dbfs: [db(rl), db(rr)],
        crest_factor_db: db(sample_peak) - db(both),
    };
    Ok(Loudness { summary, rows })
}

#[cfg(test)]
mod tests {
    //! EBU Tech 3341 (loudness) and Tech 3342 (loudness range) test signals, generated here.
    use super::*;

    const SR: u32 = 48_000;

    /// A 1 kHz stereo sine whose level steps through `(dBFS, seconds)` segments, phase-continuous.
    fn steps(segments: &[(f64, f64)], freq: f64) -> (Vec<f32>, Vec<f32>) {
        let mut x = Vec::new();
        let mut i = 0usize;
        for &(dbfs, secs) in segments {
            let a = 10f64.powf(dbfs / 20.0);
            for _ in 0..(secs * f64::from(SR)).round() as usize {
                x.push((a * (std::f64::consts::TAU * freq * i as f64 / f64::from(SR)).sin()) as f32);
                i += 1;
            }
        }
        (x.clone(), x)
    }

    fn integrated(segments: &[(f64, f64)]) -> f64 {
        let (l, r) = steps(segments, 1000.0);
        analyze(&l, &r, SR, &TempoMap::constant(120.0)).unwrap().summary.integrated_lufs.unwrap()
    }

    #[test]
    fn tech_3341_integrated_loudness_cases() {
        // Cases 1–5 of EBU Tech 3341 (minimum requirements), ±0.1 LU.
        let cases: [(&[(f64, f64)], f64); 5] = [
            (&[(-23.0, 20.0)], -23.0),
            (&[(-33.0, 20.0)], -33.0),
            (&[(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),
            (&[(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)], -23.0),
            (&[(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0),
        ];
        for (i, (segments, want)) in cases.iter().enumerate() {
            let have = integrated(segments);
            assert!((have - want).abs() <= 0.1, "case {}: {have:.3} LUFS, want {want}", i + 1);
        }
    }

    #[test]
    fn tech_3341_momentary_and_short_term_are_steady_for_a_steady_tone() {
        let (l, r) = steps(&[(-23.0, 20.0)], 1000.0);
        let a = analyze(&l, &r, SR, &TempoMap::constant(120.0)).unwrap();
        // 120 BPM: 40 beats of 0.5 s; rows from 3 s on have full short-term windows.
        assert_eq!(a.rows.len(), 40);
        for row in &a.rows[6..] {
            assert!((row.momentary_lufs.unwrap() + 23.0).abs() <= 0.1, "{row:?}");
            assert!((row.short_term_lufs.unwrap() + 23.0).abs() <= 0.1, "{row:?}");
            assert!((row.rms_dbfs_l - (-23.0 - 3.0103)).abs() < 0.01, "{row:?}");
            assert!((row.peak_dbfs + 23.0).abs() < 0.01);
        }
        assert_eq!((a.rows[4].bar, a.rows[4].beat, a.rows[4].time_s), (2, 1, 2.0));
        // Seed check: a 0.5-amplitude sine reads −9.03 dBFS RMS.
        let (l, r) = steps(&[(20.0 * 0.5f64.log10(), 2.0)], 1000.0);
        let s = analyze(&l, &r, SR, &TempoMap::constant(120.0)).unwrap().summary;
        assert!((s.rms_dbfs[0] + 9.03).abs() < 0.15 && (s.rms_dbfs[1] + 9.03).abs() < 0.15);
        assert!((s.crest_factor_db - 3.0103).abs() < 0.01);
    }

    #[test]
    fn tech_3342_loudness_range_cases() {
        // Cases 1–3 of EBU Tech 3342: two 20 s tones, ±1 LU (met to 0.05 LU).
        for (a, b, want) in [(-20.0, -30.0, 10.0), (-20.0, -15.0, 5.0), (-40.0, -20.0, 20.0)] {
            let (l, r) = steps(&[(a, 20.0), (b, 20.0)], 1000.0);
            let lra = analyze(&l, &r, SR, &TempoMap::constant(120.0)).unwrap().summary.loudness_range_lu.unwrap();
            assert!((lra - want).abs() <= 0.05, "{a}/{b}: LRA {lra:.2}");
        }
    }

    #[test]
    fn tech_3341_true_peak_of_a_quarter_rate_sine() {
        // fs/4 sampled 45° off its peaks: every sample is at ±0.707 (−3.01 dBFS) while the
        // waveform reaches 0 dBFS in between (Tech 3341 true-peak cases), tolerance +0.2/−0.4 dB.
        let x: Vec<f32> = (0..SR as usize)
            .map(|i| (std::f64::consts::TAU * 0.25 * i as f64 + std::f64::consts::FRAC_PI_4).sin() as f32)
            .collect();
        let s = analyze(&x, &x, SR, &TempoMap::constant(120.0)).unwrap().summary;
        assert!((s.sample_peak_dbfs + 3.0103).abs() < 0.01, "{}", s.sample_peak_dbfs);
        assert!(s.true_peak_dbtp > -0.4 && s.true_peak_dbtp < 0.2, "{}", s.true_peak_dbtp);
        let (_, tp) = integrated_and_true_peak(&x, &x, SR).unwrap();
        assert!((db(tp) - s.true_peak_dbtp).abs() < 1e-9);
    }

    #[test]
    fn silence_has_no_loudness_and_floors_its_levels() {
        let z = vec![0.0f32; 48_000];
        let a = analyze(&z, &z, SR, &TempoMap::constant(60.0)).unwrap();
        assert_eq!(a.summary.integrated_lufs, None);
        assert_eq!(a.summary.rms_dbfs, [-180.0, -180.0]);
        assert_eq!(a.rows.len(), 1);
        assert_eq!(a.rows[0].momentary_lufs, None);
        let e = analyze(&[], &[], SR, &TempoMap::constant(60.0)).unwrap();
        assert_eq!(e.rows.len(), 1);
    }

    #[test]
    fn rows_follow_tempo_and_meter_changes() {
        use crate::arrange::tempo::{Meter, MeterChange, TempoChange, TempoParams};
        let p = TempoParams {
            bpm: 120.0,
            meter: Meter { beats_per_bar: 3, beat_unit: 4 },
            changes: vec![TempoChange { beat: 3.0, bpm: 60.0, ramp: false }],
            meters: vec![MeterChange { bar: 2, meter: Meter { beats_per_bar: 2, beat_unit: 4 } }],
        };
        let tempo = TempoMap::new(&p).unwrap();
        let (l, r) = steps(&[(-20.0, 3.5)], 440.0);
        let rows = analyze(&l, &r, SR, &tempo).unwrap().rows;
        let got: Vec<(u32, u32, f64)> = rows.iter().map(|r| (r.bar, r.beat, r.time_s)).collect();
        assert_eq!(got, [(1, 1, 0.0), (1, 2, 0.5), (1, 3, 1.0), (2, 1, 1.5), (2, 2, 2.5)]);
    }
}
