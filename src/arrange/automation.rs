//! Automation lanes in beat time, with the seed's lane tokens, resolved to sample-exact control
//! changes.
//!
//! A lane is written `INSTRUMENT.MODULE.PARAM|token|token…` with points `[beat, value]`. Each
//! point sets the parameter from its beat on (values hold between points, as the seed's events
//! do). Tokens:
//!
//! - value mode: `normalized` (default: 0–1 across the parameter's range), `percent` (0–100),
//!   `raw` (the parameter's own unit), `range=a:b` (normalised/percent values span `a`…`b`
//!   instead of the full range; `a > b` inverts);
//! - `curve=exp[:k]` (`x^k`, k = 2), `curve=log[:k]` (`x^(1/k)`), `curve=s_curve[:k]`
//!   (smoothstep `3x² − 2x³`; `k ≠ 1` sharpens it as `s^k / (s^k + (1 − s)^k)`),
//!   `curve=linear`: the shape applied to a normalised value before it is scaled;
//! - `smooth=5ms`, `smooth=0.5s`, `smooth=0.02beats` (or a bare number of beats), optionally
//!   `:N` segments: instead of jumping, the value moves linearly from the previous one over the
//!   window that ends at the point. Without `:N` the ramp is per sample (ntsbuild applies
//!   automation sample-accurately); with `:N` it moves in N equal steps, the seed's staircase.
//!   A window never reaches back past the previous point (or the song start); the windows
//!   actually applied are returned as [`SmoothingWindow`]s for reports.

use std::fmt;

use serde::Serialize;

use super::schema::ParamSpec;
use super::tempo::TempoMap;

/// How a lane's values map onto the parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum ValueMode {
    Normalized,
    Percent,
    Raw,
}

/// The shape applied to a normalised value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Curve {
    Linear,
    Exp(f64),
    Log(f64),
    SCurve(f64),
}

impl Curve {
    /// The curve at `x` ∈ [0, 1] (clamped).
    ///
    /// ```
    /// use ntsbuild::arrange::automation::Curve;
    /// assert_eq!(Curve::Exp(2.0).apply(0.5), 0.25);
    /// assert!((Curve::Log(2.0).apply(0.5) - 0.5f64.sqrt()).abs() < 1e-15);
    /// assert_eq!(Curve::SCurve(1.0).apply(0.5), 0.5);
    /// assert_eq!(Curve::SCurve(1.0).apply(0.25), 0.15625);
    /// ```
    pub fn apply(self, x: f64) -> f64 {
        let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        match self {
            Curve::Linear => x,
            Curve::Exp(k) => x.powf(k),
            Curve::Log(k) => x.powf(1.0 / k),
            Curve::SCurve(k) => {
                let s = x * x * (3.0 - 2.0 * x);
                if k == 1.0 || s == 0.0 || s == 1.0 {
                    s
                } else {
                    let a = s.powf(k);
                    a / (a + (1.0 - s).powf(k))
                }
            }
        }
    }
}

/// A requested smoothing window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum SmoothLength {
    Seconds(f64),
    Beats(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Smooth {
    pub length: SmoothLength,
    /// Steps of the seed's staircase; `None` = a per-sample ramp.
    pub segments: Option<u32>,
}

/// Most staircase segments.
pub const MAX_SEGMENTS: u32 = 1024;

/// A lane's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LaneOptions {
    pub mode: ValueMode,
    pub range: Option<(f64, f64)>,
    pub curve: Curve,
    pub smooth: Option<Smooth>,
}

impl Default for LaneOptions {
    fn default() -> Self {
        LaneOptions { mode: ValueMode::Normalized, range: None, curve: Curve::Linear, smooth: None }
    }
}

/// A lane's address: which parameter of which module of which instrument (`mix` for the
/// instrument's own gain and pan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaneTarget {
    pub instrument: String,
    pub module: String,
    pub parameter: String,
}

impl fmt::Display for LaneTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.instrument, self.module, self.parameter)
    }
}

/// Why a lane key or value was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum LaneError {
    Address(String),
    UnknownToken(String),
    BadToken { token: String, why: String },
    Conflict(String),
}

impl fmt::Display for LaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaneError::Address(key) => write!(
                f,
                "`{key}` is not a lane: write INSTRUMENT.MODULE.PARAMETER, then optional |tokens, e.g. \
                 \"lead.lowpass.cutoff_hz|curve=exp|smooth=0.5beats\""
            ),
            LaneError::UnknownToken(t) => write!(
                f,
                "unknown lane token `{t}`; allowed: normalized, percent, raw, range=A:B, curve=linear|exp[:K]|log[:K]|s_curve[:K], \
                 smooth=5ms|0.5s|0.02beats[:SEGMENTS]"
            ),
            LaneError::BadToken { token, why } => write!(f, "lane token `{token}`: {why}"),
            LaneError::Conflict(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for LaneError {}

fn positive(token: &str, text: &str, what: &str) -> Result<f64, LaneError> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(LaneError::BadToken { token: token.into(), why: format!("{what} must be a number greater than 0") }),
    }
}

/// Split a lane key into its target and options.
///
/// ```
/// use ntsbuild::arrange::automation::{parse_lane, Curve, ValueMode};
/// let (t, o) = parse_lane("pad.lowpass.cutoff_hz|percent|curve=exp:3|smooth=10ms:8").unwrap();
/// assert_eq!(t.to_string(), "pad.lowpass.cutoff_hz");
/// assert_eq!(o.mode, ValueMode::Percent);
/// assert_eq!(o.curve, Curve::Exp(3.0));
/// assert_eq!(o.smooth.unwrap().segments, Some(8));
/// ```
pub fn parse_lane(key: &str) -> Result<(LaneTarget, LaneOptions), LaneError> {
    let mut parts = key.split('|');
    let address = parts.next().unwrap_or_default().trim();
    let fields: Vec<&str> = address.split('.').collect();
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if fields.len() != 3 || !fields.iter().all(|f| ok(f)) {
        return Err(LaneError::Address(key.to_string()));
    }
    let target = LaneTarget { instrument: fields[0].into(), module: fields[1].into(), parameter: fields[2].into() };
    let mut o = LaneOptions::default();
    let (mut mode_set, mut curve_set) = (false, false);
    for raw in parts {
        let token = raw.trim();
        let lower = token.to_ascii_lowercase();
        let (name, value) = match lower.split_once('=') {
            Some((n, v)) => (n.trim().to_string(), Some(v.trim().to_string())),
            None => (lower.clone(), None),
        };
        match (name.as_str(), value) {
            ("normalized" | "normalised" | "percent" | "raw", None) => {
                if mode_set {
                    return Err(LaneError::Conflict(format!("`{key}` names more than one value mode")));
                }
                mode_set = true;
                o.mode = match name.as_str() {
                    "percent" => ValueMode::Percent,
                    "raw" => ValueMode::Raw,
                    _ => ValueMode::Normalized,
                };
            }
            ("range", Some(v)) => {
                let bad = || LaneError::BadToken {
                    token: token.into(),
                    why: "write range=LOW:HIGH in the parameter's unit".into(),
                };
                let (a, b) = v.split_once(':').ok_or_else(bad)?;
                let (a, b) = (a.trim().parse::<f64>().map_err(|_| bad())?, b.trim().parse::<f64>().map_err(|_| bad())?);
                if !(a.is_finite() && b.is_finite()) || a == b {
                    return Err(LaneError::BadToken {
                        token: token.into(),
                        why: "the two ends must be different numbers".into(),
                    });
                }
                o.range = Some((a, b));
            }
            ("curve", Some(v)) => {
                if curve_set {
                    return Err(LaneError::Conflict(format!("`{key}` names more than one curve")));
                }
                curve_set = true;
                let (shape, k) = match v.split_once(':') {
                    Some((s, k)) => (s.trim().to_string(), Some(positive(token, k, "the curve's k")?)),
                    None => (v.clone(), None),
                };
                o.curve = match shape.as_str() {
                    "linear" if k.is_none() => Curve::Linear,
                    "exp" | "exponential" | "ease_in" => Curve::Exp(k.unwrap_or(2.0)),
                    "log" | "logarithmic" | "ease_out" => Curve::Log(k.unwrap_or(2.0)),
                    "s_curve" | "s-curve" | "smooth" => Curve::SCurve(k.unwrap_or(1.0)),
                    _ => {
                        return Err(LaneError::BadToken {
                            token: token.into(),
                            why: "curves are linear, exp[:K], log[:K] and s_curve[:K]".into(),
                        });
                    }
                };
            }
            ("smooth" | "smoothing", Some(v)) => {
                let (len, segments) = match v.split_once(':') {
                    Some((l, s)) => {
                        let n = s.trim().parse::<u32>().ok().filter(|n| (3..=MAX_SEGMENTS).contains(n)).ok_or_else(
                            || LaneError::BadToken {
                                token: token.into(),
                                why: format!("segments must be a whole number from 3 to {MAX_SEGMENTS}"),
                            },
                        )?;
                        (l.trim().to_string(), Some(n))
                    }
                    None => (v.clone(), None),
                };
                let what = "the smoothing length";
                let length = if let Some(ms) = len.strip_suffix("ms") {
                    SmoothLength::Seconds(positive(token, ms, what)? / 1000.0)
                } else if let Some(b) = len.strip_suffix("beats").or_else(|| len.strip_suffix("beat")) {
                    SmoothLength::Beats(positive(token, b, what)?)
                } else if let Some(s) = len.strip_suffix('s') {
                    SmoothLength::Seconds(positive(token, s, what)?)
                } else {
                    SmoothLength::Beats(positive(token, &len, what)?)
                };
                o.smooth = Some(Smooth { length, segments });
            }
            _ => return Err(LaneError::UnknownToken(token.to_string())),
        }
    }
    if o.mode == ValueMode::Raw && (o.range.is_some() || o.curve != Curve::Linear) {
        return Err(LaneError::Conflict(format!(
            "`{key}`: range= and curve= shape normalised or percent values; a raw lane gives values in the parameter's unit"
        )));
    }
    Ok((target, o))
}

impl LaneOptions {
    /// The allowed written values, as text (`0 to 1`, `0 to 100 %`, `20 to 20000 Hz`).
    pub fn allowed(&self, spec: &ParamSpec) -> String {
        match self.mode {
            ValueMode::Normalized => "0 to 1 (normalised; add |raw for values in the parameter's unit)".into(),
            ValueMode::Percent => "0 to 100 (percent)".into(),
            ValueMode::Raw => spec.range_text(),
        }
    }

    /// Check a `range=` against the parameter; `Err` says why.
    pub fn check_range(&self, spec: &ParamSpec) -> Result<(), String> {
        match self.range {
            Some((a, b)) if !(spec.contains(a) && spec.contains(b)) => {
                Err(format!("range={a}:{b} must lie within the parameter's {}", spec.range_text()))
            }
            _ => Ok(()),
        }
    }

    /// A written value in the parameter's unit, or `Err` with the allowed values.
    pub fn map(&self, spec: &ParamSpec, value: f64) -> Result<f64, String> {
        let out_of_range = || format!("{value} is out of range: allowed {}", self.allowed(spec));
        let x = match self.mode {
            ValueMode::Raw => {
                return if spec.contains(value) { Ok(value) } else { Err(out_of_range()) };
            }
            ValueMode::Normalized => value,
            ValueMode::Percent => value / 100.0,
        };
        if !(x.is_finite() && (0.0..=1.0).contains(&x)) {
            return Err(out_of_range());
        }
        let (lo, hi) = self.range.unwrap_or((spec.min, spec.max));
        Ok(spec.clamp(lo + (hi - lo) * self.curve.apply(x)))
    }
}

/// One point of a lane: from `beat` on, the parameter takes `value` (as written).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LanePoint {
    pub beat: f64,
    pub value: f64,
}

/// A lane on one parameter of one instrument's module (`mix` for its gain and pan).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lane {
    pub module: String,
    pub parameter: String,
    pub options: LaneOptions,
    /// In strictly increasing beat order.
    pub points: Vec<LanePoint>,
    /// The lane as written, for reports (not part of what it computes).
    #[serde(skip)]
    pub key: String,
}

impl Lane {
    /// A lane from its key (`INSTRUMENT.MODULE.PARAM|tokens`) and `(beat, value)` points, as
    /// written (the recipe reader checks the points' order and range against the parameter).
    pub fn parse(key: &str, points: &[(f64, f64)]) -> Result<Lane, LaneError> {
        let (t, options) = parse_lane(key)?;
        Ok(Lane {
            module: t.module,
            parameter: t.parameter,
            options,
            points: points.iter().map(|&(beat, value)| LanePoint { beat, value }).collect(),
            key: key.into(),
        })
    }
}

/// A change of a control at a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// From this sample on, the value.
    Set(f64),
    /// From this sample, `from + (to − from)·k/len` at `k` samples in, for `len` samples.
    Ramp { from: f64, to: f64, len: usize },
}

/// A smoothing window as applied (for `-v` and the loudness report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmoothingWindow {
    /// The lane as written.
    pub lane: String,
    /// The point the window leads to.
    pub beat: f64,
    pub start_beat: f64,
    pub window_beats: f64,
    pub window_s: f64,
    /// Staircase steps, or `None` for a per-sample ramp.
    pub segments: Option<u32>,
    pub from: f64,
    pub to: f64,
    /// The window was shortened by the previous point or the song start.
    pub shortened: bool,
    /// Nothing to smooth (the window is empty).
    pub applied: bool,
}

/// Resolve a lane to `(sample, change)` pairs in time order, plus the smoothing windows applied.
/// `initial` is the parameter's value before the first point (its recipe value or default).
/// Values are mapped with [`LaneOptions::map`]; a value that does not map (the reader rejects
/// those) holds the previous one.
pub fn resolve(
    lane: &Lane,
    spec: &ParamSpec,
    initial: f64,
    tempo: &TempoMap,
    sample_rate_hz: u32,
) -> (Vec<(usize, Change)>, Vec<SmoothingWindow>) {
    let mut changes = Vec::new();
    let mut windows = Vec::new();
    let mut prev_value = initial;
    let mut prev_beat = 0.0f64;
    for point in &lane.points {
        let value = lane.options.map(spec, point.value).unwrap_or(prev_value);
        let at = tempo.sample_at(point.beat, sample_rate_hz);
        if let Some(smooth) = lane.options.smooth {
            // Where the window would start, and whether the previous point or the song start
            // cuts it short.
            let (wanted_start, cut) = match smooth.length {
                SmoothLength::Beats(b) => (point.beat - b, point.beat - b < prev_beat),
                SmoothLength::Seconds(s) => {
                    let t = tempo.seconds(point.beat) - s;
                    let wanted = if t <= 0.0 { 0.0 } else { tempo.beats(t) };
                    (wanted, t < tempo.seconds(prev_beat) - 1e-12)
                }
            };
            let start_beat = wanted_start.max(prev_beat).min(point.beat);
            let start = tempo.sample_at(start_beat, sample_rate_hz);
            let applied = start < at;
            windows.push(SmoothingWindow {
                lane: lane.key.clone(),
                beat: point.beat,
                start_beat,
                window_beats: point.beat - start_beat,
                window_s: tempo.seconds(point.beat) - tempo.seconds(start_beat),
                segments: smooth.segments,
                from: prev_value,
                to: value,
                shortened: cut,
                applied,
            });
            if applied {
                match smooth.segments {
                    None => changes.push((start, Change::Ramp { from: prev_value, to: value, len: at - start })),
                    Some(n) => {
                        let steps = f64::from(n - 1);
                        for i in 0..n - 1 {
                            let beat = start_beat + (point.beat - start_beat) * f64::from(i) / steps;
                            let v = prev_value + (value - prev_value) * f64::from(i) / steps;
                            changes.push((tempo.sample_at(beat, sample_rate_hz), Change::Set(v)));
                        }
                    }
                }
            }
        }
        changes.push((at, Change::Set(value)));
        prev_value = value;
        prev_beat = point.beat;
    }
    (changes, windows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrange::schema::ModuleKind;

    fn cutoff() -> &'static ParamSpec {
        ModuleKind::Lowpass.param("cutoff_hz").unwrap().1
    }

    fn lane(key: &str, points: &[(f64, f64)]) -> Lane {
        Lane::parse(key, points).unwrap()
    }

    #[test]
    fn curves_at_their_midpoints() {
        assert_eq!(Curve::Linear.apply(0.5), 0.5);
        assert_eq!(Curve::Exp(2.0).apply(0.5), 0.25);
        assert!((Curve::Exp(3.0).apply(0.5) - 0.125).abs() < 1e-15);
        assert!((Curve::Log(2.0).apply(0.5) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
        assert!((Curve::Log(3.0).apply(0.5) - 0.5f64.powf(1.0 / 3.0)).abs() < 1e-15);
        assert_eq!(Curve::SCurve(1.0).apply(0.5), 0.5);
        assert_eq!(Curve::SCurve(3.0).apply(0.5), 0.5);
        // The sharper s-curve is flatter near the ends.
        assert!(Curve::SCurve(3.0).apply(0.2) < Curve::SCurve(1.0).apply(0.2));
        for c in [Curve::Linear, Curve::Exp(2.0), Curve::Log(2.0), Curve::SCurve(1.0), Curve::SCurve(2.5)] {
            assert_eq!(c.apply(0.0), 0.0);
            assert_eq!(c.apply(1.0), 1.0);
            let v: Vec<f64> = (0..=100).map(|i| c.apply(f64::from(i) / 100.0)).collect();
            assert!(v.windows(2).all(|w| w[1] >= w[0]), "{c:?} is monotonic");
        }
    }

    #[test]
    fn values_map_through_mode_range_and_curve() {
        let spec = cutoff();
        let o = parse_lane("a.b.c").unwrap().1;
        assert_eq!(o.map(spec, 0.0), Ok(20.0));
        assert_eq!(o.map(spec, 1.0), Ok(20_000.0));
        assert!(o.map(spec, 1.5).unwrap_err().contains("allowed 0 to 1"));
        let o = parse_lane("a.b.c|percent|range=200:2200|curve=exp").unwrap().1;
        assert_eq!(o.map(spec, 50.0), Ok(200.0 + 2000.0 * 0.25));
        let o = parse_lane("a.b.c|raw").unwrap().1;
        assert_eq!(o.map(spec, 440.0), Ok(440.0));
        assert!(o.map(spec, 5.0).unwrap_err().contains("20 to 20000 Hz"));
        let o = parse_lane("a.b.c|range=5000:100").unwrap().1;
        assert_eq!(o.map(spec, 0.0), Ok(5000.0));
        assert!(parse_lane("a.b.c|range=5:100000").unwrap().1.check_range(spec).is_err());
    }

    #[test]
    fn lane_keys_are_checked() {
        assert!(matches!(parse_lane("lead.cutoff"), Err(LaneError::Address(_))));
        assert!(matches!(parse_lane("a.b.c|wobble"), Err(LaneError::UnknownToken(_))));
        assert!(matches!(parse_lane("a.b.c|curve=spiral"), Err(LaneError::BadToken { .. })));
        assert!(matches!(parse_lane("a.b.c|curve=exp:0"), Err(LaneError::BadToken { .. })));
        assert!(matches!(parse_lane("a.b.c|smooth=5ms:2"), Err(LaneError::BadToken { .. })));
        assert!(matches!(parse_lane("a.b.c|smooth=fast"), Err(LaneError::BadToken { .. })));
        assert!(matches!(parse_lane("a.b.c|raw|curve=exp"), Err(LaneError::Conflict(_))));
        assert!(matches!(parse_lane("a.b.c|raw|percent"), Err(LaneError::Conflict(_))));
        let s = |k: &str| parse_lane(k).unwrap().1.smooth.unwrap();
        assert_eq!(s("a.b.c|smooth=5ms").length, SmoothLength::Seconds(0.005));
        assert_eq!(s("a.b.c|smooth=0.5s").length, SmoothLength::Seconds(0.5));
        assert_eq!(s("a.b.c|smooth=0.02beats").length, SmoothLength::Beats(0.02));
        assert_eq!(s("a.b.c|smooth=1beat").length, SmoothLength::Beats(1.0));
        assert_eq!(s("a.b.c|smooth=0.25").length, SmoothLength::Beats(0.25));
        assert_eq!(s("a.b.c|smooth=5ms:9").segments, Some(9));
    }

    #[test]
    fn points_resolve_to_exact_samples_with_smoothing_windows() {
        let tempo = TempoMap::constant(120.0); // a beat is 24 000 samples at 48 kHz
        let spec = cutoff();
        let l = lane("x.lp.cutoff_hz|raw", &[(1.0, 1000.0), (2.0, 2000.0)]);
        let (changes, windows) = resolve(&l, spec, 4000.0, &tempo, 48_000);
        assert_eq!(changes, vec![(24_000, Change::Set(1000.0)), (48_000, Change::Set(2000.0))]);
        assert!(windows.is_empty());
        // A half-beat ramp into each point, the first from the initial value.
        let l = lane("x.lp.cutoff_hz|raw|smooth=0.5beats", &[(1.0, 1000.0), (2.0, 2000.0)]);
        let (changes, windows) = resolve(&l, spec, 4000.0, &tempo, 48_000);
        assert_eq!(
            changes,
            vec![
                (12_000, Change::Ramp { from: 4000.0, to: 1000.0, len: 12_000 }),
                (24_000, Change::Set(1000.0)),
                (36_000, Change::Ramp { from: 1000.0, to: 2000.0, len: 12_000 }),
                (48_000, Change::Set(2000.0)),
            ]
        );
        assert_eq!(windows.len(), 2);
        assert_eq!((windows[0].start_beat, windows[0].window_s), (0.5, 0.25));
        // 5 ms windows; one reaching before the song start is shortened, one at beat 0 is empty.
        let l = lane("x.lp.cutoff_hz|raw|smooth=5ms", &[(0.0, 500.0), (0.005, 800.0), (1.0, 900.0)]);
        let (_, windows) = resolve(&l, spec, 4000.0, &tempo, 48_000);
        assert!(!windows[0].applied);
        assert!(windows[1].shortened && windows[1].applied);
        assert!((windows[2].window_s - 0.005).abs() < 1e-12 && !windows[2].shortened);
        // The seed's staircase: N values from the previous one, the last at the point.
        let l = lane("x.lp.cutoff_hz|raw|smooth=1beat:5", &[(2.0, 2000.0)]);
        let (changes, _) = resolve(&l, spec, 1000.0, &tempo, 48_000);
        let want: Vec<(usize, Change)> = vec![
            (24_000, Change::Set(1000.0)),
            (30_000, Change::Set(1250.0)),
            (36_000, Change::Set(1500.0)),
            (42_000, Change::Set(1750.0)),
            (48_000, Change::Set(2000.0)),
        ];
        assert_eq!(changes, want);
    }
}
