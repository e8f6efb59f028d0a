//! The error type shared by the video, audio-for-video and image encoders in `media/`.

/// What went wrong while encoding, decoding or muxing video, Opus audio or images. Each
/// message says what was given and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    #[error("no frames given: at least one frame is needed")]
    NoFrames,
    #[error("frame {index} has {actual} bytes; a {width}x{height} RGB8 frame has {expected} (width * height * 3)")]
    FrameSize { index: usize, width: u32, height: u32, expected: usize, actual: usize },
    #[error("frame size {width}x{height} is not allowed: {allowed}")]
    Dimensions { width: u32, height: u32, allowed: &'static str },
    #[error("frame rate {fps} fps is not allowed: use 1..=240 fps")]
    FrameRate { fps: u32 },
    #[error("H.264 quantizer {qp} is not allowed: use 12..=51 (lower is better quality)")]
    Quantizer { qp: u8 },
    #[error("{channels} audio channels are not allowed: use 1 (mono) or 2 (stereo)")]
    Channels { channels: u16 },
    #[error("{len} interleaved samples do not divide into {channels} channels")]
    RaggedPcm { len: usize, channels: u16 },
    #[error("no audio samples given: at least one sample per channel is needed")]
    NoSamples,
    #[error("audio sample {index} is {value}: samples must be finite")]
    NonFiniteSample { index: usize, value: String },
    #[error("Opus bitrate {bitrate_bps} bit/s is not allowed: use 6000..=510000 bit/s")]
    Bitrate { bitrate_bps: u32 },
    #[error("Opus packet {index} is not a valid Opus packet")]
    OpusPacket { index: usize },
    #[error("Opus pre-skip {pre_skip} is not allowed: use 0..=65535 samples")]
    PreSkip { pre_skip: u64 },
    #[error("access unit {index} holds no H.264 NAL unit (expected Annex-B start codes 00 00 01)")]
    EmptyAccessUnit { index: usize },
    #[error("the first access unit is not an IDR frame with SPS and PPS: a stream must start at a key frame")]
    NoKeyFrameFirst,
    #[error("the H.264 encoder failed at frame {index}: {detail}")]
    Encoder { index: usize, detail: String },
    #[error("the H.264 encoder produced no data for frame {index} (a skipped frame)")]
    SkippedFrame { index: usize },
    #[error("H.264 decoding failed at access unit {index}: {detail}")]
    Decoder { index: usize, detail: String },
    #[error("reading the audio to encode failed: {detail}")]
    AudioRead { detail: String },
    #[error("the Opus codec failed: {detail}")]
    Opus { detail: String },
    #[error("MP4 muxing failed: {detail}")]
    Mux { detail: String },
    #[error("writing the MP4 failed: {detail}")]
    Write { detail: String },
    #[error("PNG encoding failed: {detail}")]
    Png { detail: String },
    #[error("GIF encoding failed: {detail}")]
    Gif { detail: String },
}

/// Check that every frame is `width * height * 3` bytes and that there is at least one.
pub(crate) fn check_rgb_frames(frames: &[&[u8]], width: u32, height: u32) -> Result<(), VideoError> {
    if frames.is_empty() {
        return Err(VideoError::NoFrames);
    }
    let expected = width as usize * height as usize * 3;
    for (index, frame) in frames.iter().enumerate() {
        if frame.len() != expected {
            return Err(VideoError::FrameSize { index, width, height, expected, actual: frame.len() });
        }
    }
    Ok(())
}
