//! The tempo map: tempo changes (jumps or linear ramps) and meter changes, and exact
//! conversions between beats, seconds, samples and bar:beat positions.
//!
//! A *beat* is the unit the tempo counts (the meter's denominator note: in 6/8 at 120 BPM an
//! eighth lasts 0.5 s). Between two tempo changes the tempo is constant, or — when the later
//! change has `ramp` — moves linearly **in beats** from the earlier change's BPM to the later
//! one's. The elapsed time is then the closed-form integral of `60 / bpm(b)`:
//!
//! `t(x) = 60/r · ln(1 + r·x/v₀)`, inverse `x(t) = v₀/r · (e^(r·t/60) − 1)`,
//!
//! with `x` beats into the ramp, `v₀` its start BPM and `r` its slope in BPM per beat (`ln_1p` /
//! `exp_m1` keep both accurate for gentle ramps; `r = 0` is the constant-tempo `t = 60·x/v₀`).
//! Each segment starts at the exact time the previous one ends, so beats → seconds → beats
//! round-trips to rounding error everywhere, including across ramps.

use std::fmt;

use serde::Serialize;

/// Accepted tempo range (BPM).
pub const BPM_RANGE: (f64, f64) = (20.0, 400.0);
/// Accepted beats per bar.
pub const BEATS_PER_BAR_RANGE: (u32, u32) = (1, 32);
/// Accepted meter denominators.
pub const BEAT_UNITS: [u32; 6] = [1, 2, 4, 8, 16, 32];

/// A time signature: `beats_per_bar / beat_unit` (`6/8`: six eighths per bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Meter {
    pub beats_per_bar: u32,
    pub beat_unit: u32,
}

impl Meter {
    pub const COMMON: Meter = Meter { beats_per_bar: 4, beat_unit: 4 };

    /// Parse `"N/D"` (`"3/4"`, `"6/8"`).
    ///
    /// ```
    /// use ntsbuild::arrange::tempo::Meter;
    /// assert_eq!(Meter::parse("6/8"), Ok(Meter { beats_per_bar: 6, beat_unit: 8 }));
    /// assert!(Meter::parse("4/5").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Meter, String> {
        let bad = || {
            format!(
                "`{text}` is not a meter: write BEATS/UNIT with BEATS {}–{} and UNIT one of {}, e.g. \"3/4\"",
                BEATS_PER_BAR_RANGE.0,
                BEATS_PER_BAR_RANGE.1,
                BEAT_UNITS.map(|u| u.to_string()).join(", ")
            )
        };
        let (n, d) = text.trim().split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let d: u32 = d.trim().parse().map_err(|_| bad())?;
        if !(BEATS_PER_BAR_RANGE.0..=BEATS_PER_BAR_RANGE.1).contains(&n) || !BEAT_UNITS.contains(&d) {
            return Err(bad());
        }
        Ok(Meter { beats_per_bar: n, beat_unit: d })
    }
}

impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.beats_per_bar, self.beat_unit)
    }
}

/// A tempo change at `beat` (beats from the start of the song).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TempoChange {
    pub beat: f64,
    pub bpm: f64,
    /// Reach `bpm` at `beat` by a linear ramp from the previous change (else jump at `beat`).
    pub ramp: bool,
}

/// A meter change at the start of bar `bar` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeterChange {
    pub bar: u32,
    pub meter: Meter,
}

/// Everything a tempo map is made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TempoParams {
    /// Tempo at beat 0.
    pub bpm: f64,
    /// Meter from bar 1.
    pub meter: Meter,
    /// In increasing `beat` order, all after beat 0.
    pub changes: Vec<TempoChange>,
    /// In increasing `bar` order, all after bar 1.
    pub meters: Vec<MeterChange>,
}

impl TempoParams {
    /// A constant tempo in 4/4.
    pub fn constant(bpm: f64) -> TempoParams {
        TempoParams { bpm, meter: Meter::COMMON, changes: Vec::new(), meters: Vec::new() }
    }
}

/// Why a tempo map was rejected; indices count from 0 in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum TempoError {
    BpmOutOfRange { index: Option<usize>, bpm: f64 },
    ChangeNotAfterPrevious { index: usize, beat: f64, previous: f64 },
    MeterNotAfterPrevious { index: usize, bar: u32, previous: u32 },
}

impl fmt::Display for TempoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = BPM_RANGE;
        match self {
            TempoError::BpmOutOfRange { index: None, bpm } => {
                write!(f, "bpm {bpm} is out of range: allowed {lo} to {hi}")
            }
            TempoError::BpmOutOfRange { index: Some(i), bpm } => {
                write!(f, "tempo change {i}: bpm {bpm} is out of range: allowed {lo} to {hi}")
            }
            TempoError::ChangeNotAfterPrevious { index, beat, previous } => write!(
                f,
                "tempo change {index} at beat {beat} is not after the previous one (beat {previous}); \
                 list changes in time order, after beat 0"
            ),
            TempoError::MeterNotAfterPrevious { index, bar, previous } => write!(
                f,
                "meter change {index} at bar {bar} is not after the previous one (bar {previous}); \
                 list meter changes in bar order, after bar 1"
            ),
        }
    }
}

impl std::error::Error for TempoError {}

/// One stretch of constant tempo or of a linear ramp.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    beat0: f64,
    sec0: f64,
    bpm0: f64,
    /// BPM per beat (0 for a constant tempo).
    slope: f64,
}

impl Segment {
    fn seconds_after(&self, x: f64) -> f64 {
        if self.slope == 0.0 { 60.0 * x / self.bpm0 } else { 60.0 / self.slope * (self.slope * x / self.bpm0).ln_1p() }
    }

    fn beats_after(&self, dt: f64) -> f64 {
        if self.slope == 0.0 {
            dt * self.bpm0 / 60.0
        } else {
            self.bpm0 / self.slope * (self.slope * dt / 60.0).exp_m1()
        }
    }
}

/// A stretch of bars in one meter.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MeterSegment {
    /// 0-based index of its first bar.
    bar0: u32,
    beat0: f64,
    beats_per_bar: u32,
}

/// A validated tempo map (see the module docs for the maths).
#[derive(Debug, Clone, PartialEq)]
pub struct TempoMap {
    segments: Vec<Segment>,
    meters: Vec<MeterSegment>,
    params: TempoParams,
}

impl TempoMap {
    /// Validate `params` and build the map; every problem is reported.
    pub fn new(params: &TempoParams) -> Result<TempoMap, Vec<TempoError>> {
        let mut errors = Vec::new();
        let in_range = |v: f64| v.is_finite() && v >= BPM_RANGE.0 && v <= BPM_RANGE.1;
        if !in_range(params.bpm) {
            errors.push(TempoError::BpmOutOfRange { index: None, bpm: params.bpm });
        }
        let mut previous = 0.0;
        for (i, c) in params.changes.iter().enumerate() {
            if !in_range(c.bpm) {
                errors.push(TempoError::BpmOutOfRange { index: Some(i), bpm: c.bpm });
            }
            if !(c.beat.is_finite() && c.beat > previous) {
                errors.push(TempoError::ChangeNotAfterPrevious { index: i, beat: c.beat, previous });
            } else {
                previous = c.beat;
            }
        }
        let mut previous_bar = 1;
        for (i, m) in params.meters.iter().enumerate() {
            if m.bar <= previous_bar {
                errors.push(TempoError::MeterNotAfterPrevious { index: i, bar: m.bar, previous: previous_bar });
            } else {
                previous_bar = m.bar;
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        let mut segments = vec![Segment { beat0: 0.0, sec0: 0.0, bpm0: params.bpm, slope: 0.0 }];
        for c in &params.changes {
            let last = segments.last_mut().expect("starts with one segment");
            if c.ramp {
                last.slope = (c.bpm - last.bpm0) / (c.beat - last.beat0);
            }
            let sec0 = last.sec0 + last.seconds_after(c.beat - last.beat0);
            segments.push(Segment { beat0: c.beat, sec0, bpm0: c.bpm, slope: 0.0 });
        }

        let mut meters = vec![MeterSegment { bar0: 0, beat0: 0.0, beats_per_bar: params.meter.beats_per_bar.max(1) }];
        for m in &params.meters {
            let last = *meters.last().expect("starts with one meter");
            let bar0 = m.bar - 1;
            let beat0 = last.beat0 + f64::from(bar0 - last.bar0) * f64::from(last.beats_per_bar);
            meters.push(MeterSegment { bar0, beat0, beats_per_bar: m.meter.beats_per_bar.max(1) });
        }
        Ok(TempoMap { segments, meters, params: params.clone() })
    }

    /// A constant tempo in 4/4 (`bpm` clamped into range).
    pub fn constant(bpm: f64) -> TempoMap {
        let bpm = if bpm.is_finite() { bpm.clamp(BPM_RANGE.0, BPM_RANGE.1) } else { 120.0 };
        TempoMap::new(&TempoParams::constant(bpm)).expect("a clamped constant tempo is valid")
    }

    /// What the map was built from.
    pub fn params(&self) -> &TempoParams {
        &self.params
    }

    fn segment_at_beat(&self, beat: f64) -> &Segment {
        let i = self.segments.partition_point(|s| s.beat0 <= beat);
        &self.segments[i.saturating_sub(1)]
    }

    fn segment_at_seconds(&self, t: f64) -> &Segment {
        let i = self.segments.partition_point(|s| s.sec0 <= t);
        &self.segments[i.saturating_sub(1)]
    }

    /// Seconds from the start of the song to `beat` (beats before 0 use the first tempo).
    ///
    /// ```
    /// use ntsbuild::arrange::tempo::{TempoChange, TempoMap, TempoParams};
    /// let mut p = TempoParams::constant(120.0);
    /// p.changes.push(TempoChange { beat: 8.0, bpm: 60.0, ramp: false });
    /// let map = TempoMap::new(&p).unwrap();
    /// assert_eq!(map.seconds(8.0), 4.0);
    /// assert_eq!(map.seconds(9.0), 5.0);
    /// assert_eq!(map.beats(5.0), 9.0);
    /// ```
    pub fn seconds(&self, beat: f64) -> f64 {
        let s = self.segment_at_beat(beat);
        s.sec0 + s.seconds_after(beat - s.beat0)
    }

    /// Beats from the start of the song at time `t_s` (inverse of [`TempoMap::seconds`]).
    pub fn beats(&self, t_s: f64) -> f64 {
        let s = self.segment_at_seconds(t_s);
        s.beat0 + s.beats_after(t_s - s.sec0)
    }

    /// The tempo at `beat`, in BPM.
    pub fn bpm_at(&self, beat: f64) -> f64 {
        let s = self.segment_at_beat(beat);
        s.bpm0 + s.slope * (beat - s.beat0).max(0.0)
    }

    /// The sample at `beat`: `round(seconds(beat) · sr)` (half away from zero), never negative.
    pub fn sample_at(&self, beat: f64, sample_rate_hz: u32) -> usize {
        let n = (self.seconds(beat) * f64::from(sample_rate_hz)).round();
        if n.is_finite() && n > 0.0 { n as usize } else { 0 }
    }

    /// Beats from the start to the start of `bar` (1-based), through the meter changes.
    pub fn bar_start_beat(&self, bar: u32) -> f64 {
        let bar0 = bar.saturating_sub(1);
        let i = self.meters.partition_point(|m| m.bar0 <= bar0);
        let m = &self.meters[i.saturating_sub(1)];
        m.beat0 + f64::from(bar0 - m.bar0) * f64::from(m.beats_per_bar)
    }

    /// Beats from the start to `bar:beat` (both 1-based; `beat` may be fractional).
    ///
    /// ```
    /// use ntsbuild::arrange::tempo::{Meter, MeterChange, TempoMap, TempoParams};
    /// let mut p = TempoParams::constant(120.0);
    /// p.meters.push(MeterChange { bar: 3, meter: Meter { beats_per_bar: 3, beat_unit: 4 } });
    /// let map = TempoMap::new(&p).unwrap();
    /// assert_eq!(map.beat_of(3, 1.0), 8.0);
    /// assert_eq!(map.beat_of(4, 2.5), 12.5);
    /// assert_eq!(map.bar_beat(12.5), (4, 2.5));
    /// ```
    pub fn beat_of(&self, bar: u32, beat: f64) -> f64 {
        self.bar_start_beat(bar) + (beat - 1.0)
    }

    /// Beats per bar of `bar` (1-based).
    pub fn beats_per_bar(&self, bar: u32) -> u32 {
        let bar0 = bar.saturating_sub(1);
        let i = self.meters.partition_point(|m| m.bar0 <= bar0);
        self.meters[i.saturating_sub(1)].beats_per_bar
    }

    /// `(bar, beat)` of a position, both 1-based (`beat` keeps the fraction).
    pub fn bar_beat(&self, beat: f64) -> (u32, f64) {
        let beat = beat.max(0.0);
        let i = self.meters.partition_point(|m| m.beat0 <= beat);
        let m = &self.meters[i.saturating_sub(1)];
        let bpb = f64::from(m.beats_per_bar);
        let bars_in = ((beat - m.beat0) / bpb).floor();
        let bar = m.bar0 as f64 + bars_in;
        let bar = if bar >= f64::from(u32::MAX - 1) { u32::MAX - 1 } else { bar as u32 };
        (bar + 1, beat - m.beat0 - bars_in * bpb + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 48_000;

    fn ramped() -> TempoMap {
        // 100 BPM; ramp up to 160 at beat 16; hold; jump to 90 at beat 24; ramp down to 70 at 40.
        let p = TempoParams {
            bpm: 100.0,
            meter: Meter::COMMON,
            changes: vec![
                TempoChange { beat: 16.0, bpm: 160.0, ramp: true },
                TempoChange { beat: 24.0, bpm: 90.0, ramp: false },
                TempoChange { beat: 40.0, bpm: 70.0, ramp: true },
            ],
            meters: vec![MeterChange { bar: 5, meter: Meter { beats_per_bar: 7, beat_unit: 8 } }],
        };
        TempoMap::new(&p).unwrap()
    }

    /// Composite Simpson integral of 60/bpm(b) over [0, beat], piece by piece between the
    /// tempo changes (the integrand jumps or bends there).
    fn integral(map: &TempoMap, beat: f64) -> f64 {
        let mut cuts = vec![0.0];
        cuts.extend(map.params().changes.iter().map(|c| c.beat).filter(|b| *b < beat));
        cuts.push(beat);
        let f = |b: f64| 60.0 / map.bpm_at(b);
        let mut total = 0.0;
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let n = 2000;
            let h = (b - a) / n as f64;
            // Evaluate just inside the piece so a jump at its ends is not sampled.
            let g = |x: f64| f(x.clamp(a + 1e-12, b - 1e-12));
            let mut sum = g(a) + g(b);
            for i in 1..n {
                sum += if i % 2 == 1 { 4.0 } else { 2.0 } * g(a + i as f64 * h);
            }
            total += sum * h / 3.0;
        }
        total
    }

    #[test]
    fn constant_tempo_is_the_seed_formula() {
        let map = TempoMap::constant(128.0);
        for b in [0.0, 1.0, 3.5, 100.0] {
            assert_eq!(map.seconds(b), b * 60.0 / 128.0);
        }
        assert_eq!(map.sample_at(4.0, SR), 90_000);
    }

    #[test]
    fn ramps_match_the_integral_of_the_tempo_curve() {
        let map = ramped();
        assert_eq!(map.bpm_at(8.0), 130.0);
        assert_eq!(map.bpm_at(16.0), 160.0);
        assert_eq!(map.bpm_at(32.0), 80.0);
        for b in [3.0, 8.0, 16.0, 20.0, 24.0, 31.0, 40.0, 47.5] {
            let want = integral(&map, b);
            assert!((map.seconds(b) - want).abs() < 1e-9, "beat {b}: {} vs {want}", map.seconds(b));
        }
        // Closed form of the first ramp: 60·16/60 · ln(160/100) seconds.
        assert!((map.seconds(16.0) - 16.0 * (1.6f64).ln()).abs() < 1e-12);
    }

    #[test]
    fn beats_and_seconds_round_trip_across_ramps() {
        let map = ramped();
        for i in 0..=6000 {
            let b = i as f64 * 0.01;
            let back = map.beats(map.seconds(b));
            assert!((back - b).abs() < 1e-10, "beat {b} → {back}");
        }
        for i in 0..=3000 {
            let t = i as f64 * 0.01;
            assert!((map.seconds(map.beats(t)) - t).abs() < 1e-10, "t {t}");
        }
        // Sample positions round-trip exactly.
        for i in 0..2000 {
            let b = i as f64 * 0.0271;
            let n = map.sample_at(b, SR);
            let again = map.sample_at(map.beats(n as f64 / f64::from(SR)), SR);
            assert_eq!(n, again, "beat {b}");
        }
        // Time is strictly increasing.
        let mut prev = -1.0;
        for i in 0..5000 {
            let t = map.seconds(i as f64 * 0.01);
            assert!(t > prev);
            prev = t;
        }
    }

    #[test]
    fn gentle_ramps_stay_accurate() {
        let p = TempoParams {
            changes: vec![TempoChange { beat: 64.0, bpm: 120.000_001, ramp: true }],
            ..TempoParams::constant(120.0)
        };
        let map = TempoMap::new(&p).unwrap();
        assert!((map.seconds(64.0) - 32.0).abs() < 1e-6);
        assert!((map.beats(map.seconds(50.0)) - 50.0).abs() < 1e-10);
    }

    #[test]
    fn bars_follow_meter_changes() {
        let map = ramped();
        assert_eq!(map.bar_start_beat(1), 0.0);
        assert_eq!(map.bar_start_beat(5), 16.0);
        assert_eq!(map.bar_start_beat(6), 23.0);
        assert_eq!(map.beats_per_bar(4), 4);
        assert_eq!(map.beats_per_bar(6), 7);
        assert_eq!(map.bar_beat(0.0), (1, 1.0));
        assert_eq!(map.bar_beat(15.5), (4, 4.5));
        assert_eq!(map.bar_beat(23.0), (6, 1.0));
        for bar in 1..20 {
            for beat in 1..=map.beats_per_bar(bar) {
                let b = map.beat_of(bar, f64::from(beat));
                assert_eq!(map.bar_beat(b), (bar, f64::from(beat)));
            }
        }
    }

    #[test]
    fn rejects_bad_maps_with_every_problem() {
        let p = TempoParams {
            bpm: 10.0,
            meter: Meter::COMMON,
            changes: vec![
                TempoChange { beat: 4.0, bpm: 500.0, ramp: false },
                TempoChange { beat: 4.0, bpm: 100.0, ramp: true },
                TempoChange { beat: f64::NAN, bpm: 100.0, ramp: true },
            ],
            meters: vec![MeterChange { bar: 1, meter: Meter::COMMON }],
        };
        let errs = TempoMap::new(&p).unwrap_err();
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(errs[0].to_string().contains("allowed 20 to 400"));
        assert!(errs[2].to_string().contains("not after the previous"));
    }
}
