//! H.264 encoding of frame segments and decoding of access units, through OpenH264 (built
//! from source by the `openh264` crate).
//!
//! A segment is encoded by a fresh single-threaded encoder at a constant quantizer: no rate
//! control that depends on timing, no scene-cut key frames, no frame skipping. So the same
//! frames and parameters always give the same bytes, each segment starts with an IDR frame
//! carrying SPS and PPS, and separately encoded segments concatenate into one valid stream
//! (every segment's parameter sets are identical). OpenH264's assembly kernels are bit-exact
//! with its C code, so the bytes do not depend on the CPU either.

use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile, QpRange,
    RateControlMode, SpsPpsStrategy, UsageType, VuiConfig,
};
use openh264::formats::{YUVSlices, YUVSource};

pub use super::video_error::VideoError;
use super::video_error::check_rgb_frames;
use super::yuv::{I420, i420_to_rgb, rgb_to_i420};

/// Largest picture OpenH264 encodes (level 5.2), either orientation.
pub const MAX_LONG_SIDE: u32 = 3840;
pub const MAX_SHORT_SIDE: u32 = 2160;
/// Quantizers the encoder honours: OpenH264's quality-mode rate control never goes below 12.
pub const QP_RANGE: std::ops::RangeInclusive<u8> = 12..=51;
/// Frame rates the encoder and the muxer accept.
pub const FPS_RANGE: std::ops::RangeInclusive<u32> = 1..=240;

/// NAL unit types (H.264 Table 7-1) that matter here.
pub const NAL_IDR_SLICE: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// Encoder settings. The defaults aim at "visually lossless" previews and renders, about
/// what x264's CRF 18 gives on this kind of material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264Params {
    /// Constant quantizer, 12..=51; lower is better quality and bigger files.
    pub qp: u8,
}

impl Default for H264Params {
    fn default() -> Self {
        Self { qp: 18 }
    }
}

/// Check a frame size the encoder accepts: multiples of 16, at most 3840×2160 either way.
pub fn check_dimensions(width: u32, height: u32) -> Result<(), VideoError> {
    let allowed = "width and height must be positive multiples of 16, at most 3840x2160 (or 2160x3840)";
    let (long, short) = (width.max(height), width.min(height));
    if width == 0
        || height == 0
        || !width.is_multiple_of(16)
        || !height.is_multiple_of(16)
        || long > MAX_LONG_SIDE
        || short > MAX_SHORT_SIDE
    {
        return Err(VideoError::Dimensions { width, height, allowed });
    }
    Ok(())
}

fn check_fps(fps: u32) -> Result<(), VideoError> {
    if FPS_RANGE.contains(&fps) { Ok(()) } else { Err(VideoError::FrameRate { fps }) }
}

fn encoder_config(width: u32, height: u32, fps: u32, qp: u8) -> EncoderConfig {
    // The bitrate only picks the level written into the SPS: the quantizer range below pins
    // the quantizer, so the rate controller never changes what is coded.
    let pixels_per_s = u64::from(width) * u64::from(height) * u64::from(fps);
    let nominal_bps = (pixels_per_s / 2).clamp(1_000_000, 200_000_000) as u32;
    EncoderConfig::new()
        .rate_control_mode(RateControlMode::Quality)
        .qp(QpRange::new(qp, qp))
        .bitrate(BitRate::from_bps(nominal_bps))
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .skip_frames(false)
        .num_threads(1)
        .usage_type(UsageType::CameraVideoRealTime)
        .profile(Profile::High)
        // Low: the quantizer is fixed, so this only trims the mode search — 23 % less time for
        // 2 % more bytes on decoder frames at 512² (measured).
        .complexity(Complexity::Low)
        .scene_change_detect(false)
        .adaptive_quantization(false)
        .background_detection(false)
        .long_term_reference(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(0))
        .sps_pps_strategy(SpsPpsStrategy::ConstantId)
        .vui(VuiConfig::bt709())
}

/// Keep OpenH264 from logging to stderr while it initialises: the library never prints. (The
/// `openh264` crate lowers the trace level only after initialisation, which warns about the
/// disabled frame skipping.)
fn quiet(encoder: &mut Encoder) {
    let mut level = openh264_sys2::WELS_LOG_QUIET;
    // SAFETY: the trace level may be set before initialisation; the option reads one int
    // through the pointer, which outlives the call.
    unsafe {
        encoder.raw_api().set_option(openh264_sys2::ENCODER_OPTION_TRACE_LEVEL, (&raw mut level).cast());
    }
}

/// Encode one segment: `frames` are RGB8 interleaved (`width * height * 3` bytes each); width
/// and height multiples of 16. Returns one Annex-B access unit per frame, in order; the first
/// is an IDR frame carrying SPS/PPS, so segments encoded separately can be concatenated.
/// Deterministic bytes (single-threaded encoder, fixed settings, constant quantizer).
pub fn encode_segment(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    fps: u32,
    params: &H264Params,
) -> Result<Vec<Vec<u8>>, VideoError> {
    check_dimensions(width, height)?;
    check_fps(fps)?;
    if !QP_RANGE.contains(&params.qp) {
        return Err(VideoError::Quantizer { qp: params.qp });
    }
    check_rgb_frames(frames, width, height)?;

    let config = encoder_config(width, height, fps, params.qp);
    let encoder_err = |index: usize| move |e: openh264::Error| VideoError::Encoder { index, detail: e.to_string() };
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config).map_err(encoder_err(0))?;
    quiet(&mut encoder);
    let (w, h) = (width as usize, height as usize);
    let mut picture = I420::new(w, h);
    let mut units = Vec::with_capacity(frames.len());
    for (index, frame) in frames.iter().enumerate() {
        rgb_to_i420(frame, &mut picture);
        let source = YUVSlices::new((&picture.y, &picture.u, &picture.v), (w, h), (w, w / 2, w / 2));
        // Timestamps only feed OpenH264's frame-rate bookkeeping; they are the nominal ones.
        let timestamp = openh264::Timestamp::from_millis(index as u64 * 1000 / u64::from(fps));
        let stream = encoder.encode_at(&source, timestamp).map_err(encoder_err(index))?;
        let frame_type = stream.frame_type();
        let unit = stream.to_vec();
        if unit.is_empty() || frame_type == FrameType::Skip {
            return Err(VideoError::SkippedFrame { index });
        }
        if index == 0 && !is_key_frame(&unit) {
            return Err(VideoError::Encoder { index, detail: "the first frame is not an IDR frame".to_string() });
        }
        units.push(unit);
    }
    Ok(units)
}

/// The NAL units of an Annex-B byte stream, without their start codes.
pub fn nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    openh264::nal_units(stream).map(|unit| {
        let body_start = unit.iter().position(|&b| b == 1).map_or(unit.len(), |i| i + 1);
        &unit[body_start..]
    })
}

/// NAL unit type (low 5 bits of the header byte) of each NAL unit in an access unit.
pub fn nal_types(access_unit: &[u8]) -> Vec<u8> {
    nal_units(access_unit).filter_map(|nal| nal.first().map(|b| b & 0x1f)).collect()
}

/// True when the access unit holds an IDR slice (a key frame).
pub fn is_key_frame(access_unit: &[u8]) -> bool {
    nal_types(access_unit).contains(&NAL_IDR_SLICE)
}

/// True when the access unit holds an IDR slice and both parameter sets: a stream may start here.
pub fn is_stream_start(access_unit: &[u8]) -> bool {
    let types = nal_types(access_unit);
    [NAL_IDR_SLICE, NAL_SPS, NAL_PPS].iter().all(|t| types.contains(t))
}

fn decoded_to_rgb(yuv: &impl YUVSource) -> (u32, u32, Vec<u8>) {
    let (w, h) = yuv.dimensions();
    let (y_stride, u_stride, _) = yuv.strides();
    let rgb = i420_to_rgb(w, h, yuv.y(), y_stride, yuv.u(), yuv.v(), u_stride);
    (w as u32, h as u32, rgb)
}

/// Decode Annex-B access units back to RGB8 frames (for tests and previews). The stream must
/// start with a key frame; frames come out in order.
pub fn decode_frames(access_units: &[&[u8]]) -> Result<Vec<(u32, u32, Vec<u8>)>, VideoError> {
    if access_units.is_empty() {
        return Err(VideoError::NoFrames);
    }
    if !is_stream_start(access_units[0]) {
        return Err(VideoError::NoKeyFrameFirst);
    }
    let decoder_err = |index: usize| move |e: openh264::Error| VideoError::Decoder { index, detail: e.to_string() };
    let mut decoder =
        Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new()).map_err(decoder_err(0))?;
    let mut frames = Vec::with_capacity(access_units.len());
    for (index, unit) in access_units.iter().enumerate() {
        if nal_types(unit).is_empty() {
            return Err(VideoError::EmptyAccessUnit { index });
        }
        if let Some(yuv) = decoder.decode(unit).map_err(decoder_err(index))? {
            frames.push(decoded_to_rgb(&yuv));
        }
    }
    let last = access_units.len() - 1;
    for yuv in decoder.flush_remaining().map_err(decoder_err(last))? {
        frames.push(decoded_to_rgb(&yuv));
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32, t: u32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&[((x + 3 * t) % 256) as u8, ((y + t) % 256) as u8, ((x + y) / 2 % 256) as u8]);
            }
        }
        rgb
    }

    #[test]
    fn a_segment_starts_with_sps_pps_idr_and_then_predicts() {
        let frames: Vec<Vec<u8>> = (0..4).map(|t| gradient(64, 48, t)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let units = encode_segment(&refs, 64, 48, 25, &H264Params::default()).unwrap();
        assert_eq!(units.len(), 4);
        assert!(is_stream_start(&units[0]));
        assert!(units[1..].iter().all(|u| !is_key_frame(u)));
        let again = encode_segment(&refs, 64, 48, 25, &H264Params::default()).unwrap();
        assert_eq!(units, again);
    }

    #[test]
    fn bad_input_is_an_error_naming_what_is_allowed() {
        let frame = vec![0u8; 64 * 48 * 3];
        let p = H264Params::default();
        let e = encode_segment(&[&frame], 60, 48, 25, &p).unwrap_err();
        assert!(matches!(e, VideoError::Dimensions { width: 60, .. }), "{e}");
        assert!(e.to_string().contains("multiples of 16"));
        assert!(matches!(encode_segment(&[], 64, 48, 25, &p), Err(VideoError::NoFrames)));
        let e = encode_segment(&[&frame[..100]], 64, 48, 25, &p).unwrap_err();
        assert!(matches!(e, VideoError::FrameSize { index: 0, actual: 100, .. }), "{e}");
        assert!(matches!(encode_segment(&[&frame], 64, 48, 0, &p), Err(VideoError::FrameRate { fps: 0 })));
        assert!(matches!(
            encode_segment(&[&frame], 64, 48, 25, &H264Params { qp: 52 }),
            Err(VideoError::Quantizer { qp: 52 })
        ));
        assert!(matches!(
            encode_segment(&[&frame], 64, 48, 25, &H264Params { qp: 11 }),
            Err(VideoError::Quantizer { qp: 11 })
        ));
        assert!(matches!(encode_segment(&[&frame], 4096, 48, 25, &p), Err(VideoError::Dimensions { .. })));
    }

    #[test]
    fn decoding_rejects_streams_without_a_key_frame_first() {
        let frames: Vec<Vec<u8>> = (0..2).map(|t| gradient(32, 32, t)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let units = encode_segment(&refs, 32, 32, 30, &H264Params::default()).unwrap();
        assert!(matches!(decode_frames(&[&units[1]]), Err(VideoError::NoKeyFrameFirst)));
        assert!(matches!(decode_frames(&[]), Err(VideoError::NoFrames)));
        assert!(matches!(decode_frames(&[&units[0], &[1, 2, 3]]), Err(VideoError::EmptyAccessUnit { index: 1 })));
    }
}
