//! Media I/O (layer 3): encoding and decoding the formats users' tools read.

pub mod analyze;
pub(crate) mod canvas;
pub mod decode;
pub mod font;
pub mod formats;
pub mod h264;
pub mod image;
pub mod loudness;
pub mod loudness_plot;
pub mod mkv_padding;
pub mod mp4;
pub mod mp4_edit;
pub mod npz;
pub mod opus;
pub mod opus_decode;
pub(crate) mod packet_decode;
pub mod pcm;
pub mod plot;
pub mod sidecar;
pub mod spool;
pub mod stamp;
pub mod thumbs;
pub mod video_error;
pub mod wav;
pub mod wav_lenient;
pub mod yuv;
pub mod zip;

pub use video_error::VideoError;
