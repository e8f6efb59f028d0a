//! `[album.NAME]` recipes → `AlbumSpec`: tracks, each an audio input (a project file or another
//! target's artifact) analysed into features. The video flow extends this recipe.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::controls::{self, ControlsSpec};
use super::kit::MAX_SEED;
use super::reader::TableReader;
use super::sidecars::PluginDecl;
use super::value::{Kind, Origin};
use super::video::{self, TrackVideoSpec, VideoContext, VideoSettings};
use crate::features::prepare::{AudioPrep, Trim};
use crate::schema::{Kind as SettingKind, SettingSpec};

/// Where a track's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum AudioRef {
    /// A file, relative to the project (checked to stay inside it).
    File(String),
    /// Another target's artifact, e.g. `song.demo/song.wav`.
    Artifact(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrackSpec {
    pub id: String,
    pub audio: AudioRef,
    pub seed: u64,
    /// How the audio is prepared before analysis: the track's `trim` and the album's
    /// `normalization` (DOMAIN §C2). The trim also cuts the audio muxed into the video.
    pub prep: AudioPrep,
    /// Controller, decoder, postFX and encoder settings, resolved for this track.
    pub video: TrackVideoSpec,
    /// `controls`: producer columns driving controller and postFX parameters frame by frame
    /// (the track's own table, else the album's).
    pub controls: Option<Arc<TrackControls>>,
}

/// A track's validated `controls` and the `[producer.NAME]` plug-ins its inline producers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackControls {
    pub spec: ControlsSpec,
    pub plugins: BTreeMap<String, PluginDecl>,
    /// The table's key path (`album.NAME.controls` or `album.NAME.track[i].controls`).
    pub key: String,
}

/// Album-wide inputs of the track reader.
struct AlbumCx<'a> {
    targets: &'a BTreeSet<String>,
    vctx: &'a VideoContext<'a>,
    normalization_dbfs: Option<f64>,
    project_rate_hz: u32,
    video_fps: f64,
    plugins: &'a BTreeMap<String, PluginDecl>,
    /// The album-level `controls`, applied to tracks without their own.
    controls: Option<Arc<TrackControls>>,
}

/// Read a `controls` table (album or track level).
fn read_controls(t: &TableReader<'_>, cx: &AlbumCx<'_>) -> Option<Arc<TrackControls>> {
    let table = t.table("controls")?;
    let spec = controls::read(&table, cx.video_fps, cx.project_rate_hz, cx.targets, cx.plugins)?;
    let used: BTreeSet<&str> = match &spec.source {
        controls::ControlSource::Inline { params, .. } => params
            .producers
            .iter()
            .filter_map(|p| match p {
                crate::producers::ProducerParams::Plugin { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect(),
        controls::ControlSource::Sidecar(_) => BTreeSet::new(),
    };
    let plugins = cx.plugins.iter().filter(|(k, _)| used.contains(k.as_str())).map(|(k, v)| (k.clone(), v.clone()));
    Some(Arc::new(TrackControls { plugins: plugins.collect(), spec, key: t.key_path("controls") }))
}

/// Validated values only (finite numbers), so equality is reflexive.
impl Eq for TrackSpec {}

#[derive(Debug, Clone, PartialEq)]
pub struct AlbumSpec {
    pub id: String,
    /// Analysis rate: every track is resampled to it (the project rate).
    pub sample_rate_hz: u32,
    /// `normalization`: every track's analysed audio is scaled to this RMS level (dBFS).
    pub normalization_dbfs: Option<f64>,
    pub tracks: Vec<TrackSpec>,
    /// The frame grid every track shares.
    pub video: VideoSettings,
}

/// Validated values only (finite numbers), so equality is reflexive.
impl Eq for AlbumSpec {}

/// Longest trim bound accepted, in seconds (a day).
pub const MAX_TRIM_S: f64 = 86_400.0;

/// The album-level `normalization` (absent: the audio is analysed at its own level).
pub const ALBUM_SETTINGS: [SettingSpec; 1] = [SettingSpec {
    table: "NAME",
    key: "normalization",
    kind: SettingKind::Number { default: -14.0, min: -60.0, max: 0.0 },
    unit: "dBFS",
    doc: "unset by default (each track analysed at its own level); set (the seed's template: -14), each track is scaled to this RMS level, clipped to ±1, before analysis",
}];

/// A track's `trim = { start, end }`: the window that is analysed and muxed into its video.
pub const TRIM_SETTINGS: [SettingSpec; 2] = [
    SettingSpec {
        table: "track.trim",
        key: "start",
        kind: SettingKind::Number { default: 0.0, min: 0.0, max: MAX_TRIM_S },
        unit: "s",
        doc: "start of the window (`trim = { start = 12.5, end = 60 }` on a `[[album.NAME.track]]`)",
    },
    SettingSpec {
        table: "track.trim",
        key: "end",
        kind: SettingKind::Text { default: "the end of the audio" },
        unit: "s",
        doc: "end of the window, after `start` (at most 86400 s)",
    },
];

/// Read an album. `targets` are the declared target ids, to tell artifact ids from paths.
/// Also returns where each track's `audio` was written, for checks that need the file system.
pub fn read(
    t: &TableReader<'_>,
    id: &str,
    project_rate_hz: u32,
    targets: &BTreeSet<String>,
    vctx: &VideoContext<'_>,
    plugins: &BTreeMap<String, PluginDecl>,
) -> (AlbumSpec, Vec<(String, Origin)>) {
    let settings = video::read_settings(t);
    let normalization_dbfs = t.get("normalization").map(|_| t.number(&ALBUM_SETTINGS[0]));
    let mut acx = AlbumCx {
        targets,
        vctx,
        normalization_dbfs,
        project_rate_hz,
        video_fps: f64::from(settings.fps),
        plugins,
        controls: None,
    };
    acx.controls = read_controls(t, &acx);
    // Album-level tables are merged into each track's; mark them known here too.
    let _ = t.get("preset");
    for key in video::TABLES {
        let _ = t.get(key);
    }
    let mut reported = BTreeSet::new();
    let mut tracks = Vec::new();
    let mut origins = Vec::new();
    match t.get("track").map(|n| &n.kind) {
        Some(Kind::Array(items)) => {
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let Some(tr) = TableReader::new(t.ctx(), item, &format!("{id}.track[{i}]")) else { continue };
                if let Some(track) = read_track(t, &tr, &acx, &mut reported) {
                    if let Some(n) = tr.get("audio") {
                        origins.push((format!("{}.audio", tr.path()), n.origin.clone()));
                    }
                    if !seen.insert(track.id.clone()) {
                        tr.error("id", format!("track id `{}` is used twice in {id}", track.id));
                    } else {
                        tracks.push(track);
                    }
                }
                tr.finish();
            }
        }
        Some(other) => {
            t.error("track", format!("expected [[{id}.track]] tables, found {}", other.type_name()));
        }
        None => t.error("track", format!("an album needs at least one [[{id}.track]] with `id` and `audio`")),
    }
    t.finish();
    (
        AlbumSpec { id: id.to_string(), sample_rate_hz: project_rate_hz, normalization_dbfs, tracks, video: settings },
        origins,
    )
}

fn read_track(
    album: &TableReader<'_>,
    tr: &TableReader<'_>,
    cx: &AlbumCx<'_>,
    reported: &mut BTreeSet<String>,
) -> Option<TrackSpec> {
    let (targets, vctx, normalization_dbfs) = (cx.targets, cx.vctx, cx.normalization_dbfs);
    let id = tr.required_string("id", "the track's id, e.g. id = \"opening\"");
    let trim = read_trim(tr);
    if tr.get("normalization").is_some() {
        tr.error(
            "normalization",
            "`normalization` is set on the album, not per track: every track is analysed at the same level",
        );
    }
    for key in ["fps", "resolution", "segment_s", "previews"] {
        if tr.get(key).is_some() {
            tr.error(
                key,
                format!("`{key}` is set on the album, not per track: its tracks share one frame grid so that album.mp4 joins them"),
            );
        }
    }
    let video = video::read_track(album, tr, vctx, reported);
    let audio = tr.required_string(
        "audio",
        "a file in the project, `ROOT:path` in an input root, or an artifact id, e.g. audio = \"song.demo/song.wav\"",
    );
    let seed = tr.int("seed", 0, 0, MAX_SEED) as u64;
    let id = id?;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        tr.error("id", "track ids use letters, digits, `_` and `-`");
        return None;
    }
    let audio = audio?;
    let is_artifact = audio.split_once('/').is_some_and(|(target, _)| targets.contains(target));
    let audio = if is_artifact {
        AudioRef::Artifact(audio)
    } else {
        if !tr.check_input_path("audio", &audio, "") {
            return None;
        }
        AudioRef::File(audio)
    };
    let controls = if tr.get("controls").is_some() { read_controls(tr, cx) } else { cx.controls.clone() };
    let prep = AudioPrep { trim: trim?, normalization_dbfs };
    Some(TrackSpec { id, audio, seed, prep, video: video?, controls })
}

/// `trim = { start = 12.5, end = 60.0 }` (seconds; `end` may be left out for "to the end").
/// `Some(None)` when absent, `None` when invalid (already reported).
fn read_trim(tr: &TableReader<'_>) -> Option<Option<Trim>> {
    if tr.get("trim").is_none() {
        return Some(None);
    }
    let t = tr.table("trim")?;
    let start_s = t.number(&TRIM_SETTINGS[0]);
    let end_s = t.get("end").map(|_| t.f64("end", MAX_TRIM_S, 0.0, MAX_TRIM_S, "s"));
    t.finish();
    let trim = Trim { start_s, end_s };
    if let Err(e) = trim.validate() {
        t.error("end", e);
        return None;
    }
    Some(Some(trim))
}
