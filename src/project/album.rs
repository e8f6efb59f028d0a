//! `[album.NAME]` recipes → `AlbumSpec`: tracks, each an audio input (a project file or another
//! target's artifact) analysed into features. The video flow extends this recipe.

use std::collections::BTreeSet;

use super::kit::MAX_SEED;
use super::reader::TableReader;
use super::value::{Kind, Origin};
use super::video::{self, TrackVideoSpec, VideoContext, VideoSettings};

/// Where a track's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AudioRef {
    /// A file, relative to the project (checked to stay inside it).
    File(String),
    /// Another target's artifact, e.g. `song.demo/song.wav`.
    Artifact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    pub id: String,
    pub audio: AudioRef,
    pub seed: u64,
    /// Controller, decoder, postFX and encoder settings, resolved for this track.
    pub video: TrackVideoSpec,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumSpec {
    pub id: String,
    /// Analysis rate: every track is resampled to it (the project rate).
    pub sample_rate_hz: u32,
    pub tracks: Vec<TrackSpec>,
    /// The frame grid every track shares.
    pub video: VideoSettings,
}

/// Read an album. `targets` are the declared target ids, to tell artifact ids from paths.
/// Also returns where each track's `audio` was written, for checks that need the file system.
pub fn read(
    t: &TableReader<'_>,
    id: &str,
    project_rate_hz: u32,
    targets: &BTreeSet<String>,
    vctx: &VideoContext<'_>,
) -> (AlbumSpec, Vec<(String, Origin)>) {
    let settings = video::read_settings(t);
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
                if let Some(track) = read_track(t, &tr, targets, vctx, &mut reported) {
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
    (AlbumSpec { id: id.to_string(), sample_rate_hz: project_rate_hz, tracks, video: settings }, origins)
}

fn read_track(
    album: &TableReader<'_>,
    tr: &TableReader<'_>,
    targets: &BTreeSet<String>,
    vctx: &VideoContext<'_>,
    reported: &mut BTreeSet<String>,
) -> Option<TrackSpec> {
    let id = tr.required_string("id", "the track's id, e.g. id = \"opening\"");
    for key in ["fps", "resolution", "segment_s", "previews"] {
        if tr.get(key).is_some() {
            tr.error(
                key,
                format!("`{key}` is set on the album, not per track: its tracks share one frame grid so that album.mp4 joins them"),
            );
        }
    }
    let video = video::read_track(album, tr, vctx, reported);
    let audio =
        tr.required_string("audio", "a file in the project or an artifact id, e.g. audio = \"song.demo/song.wav\"");
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
        if let Err(e) = super::paths::check_relative(&audio) {
            tr.error("audio", e);
            return None;
        }
        AudioRef::File(audio)
    };
    Some(TrackSpec { id, audio, seed, video: video? })
}
