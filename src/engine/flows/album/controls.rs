//! A track's controls (`controls.npz`): the columns of a sidecar target or of producers run on
//! the track's audio, mapped frame by frame onto controller and postFX parameters on the
//! video's frame grid (`producers::controls`). The latents read the controller's tracks; each
//! encoded segment reads the postFX tracks over its own frames, so a control that changes only
//! inside some frames re-renders only the segments holding them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::latents::{f32s, get, track_duration_s};
use crate::controller::ControllerTracks;
use crate::engine::action::{Action, Cx};
use crate::engine::db::Db;
use crate::engine::error::BuildError;
use crate::engine::query;
use crate::media::npz::{self, NpyArray, NpyView, NpzCompression};
use crate::media::sidecar::{SidecarPair, decode_pair};
use crate::postfx::PostFxTracks;
use crate::producers::{ControlMapping, ControlTarget, SidecarParams, VideoGrid, control_tracks};
use crate::project::album::TrackSpec;
use crate::project::controls::ControlSource;
use crate::project::sidecars::PluginKeyParams;
use crate::project::video::VideoSettings;
use crate::store::Digest;

/// File name of a track's controls, beside its latents.
pub const CONTROLS_FILE: &str = "controls.npz";

/// `controls.npz` of a track: dependency 0 is its `features.npz` (the frame count), dependency
/// 1 the sidecar pair when the columns come from a `[sidecars.NAME]` target.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackControls {
    pub settings: VideoSettings,
    pub track: Arc<TrackSpec>,
}

/// Where the columns come from, as far as it can change them (a sidecar pair's bytes are an
/// input of their own).
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ColumnsKey<'a> {
    Sidecar {
        target: &'a str,
    },
    Inline {
        params: &'a SidecarParams,
        analysis_rate_hz: u32,
        /// What `from_filename` reads.
        file_name: &'a str,
        plugins: BTreeMap<&'a str, PluginKeyParams<'a>>,
    },
}

#[derive(Serialize)]
struct ControlsKey<'a> {
    fps: u32,
    /// Source time of the first frame (the track's trim start).
    start_s: f64,
    mappings: &'a [ControlMapping],
    columns: ColumnsKey<'a>,
}

impl Action for TrackControls {
    const QUERY: &'static str = "track_controls";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        let controls = self.track.controls.as_deref();
        let columns = match controls.map(|c| (&c.spec.source, &c.plugins)) {
            Some((ControlSource::Inline { params, analysis_rate_hz }, plugins)) => ColumnsKey::Inline {
                params,
                analysis_rate_hz: *analysis_rate_hz,
                file_name: super::super::sidecars::file_name(&self.track.audio),
                plugins: plugins.iter().map(|(k, d)| (k.as_str(), d.key_params())).collect(),
            },
            Some((ControlSource::Sidecar(target), _)) => ColumnsKey::Sidecar { target },
            None => ColumnsKey::Sidecar { target: "" },
        };
        ControlsKey {
            fps: self.settings.fps,
            start_s: start_s(&self.track),
            mappings: controls.map_or(&[][..], |c| &c.spec.mappings),
            columns,
        }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let Some(controls) = self.track.controls.as_deref() else {
            return Err(cx.fail("the track has no controls"));
        };
        let features = npz::read_npz(&cx.dep_bytes(0)?, "features.npz").map_err(|e| cx.fail(e.to_string()))?;
        let fps = f64::from(self.settings.fps);
        let frames = crate::controller::frame_count(fps, track_duration_s(&features));
        let (table, origin) = match &controls.spec.source {
            ControlSource::Sidecar(target) => {
                let pair = SidecarPair::from_bundle(&cx.dep_bytes(1)?).map_err(|e| cx.fail(e.to_string()))?;
                let table = decode_pair(&pair.npy, &pair.json).map_err(|e| cx.fail(format!("{target}: {e}")))?;
                (table, target.clone())
            }
            ControlSource::Inline { params, analysis_rate_hz } => {
                let (table, _) = super::super::sidecars::producer_table(
                    cx,
                    params,
                    *analysis_rate_hz,
                    &self.track.audio,
                    &controls.plugins,
                )?;
                (table, "inline producers".to_string())
            }
        };
        let anchors = if controls.spec.mappings.iter().any(|m| matches!(m.target, ControlTarget::AnchorBias(_))) {
            anchor_count(cx, &self.track)?
        } else {
            0
        };
        let grid = VideoGrid { frames, fps, start_s: start_s(&self.track) };
        let tracks = control_tracks(&table, &controls.spec.mappings, grid, anchors)
            .map_err(|e| cx.fail(format!("controls from {origin}: {e}")))?;
        let bias: Option<Vec<f32>> = tracks.anchor_bias.as_ref().map(|rows| rows.concat());
        let (one, two) = ([frames], [frames, anchors]);
        let mut entries = Vec::new();
        for (name, track) in [
            ("wander_scale", &tracks.wander_scale),
            ("smoothing_alpha", &tracks.smoothing_alpha),
            ("grain_intensity", &tracks.grain_intensity),
            ("chroma_shift", &tracks.chroma_shift),
            ("vignette_strength", &tracks.vignette_strength),
        ] {
            if let Some(values) = track {
                entries.push((name, NpyView::F32 { shape: &one, data: values }));
            }
        }
        if let Some(bias) = &bias {
            entries.push(("anchor_bias", NpyView::F32 { shape: &two, data: bias }));
        }
        let metadata = json!({ "frames": frames, "fps": self.settings.fps, "start_s": grid.start_s,
                               "columns_from": origin, "mappings": controls.spec.mappings })
        .to_string();
        entries.push(("metadata", NpyView::Str(&metadata)));
        npz::write_npz(&entries, NpzCompression::Stored).map_err(|e| cx.fail(e.to_string()))
    }

    /// Inline producers read the track's mixdown alone.
    fn reads_channels(&self) -> bool {
        false
    }
}

/// Source time of the track's first video frame.
fn start_s(track: &TrackSpec) -> f64 {
    track.prep.trim.map_or(0.0, |t| t.start_s)
}

/// How many anchors the track's anchor set has.
fn anchor_count(cx: &Cx<'_>, track: &TrackSpec) -> Result<usize, BuildError> {
    let file = &track.video.controller.anchors;
    let (bytes, _) = cx.file_bytes(file)?;
    let a = npz::read_npz(&bytes, file).map_err(|e| cx.fail(e.to_string()))?;
    let shape = get(&a, "anchors").map(|a| a.shape.clone()).unwrap_or_default();
    shape.first().copied().filter(|k| *k > 0).ok_or_else(|| cx.fail(format!("{file}: no `anchors` array")))
}

/// Whether any of the track's controls drives the controller (else only postFX reads them).
pub fn drives_controller(track: &TrackSpec) -> bool {
    track.controls.as_ref().is_some_and(|c| c.spec.mappings.iter().any(|m| !m.target.is_postfx()))
}

/// Whether any of the track's controls drives postFX.
pub fn drives_postfx(track: &TrackSpec) -> bool {
    track.controls.as_ref().is_some_and(|c| c.spec.mappings.iter().any(|m| m.target.is_postfx()))
}

/// A parsed `controls.npz`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedControls {
    pub frames: usize,
    pub controller: ControllerTracks,
    pub postfx: PostFxTracks,
}

/// Reads `controls.npz` (`id` names it in errors).
pub fn parse(id: &str, bytes: &[u8]) -> Result<ParsedControls, BuildError> {
    let arrays = npz::read_npz(bytes, CONTROLS_FILE).map_err(|e| BuildError::failed(id, e.to_string()))?;
    let track = |key: &str| -> Result<Option<Vec<f32>>, BuildError> {
        match get(&arrays, key) {
            Some(_) => f32s(id, CONTROLS_FILE, &arrays, key).map(Some),
            None => Ok(None),
        }
    };
    let meta: serde_json::Value =
        serde_json::from_str(get(&arrays, "metadata").and_then(NpyArray::as_str).unwrap_or("{}")).unwrap_or_default();
    Ok(ParsedControls {
        frames: meta["frames"].as_u64().unwrap_or(0) as usize,
        controller: ControllerTracks {
            wander_scale: track("wander_scale")?,
            anchor_bias: track("anchor_bias")?,
            smoothing_alpha: track("smoothing_alpha")?,
        },
        postfx: PostFxTracks {
            grain_intensity: track("grain_intensity")?,
            chroma_shift: track("chroma_shift")?,
            vignette_strength: track("vignette_strength")?,
        },
    })
}

/// The artifact id of the controls of the track whose video is `video` (`…/video.mp4`).
pub fn controls_id(video: &str) -> String {
    format!("{}/{CONTROLS_FILE}", video.trim_end_matches("/video.mp4"))
}

/// The postFX tracks of a track video over frames `[start, end)` (indexed from `start`), and
/// the digest of their values (a segment's key input), or `None` when no control drives
/// postFX. Parsed once per process per `controls.npz`.
pub fn postfx_slice(
    db: &dyn Db,
    video: &str,
    track: &TrackSpec,
    start: usize,
    end: usize,
) -> Result<Option<(PostFxTracks, Digest)>, BuildError> {
    if !drives_postfx(track) {
        return Ok(None);
    }
    let id = controls_id(video);
    let digest = query::digest_by_id(db, &id)?;
    let parsed = db.env().memo("controls", digest, || parse(&id, &query::artifact_bytes(db, &id)?))?;
    let cut = |t: &Option<Vec<f32>>| t.as_ref().map(|v| v[start.min(v.len())..end.min(v.len())].to_vec());
    let p = &parsed.postfx;
    let slice = PostFxTracks {
        grain_intensity: cut(&p.grain_intensity),
        chroma_shift: cut(&p.chroma_shift),
        vignette_strength: cut(&p.vignette_strength),
    };
    let mut bytes = Vec::new();
    for (tag, t) in [(b'g', &slice.grain_intensity), (b'c', &slice.chroma_shift), (b'v', &slice.vignette_strength)] {
        if let Some(values) = t {
            bytes.push(tag);
            bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    Ok(Some((slice, Digest::of(&bytes))))
}
