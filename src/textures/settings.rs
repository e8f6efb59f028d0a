//! The texture library's settings specs (`[textures.NAME.pads|drones|clouds|hiss|grades]`):
//! every range written once, read by the recipe reader, by each settings struct's `validate`,
//! by `list --params` and by `docs/settings.md`. Defaults are DOMAIN §G's.

use crate::schema::{Kind, SettingSpec};

const fn num(
    table: &'static str,
    key: &'static str,
    default: f64,
    min: f64,
    max: f64,
    unit: &'static str,
    doc: &'static str,
) -> SettingSpec {
    SettingSpec { table, key, kind: Kind::Number { default, min, max }, unit, doc }
}

const fn int(
    table: &'static str,
    key: &'static str,
    default: i64,
    min: i64,
    max: i64,
    doc: &'static str,
) -> SettingSpec {
    SettingSpec { table, key, kind: Kind::Integer { default, min, max }, unit: "", doc }
}

const fn flag(table: &'static str, key: &'static str, default: bool, doc: &'static str) -> SettingSpec {
    SettingSpec { table, key, kind: Kind::Bool { default }, unit: "", doc }
}

/// `target_durations_s` items and the other list settings are checked item by item.
pub const PAD_SETTINGS: [SettingSpec; 10] = [
    num("pads", "target_durations_s", 2.0, 0.25, 30.0, "s", "window lengths to mine (a list; default [2.0])"),
    num("pads", "hop_s", 0.5, 0.05, 10.0, "s", "step between candidate windows"),
    num("pads", "rms_db_min", -40.0, -120.0, 0.0, "dB", "quietest window kept"),
    num("pads", "rms_db_max", -10.0, -120.0, 0.0, "dB", "loudest window kept"),
    num("pads", "max_onset_rate_hz", 3.0, 0.0, 100.0, "Hz", "most onsets per second in a kept window"),
    num("pads", "max_flatness", 0.5, 0.0, 1.0, "", "most spectral flatness (noisiness) in a kept window"),
    int("pads", "best_per_duration", 3, 1, 64, "pads kept per target duration, best scored first"),
    num("pads", "crossfade_ms", 100.0, 1.0, 2000.0, "ms", "equal-power loop crossfade"),
    num("pads", "peak_dbfs", -1.0, -60.0, 0.0, "dBFS", "peak each file is normalised to"),
    flag("pads", "stereo", false, "keep the source's first two channels (a mono source stays mono)"),
];

pub const DRONE_SETTINGS: [SettingSpec; 11] = [
    num("drones", "pitch_shifts_st", 0.0, -24.0, 24.0, "semitones", "pitch shifts (a list; default [0, 7, 12])"),
    num("drones", "time_stretches", 1.0, 0.25, 4.0, "", "time-stretch factors (a list; default [1, 1.5, 2])"),
    num("drones", "loop_s", 2.0, 0.25, 30.0, "s", "loop length cut from the middle"),
    num("drones", "swell_s", 6.0, 0.5, 60.0, "s", "swell length cut from the middle"),
    num("drones", "swell_fade_in_s", 0.5, 0.0, 30.0, "s", "swell fade-in"),
    num("drones", "swell_fade_out_s", 1.5, 0.0, 30.0, "s", "swell fade-out"),
    flag("drones", "variants", true, "also write warm, airy and dark filtered variants"),
    flag("drones", "reversed", true, "also write a reversed loop"),
    num("drones", "crossfade_ms", 100.0, 1.0, 2000.0, "ms", "equal-power loop crossfade"),
    num("drones", "peak_dbfs", -1.0, -60.0, 0.0, "dBFS", "peak each file is normalised to"),
    flag("drones", "stereo", false, "keep the source's first two channels (a mono source stays mono)"),
];

pub const CLOUD_SETTINGS: [SettingSpec; 14] = [
    int("clouds", "grains", 200, 1, 10_000, "grains per cloud"),
    num("clouds", "grain_ms_min", 50.0, 5.0, 2000.0, "ms", "shortest grain"),
    num("clouds", "grain_ms_max", 150.0, 5.0, 2000.0, "ms", "longest grain"),
    num("clouds", "min_grain_quality", 0.4, 0.0, 1.0, "", "grains scoring below are drawn again"),
    int("clouds", "max_tries", 10, 1, 100, "draws per grain before giving up on quality"),
    num("clouds", "pitch_st_min", -7.0, -24.0, 24.0, "semitones", "lowest grain pitch shift"),
    num("clouds", "pitch_st_max", 7.0, -24.0, 24.0, "semitones", "highest grain pitch shift"),
    num("clouds", "overlap", 0.35, 0.05, 1.0, "", "hop between grains as a fraction of the mean grain length"),
    num("clouds", "duration_s", 6.0, 0.5, 120.0, "s", "cloud length"),
    num("clouds", "lowpass_hz", 8000.0, 100.0, 20_000.0, "Hz", "low-pass on the finished cloud"),
    num("clouds", "fade_ms", 10.0, 0.0, 1000.0, "ms", "fade in and out"),
    int("clouds", "clouds_per_source", 2, 1, 64, "clouds made from each pad source"),
    num("clouds", "peak_dbfs", -3.0, -60.0, 0.0, "dBFS", "peak each cloud is normalised to"),
    flag("clouds", "stereo", false, "keep the source's first two channels (a mono source stays mono)"),
];

pub const HISS_SETTINGS: [SettingSpec; 16] = [
    num("hiss", "chunk_s", 1.5, 0.1, 30.0, "s", "length of each hiss loop"),
    num("hiss", "band_low_hz", 4000.0, 20.0, 20_000.0, "Hz", "band-pass low edge"),
    num("hiss", "band_high_hz", 14_000.0, 20.0, 21_000.0, "Hz", "band-pass high edge"),
    int("hiss", "order", 4, 1, 8, "Butterworth order of each band edge"),
    num("hiss", "tremolo_depth", 0.6, 0.0, 1.0, "", "tremolo depth d: 1 − d/2 + (d/2)·sin(2π·rate·t)"),
    num("hiss", "tremolo_rate_hz", 3.0, 0.0, 50.0, "Hz", "tremolo rate"),
    num("hiss", "loop_crossfade_ms", 50.0, 1.0, 1000.0, "ms", "loop crossfade"),
    int("hiss", "loops", 2, 0, 64, "hiss loops per drum source"),
    int("hiss", "flickers", 4, 0, 64, "flicker one-shots per drum source"),
    num("hiss", "flicker_ms_min", 50.0, 10.0, 5000.0, "ms", "shortest flicker"),
    num("hiss", "flicker_ms_max", 300.0, 10.0, 5000.0, "ms", "longest flicker"),
    num("hiss", "flicker_fade_in_ms", 10.0, 0.0, 1000.0, "ms", "flicker fade-in"),
    num("hiss", "flicker_fade_out_ms", 50.0, 0.0, 1000.0, "ms", "flicker fade-out"),
    num("hiss", "peak_dbfs", -6.0, -60.0, 0.0, "dBFS", "peak each loop is normalised to"),
    num("hiss", "flicker_peak_dbfs", -3.0, -60.0, 0.0, "dBFS", "peak each flicker is normalised to"),
    flag("hiss", "stereo", false, "keep the drum source's first two channels (a mono source stays mono)"),
];

pub const GRADE_SETTINGS: [SettingSpec; 6] = [
    num("grades", "min_rms_db", -60.0, -200.0, 0.0, "dB", "grade F below this rms"),
    num("grades", "max_peak", 0.99, 0.0, 1.0, "", "grade F at or above this peak"),
    num("grades", "max_crest", 20.0, 1.0, 1000.0, "", "grade F above this crest factor"),
    num("grades", "a_min_rms_db", -45.0, -200.0, 0.0, "dB", "grade A needs more rms than this"),
    num("grades", "a_max_crest", 12.0, 1.0, 1000.0, "", "grade A needs a crest factor below this"),
    num("grades", "a_max_loop_error_db", -30.0, -200.0, 0.0, "dB", "grade A needs a loop seam error below this"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::spec;
    use crate::textures::clouds::CloudSettings;
    use crate::textures::drones::DroneSettings;
    use crate::textures::hiss::HissSettings;
    use crate::textures::manifest::GradeThresholds;
    use crate::textures::pads::PadSettings;

    /// The specs' defaults are the settings structs' defaults (DOMAIN §G): one source of truth
    /// for what a recipe that sets nothing gets.
    #[test]
    fn spec_defaults_are_the_settings_defaults() {
        let p = PadSettings::default();
        for (key, v) in [
            ("hop_s", p.hop_s),
            ("rms_db_min", p.rms_db_min),
            ("rms_db_max", p.rms_db_max),
            ("max_onset_rate_hz", p.max_onset_rate_hz),
            ("max_flatness", p.max_flatness),
            ("best_per_duration", p.best_per_duration as f64),
            ("crossfade_ms", p.crossfade_ms),
        ] {
            assert_eq!(spec(&PAD_SETTINGS, key).default_f64(), v, "pads.{key}");
        }
        let d = DroneSettings::default();
        for (key, v) in [
            ("loop_s", d.loop_s),
            ("swell_s", d.swell_s),
            ("swell_fade_in_s", d.swell_fade_in_s),
            ("swell_fade_out_s", d.swell_fade_out_s),
            ("crossfade_ms", d.crossfade_ms),
        ] {
            assert_eq!(spec(&DRONE_SETTINGS, key).default_f64(), v, "drones.{key}");
        }
        let c = CloudSettings::default();
        for (key, v) in [
            ("grains", c.grains as f64),
            ("grain_ms_min", c.grain_ms_min),
            ("grain_ms_max", c.grain_ms_max),
            ("min_grain_quality", c.min_grain_quality),
            ("max_tries", c.max_tries as f64),
            ("pitch_st_min", c.pitch_st_min),
            ("pitch_st_max", c.pitch_st_max),
            ("overlap", c.overlap),
            ("duration_s", c.duration_s),
            ("lowpass_hz", c.lowpass_hz),
            ("fade_ms", c.fade_ms),
            ("clouds_per_source", c.clouds_per_source as f64),
        ] {
            assert_eq!(spec(&CLOUD_SETTINGS, key).default_f64(), v, "clouds.{key}");
        }
        let h = HissSettings::default();
        for (key, v) in [
            ("chunk_s", h.chunk_s),
            ("band_low_hz", h.band_low_hz),
            ("band_high_hz", h.band_high_hz),
            ("order", h.order as f64),
            ("tremolo_depth", h.tremolo_depth),
            ("tremolo_rate_hz", h.tremolo_rate_hz),
            ("loop_crossfade_ms", h.loop_crossfade_ms),
            ("loops", h.loops as f64),
            ("flickers", h.flickers as f64),
            ("flicker_ms_min", h.flicker_ms_min),
            ("flicker_ms_max", h.flicker_ms_max),
            ("flicker_fade_in_ms", h.flicker_fade_in_ms),
            ("flicker_fade_out_ms", h.flicker_fade_out_ms),
        ] {
            assert_eq!(spec(&HISS_SETTINGS, key).default_f64(), v, "hiss.{key}");
        }
        let g = GradeThresholds::default();
        for (key, v) in [
            ("min_rms_db", g.min_rms_db),
            ("max_peak", g.max_peak),
            ("max_crest", g.max_crest),
            ("a_min_rms_db", g.a_min_rms_db),
            ("a_max_crest", g.a_max_crest),
            ("a_max_loop_error_db", g.a_max_loop_error_db),
        ] {
            assert_eq!(spec(&GRADE_SETTINGS, key).default_f64(), v, "grades.{key}");
        }
    }
}
