//! Opus decoding for symphonia's demuxers (Ogg `.opus`, WebM/Matroska, MP4), through the
//! libopus decoder of `unsafe-libopus` (libopus 1.3.1 translated to Rust, the same library that
//! encodes the videos' audio).
//!
//! The identification header (`OpusHead`, RFC 7845 §5.1) the demuxer hands over as the track's
//! extra data gives the channel count, the pre-skip, the output gain and the channel mapping: a
//! multistream decoder is made from it, so mono, stereo and surround streams (mapping families 0,
//! 1, 2 and 255) all decode; family 3 (projected ambisonics) is refused. Audio comes out at 48 kHz,
//! Opus' own rate, in symphonia's channel order; the output gain is applied by libopus. The trims
//! the demuxer marks on packets (Ogg's end padding) are applied here, as symphonia's own decoders
//! do; the pre-skip, which the Ogg and Matroska readers do not mark, is dropped by the caller
//! (from [`header`]), and an MP4's by its edit list; Matroska's end padding by the caller too
//! (`media::mkv_padding`).

use std::sync::OnceLock;

use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, Channels, GenericAudioBufferRef, Position,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult};
use symphonia::core::codecs::registry::{CodecRegistry, RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Error, Result};
use symphonia::core::packet::PacketRef;
use unsafe_libopus::{
    OPUS_OK, OPUS_RESET_STATE, OPUS_SET_GAIN_REQUEST, OpusMSDecoder, opus_multistream_decode_float,
    opus_multistream_decoder_create, opus_multistream_decoder_ctl, opus_multistream_decoder_destroy,
    opus_packet_get_nb_samples,
};

/// Opus decodes at 48 kHz.
const RATE_HZ: u32 = 48_000;
/// The longest packet Opus allows: 120 ms at 48 kHz.
const MAX_PACKET_FRAMES: usize = 5_760;

/// Symphonia's codecs with Opus added: what every decode in ntsbuild makes its decoders from.
pub fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_audio_decoder::<OpusPacketDecoder>();
        registry
    })
}

/// What an `OpusHead` says (RFC 7845 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpusHead {
    pub channels: u8,
    /// Samples at 48 kHz a decoder drops at the start.
    pub pre_skip: u16,
    /// Output gain in dB, Q7.8.
    pub gain_q8: i16,
    pub family: u8,
    pub streams: u8,
    pub coupled: u8,
    /// Decoded channel `i` is stream output `mapping[i]` (255: silence).
    pub mapping: Vec<u8>,
}

impl OpusHead {
    /// Parses an identification header (with its `OpusHead` signature); the error says what is
    /// wrong with it.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        let field = |at: usize, len: usize| {
            bytes.get(at..at + len).ok_or_else(|| format!("the Opus header is cut short ({} bytes)", bytes.len()))
        };
        if field(0, 8)? != b"OpusHead" {
            return Err("the Opus header does not start with `OpusHead`".to_string());
        }
        let version = field(8, 1)?[0];
        if version >> 4 != 0 {
            return Err(format!("Opus header version {version} (only 0–15 are defined)"));
        }
        let le16 = |at: usize| field(at, 2).map(|b| [b[0], b[1]]);
        let channels = field(9, 1)?[0];
        let pre_skip = u16::from_le_bytes(le16(10)?);
        let gain_q8 = i16::from_le_bytes(le16(16)?);
        let family = field(18, 1)?[0];
        if channels == 0 {
            return Err("the Opus header declares no channels".to_string());
        }
        let (streams, coupled, mapping) = if family == 0 {
            if channels > 2 {
                return Err(format!("Opus mapping family 0 holds 1 or 2 channels (the header declares {channels})"));
            }
            (1, channels - 1, (0..channels).collect())
        } else {
            let (streams, coupled) = (field(19, 1)?[0], field(20, 1)?[0]);
            let mapping = field(21, usize::from(channels))?.to_vec();
            let outputs = u16::from(streams) + u16::from(coupled);
            if streams == 0 || coupled > streams || mapping.iter().any(|&m| m != 255 && u16::from(m) >= outputs) {
                return Err(format!(
                    "the Opus channel mapping is inconsistent ({streams} streams, {coupled} coupled, mapping {mapping:?})"
                ));
            }
            (streams, coupled, mapping)
        };
        Ok(Self { channels, pre_skip, gain_q8, family, streams, coupled, mapping })
    }
}

/// An Opus track's header, parsed (`None` for another codec): its pre-skip, which neither the
/// Ogg nor the Matroska reader marks on the packets, is dropped by the caller, and a header that
/// cannot be read is the caller's error to report, with what is wrong with it.
pub fn header(params: &AudioCodecParameters) -> Option<std::result::Result<OpusHead, String>> {
    (params.codec == CODEC_ID_OPUS).then(|| match params.extra_data.as_deref() {
        Some(bytes) => OpusHead::parse(bytes),
        None => Err("the Opus track has no header".to_string()),
    })
}

/// Speaker positions of Vorbis channel order (which Opus mapping family 1 uses) for 1–8 channels.
fn vorbis_order(channels: u8) -> Option<Vec<Position>> {
    use Position as P;
    let order = match channels {
        1 => vec![P::FRONT_LEFT],
        2 => vec![P::FRONT_LEFT, P::FRONT_RIGHT],
        3 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT],
        4 => vec![P::FRONT_LEFT, P::FRONT_RIGHT, P::REAR_LEFT, P::REAR_RIGHT],
        5 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT, P::REAR_LEFT, P::REAR_RIGHT],
        6 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT, P::REAR_LEFT, P::REAR_RIGHT, P::LFE1],
        7 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT, P::SIDE_LEFT, P::SIDE_RIGHT, P::REAR_CENTER, P::LFE1],
        8 => vec![
            P::FRONT_LEFT,
            P::FRONT_CENTER,
            P::FRONT_RIGHT,
            P::SIDE_LEFT,
            P::SIDE_RIGHT,
            P::REAR_LEFT,
            P::REAR_RIGHT,
            P::LFE1,
        ],
        _ => return None,
    };
    Some(order)
}

/// The channels of the decoded audio and, for each decoded channel, its plane: positioned
/// channels in symphonia's order (by position) where the layout is known, else as decoded.
fn layout(head: &OpusHead) -> (Channels, Vec<usize>) {
    let known = if head.family <= 1 { vorbis_order(head.channels) } else { None };
    match known {
        Some(order) => {
            let all = order.iter().fold(Position::empty(), |acc, &p| acc | p);
            let plane = order.iter().map(|p| order.iter().filter(|q| q.bits() < p.bits()).count()).collect();
            (Channels::Positioned(all), plane)
        }
        None => (Channels::Discrete(u16::from(head.channels)), (0..usize::from(head.channels)).collect()),
    }
}

/// Owns a libopus multistream decoder.
struct Handle(*mut OpusMSDecoder);

// SAFETY: the decoder state is only touched through `&mut self` (decode, reset), never shared.
unsafe impl Send for Handle {}
// SAFETY: as above: no method taking `&self` reads or writes the state.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from opus_multistream_decoder_create and is freed exactly once.
        unsafe { opus_multistream_decoder_destroy(self.0) }
    }
}

/// A symphonia audio decoder for Opus.
pub struct OpusPacketDecoder {
    params: AudioCodecParameters,
    head: OpusHead,
    state: Handle,
    /// Plane of each decoded channel.
    plane_of: Vec<usize>,
    gapless: bool,
    interleaved: Vec<f32>,
    buf: AudioBuffer<f32>,
}

impl OpusPacketDecoder {
    pub fn try_new(params: &AudioCodecParameters, opts: &AudioDecoderOptions) -> Result<Self> {
        if params.codec != CODEC_ID_OPUS {
            return Err(Error::Unsupported("opus: not an Opus track"));
        }
        let extra = params.extra_data.as_deref().ok_or(Error::DecodeError("opus: the track has no Opus header"))?;
        let head = OpusHead::parse(extra).map_err(|_| Error::DecodeError("opus: unreadable Opus header"))?;
        if head.family == 3 {
            // The streams would need the header's demixing matrix to become channels.
            return Err(Error::Unsupported("opus: ambisonics with a demixing matrix (mapping family 3)"));
        }
        let mut error = 0i32;
        // SAFETY: the mapping holds `channels` entries (checked by the parse); the result is
        // checked for null and error before use.
        let ptr = unsafe {
            opus_multistream_decoder_create(
                RATE_HZ as i32,
                i32::from(head.channels),
                i32::from(head.streams),
                i32::from(head.coupled),
                head.mapping.as_ptr(),
                &mut error,
            )
        };
        if ptr.is_null() || error != OPUS_OK {
            return Err(Error::DecodeError("opus: the decoder refused the stream's channel mapping"));
        }
        let state = Handle(ptr);
        let (channels, plane_of) = layout(&head);
        let buf = AudioBuffer::new(AudioSpec::new(RATE_HZ, channels.clone()), MAX_PACKET_FRAMES);
        let mut params = params.clone();
        params.with_sample_rate(RATE_HZ).with_channels(channels);
        let mut decoder = Self { params, head, state, plane_of, gapless: opts.gapless, interleaved: Vec::new(), buf };
        decoder.set_gain()?;
        Ok(decoder)
    }

    fn set_gain(&mut self) -> Result<()> {
        // SAFETY: a live decoder; OPUS_SET_GAIN takes one i32.
        let code =
            unsafe { opus_multistream_decoder_ctl!(self.state.0, OPUS_SET_GAIN_REQUEST, i32::from(self.head.gain_q8)) };
        if code == OPUS_OK { Ok(()) } else { Err(Error::DecodeError("opus: the header's output gain is out of range")) }
    }

    fn decode_inner(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let data = packet.data;
        if data.is_empty() {
            return Err(Error::DecodeError("opus: empty packet"));
        }
        let len = i32::try_from(data.len()).map_err(|_| Error::DecodeError("opus: packet too large"))?;
        // SAFETY: `data` is a live slice of `len` bytes.
        let frames = unsafe { opus_packet_get_nb_samples(data.as_ptr(), len, RATE_HZ as i32) };
        let frames = usize::try_from(frames).map_err(|_| Error::DecodeError("opus: malformed packet"))?;
        if frames == 0 || frames > MAX_PACKET_FRAMES {
            return Err(Error::DecodeError("opus: malformed packet"));
        }
        let channels = usize::from(self.head.channels);
        self.interleaved.resize(MAX_PACKET_FRAMES * channels, 0.0);
        // SAFETY: the output holds MAX_PACKET_FRAMES frames of `channels` samples, the size given.
        let got = unsafe {
            opus_multistream_decode_float(
                self.state.0,
                data.as_ptr(),
                len,
                self.interleaved.as_mut_ptr(),
                MAX_PACKET_FRAMES as i32,
                0,
            )
        };
        let got = usize::try_from(got).map_err(|_| Error::DecodeError("opus: corrupt packet"))?;
        self.buf.render_uninit(Some(got));
        for (c, &plane) in self.plane_of.iter().enumerate() {
            let Some(out) = self.buf.plane_mut(plane) else {
                return Err(Error::DecodeError("opus: missing audio plane"));
            };
            for (o, frame) in out.iter_mut().zip(self.interleaved.chunks_exact(channels)) {
                *o = frame[c];
            }
        }
        if self.gapless {
            self.buf.trim(packet.trim_start.get() as usize, packet.trim_end.get() as usize);
        }
        Ok(())
    }
}

impl AudioDecoder for OpusPacketDecoder {
    fn reset(&mut self) {
        // SAFETY: a live decoder; OPUS_RESET_STATE takes no argument.
        unsafe { opus_multistream_decoder_ctl!(self.state.0, OPUS_RESET_STATE) };
        // The gain is kept by a reset; set again all the same, so a reset decoder is a new one.
        let _ = self.set_gain();
    }

    fn codec_info(&self) -> &CodecInfo {
        &SUPPORTED[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        self.buf.clear();
        match self.decode_inner(packet) {
            Ok(()) => Ok(self.buf.as_generic_audio_buffer_ref()),
            Err(e) => {
                self.buf.clear();
                Err(e)
            }
        }
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buf.as_generic_audio_buffer_ref()
    }
}

const SUPPORTED: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
    id: CODEC_ID_OPUS,
    info: CodecInfo { short_name: "opus", long_name: "Opus (libopus)", profiles: &[] },
}];

impl RegisterableAudioDecoder for OpusPacketDecoder {
    fn try_registry_new(params: &AudioCodecParameters, opts: &AudioDecoderOptions) -> Result<Box<dyn AudioDecoder>>
    where
        Self: Sized,
    {
        Ok(Box::new(Self::try_new(params, opts)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        &SUPPORTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::packet::Packet;
    use symphonia::core::units::{Duration, Timestamp};

    /// A stereo stream's header with `gain_q8` and the encoder's pre-skip.
    fn stereo_params(pre_skip: u16, gain_q8: i16) -> AudioCodecParameters {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, 2]);
        h.extend_from_slice(&pre_skip.to_le_bytes());
        h.extend_from_slice(&48_000u32.to_le_bytes());
        h.extend_from_slice(&gain_q8.to_le_bytes());
        h.push(0);
        let mut params = AudioCodecParameters::new();
        params.for_codec(CODEC_ID_OPUS).with_extra_data(h.into_boxed_slice());
        params
    }

    /// Every packet decoded in order, planes concatenated; `trim` on the first packet.
    fn decode_all(decoder: &mut dyn AudioDecoder, packets: &[Vec<u8>], trim: u32) -> Vec<Vec<f32>> {
        let mut out = vec![Vec::new(), Vec::new()];
        for (i, data) in packets.iter().enumerate() {
            let mut packet = Packet::new(0, Timestamp::from(0i64), Duration::from(960u64), data.clone());
            if i == 0 {
                packet.trim_start = Duration::from(u64::from(trim));
            }
            let buf = decoder.decode(&packet).expect("decode");
            let mut planes = vec![vec![0.0f32; buf.frames()]; 2];
            let mut views: Vec<&mut [f32]> = planes.iter_mut().map(Vec::as_mut_slice).collect();
            buf.copy_to_slice_planar::<f32, _>(&mut views);
            for (o, p) in out.iter_mut().zip(planes) {
                o.extend(p);
            }
        }
        out
    }

    #[test]
    fn the_header_gain_and_the_packet_trims_are_applied_and_a_reset_decoder_starts_afresh() {
        let tone: Vec<f32> = (0..9_600)
            .flat_map(|n| {
                let t = n as f32 / 48_000.0;
                [
                    0.25 * (2.0 * std::f32::consts::PI * 440.0 * t).sin(),
                    0.1 * (2.0 * std::f32::consts::PI * 660.0 * t).sin(),
                ]
            })
            .collect();
        let audio = crate::media::opus::encode_opus(&tone, 2, 128_000).expect("encode");
        let opts = AudioDecoderOptions::default();
        let mut plain = OpusPacketDecoder::try_new(&stereo_params(audio.pre_skip, 0), &opts).expect("decoder");
        let reference = decode_all(&mut plain, &audio.packets, u32::from(audio.pre_skip));
        assert_eq!(reference[0].len(), audio.packets.len() * 960 - usize::from(audio.pre_skip));
        // The encoder's own check decode gives the same samples (same library, same trims).
        let checked = crate::media::opus::decode_opus(&audio).expect("check decode");
        for (i, frame) in checked.chunks_exact(2).enumerate() {
            assert_eq!([reference[0][i], reference[1][i]], [frame[0], frame[1]], "frame {i}");
        }

        // +6 dB (Q7.8: 1541/256) doubles every sample, to libopus' rounding.
        let mut louder = OpusPacketDecoder::try_new(&stereo_params(audio.pre_skip, 1541), &opts).expect("decoder");
        let loud = decode_all(&mut louder, &audio.packets, u32::from(audio.pre_skip));
        let factor = 10f64.powf(1541.0 / 256.0 / 20.0);
        for (l, r) in loud.iter().flatten().zip(reference.iter().flatten()) {
            assert!((f64::from(*l) - factor * f64::from(*r)).abs() < 1e-4, "{l} vs {r}");
        }

        // A reset decoder (the gain kept) decodes the stream again to the same bits.
        louder.reset();
        assert_eq!(decode_all(&mut louder, &audio.packets, u32::from(audio.pre_skip)), loud);

        // A damaged packet is an error, not a panic, and the decoder goes on.
        let garbage = [0xffu8, 0xff, 0xff, 0xff];
        let packet = Packet::new(0, Timestamp::from(0i64), Duration::from(960u64), garbage.to_vec());
        assert!(plain.decode(&packet).is_err());
        assert!(plain.decode(&Packet::new(0, Timestamp::from(0i64), Duration::from(0u64), Vec::new())).is_err());
    }

    fn head(channels: u8, family: u8, tail: &[u8]) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, channels, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0x00, 0x01, family]);
        h.extend_from_slice(tail);
        h
    }

    #[test]
    fn a_header_gives_its_mapping_and_a_bad_one_says_why() {
        let stereo = OpusHead::parse(&head(2, 0, &[])).unwrap();
        assert_eq!((stereo.pre_skip, stereo.gain_q8, stereo.streams, stereo.coupled), (312, 256, 1, 1));
        assert_eq!(stereo.mapping, vec![0, 1]);
        let surround = OpusHead::parse(&head(6, 1, &[4, 2, 0, 4, 1, 2, 3, 5])).unwrap();
        assert_eq!((surround.streams, surround.coupled, surround.mapping.len()), (4, 2, 6));
        // 5.1 in Vorbis order (L C R RL RR LFE) lands in symphonia's (L R C LFE RL RR).
        assert_eq!(layout(&surround).1, vec![0, 2, 1, 4, 5, 3]);

        for (bytes, says) in [
            (head(3, 0, &[]), "family 0 holds 1 or 2"),
            (head(2, 1, &[1, 2, 0, 1]), "inconsistent"),
            (head(2, 1, &[1, 1, 0, 9]), "inconsistent"),
            (head(2, 1, &[1]), "cut short"),
            (head(0, 0, &[]), "no channels"),
            (b"OpusTags........................".to_vec(), "does not start"),
        ] {
            let e = OpusHead::parse(&bytes).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
