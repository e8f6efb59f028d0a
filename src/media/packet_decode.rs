//! Decoding a stream's packets on several threads with the bits of one decoder taking every
//! packet in order.
//!
//! The packets are demuxed in order on the calling thread and gathered into batches. Each batch
//! is decoded on its own thread by a decoder that was reset and then given the packets just
//! before the batch (the warm-up: at least [`WARMUP_PACKETS`] packets and [`WARMUP_BYTES`]
//! bytes), so that what a codec carries from packet to packet — the previous block's overlap,
//! the MP3 bit reservoir, the synthesis filter's history — is what an uninterrupted decode
//! would hold. Batches are taken in order. Before a batch's audio is used, what its warm-up gave
//! for the last [`SEAM_PACKETS`] packets must equal, bit for bit, what was taken for those
//! packets; where it does not, the batch is decoded again by the decoder that decoded the
//! previous batch (which continues where it stopped), and the rest of the stream is decoded in
//! order on the calling thread. Either way every packet's audio is that of one decoder taking
//! every packet in order, so the result does not depend on the thread count or batch sizes.
//! MP3 and Vorbis converge within one or two packets; FLAC and ALAC frames and PCM and ADPCM
//! blocks decode on their own, so their warm-up is only the packets compared. AAC and Opus are
//! decoded in order: AAC's noise substitution draws from a random generator that runs from the
//! stream's start, and Opus' band-energy prediction and post-filter do not come back bit for
//! bit after a reset, so no warm-up reproduces them; with more than one thread their one decoder
//! takes the batches on a thread of its own ([`Threads::chained`]) while the calling thread
//! takes the batch before.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

use symphonia::core::codecs::audio::AudioDecoder;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::packet::Packet;

/// Packets, from the end of what came before, that a batch's decoder is given first.
const WARMUP_PACKETS: usize = 4;
/// Bytes of packet data the warm-up covers at least (more than the 511 bytes an MP3 frame's
/// main data may reach back), up to [`WARMUP_MAX_PACKETS`].
const WARMUP_BYTES: usize = 4096;
/// Most packets in a warm-up (tiny packets).
const WARMUP_MAX_PACKETS: usize = 64;
/// Packets at a batch's start whose audio from the warm-up must equal what was taken.
const SEAM_PACKETS: usize = 2;
/// Most batches of one stream under way at once: past four threads the decoder is no longer
/// the slow stage (resampling and analysis are), and each batch holds its audio (≈ 2.4 MB for
/// 256 stereo MP3 packets) — with `-j 16`, sixteen sources decode at once.
const MAX_WORKERS: usize = 4;
/// Items per batch once decoding in order (taken as soon as they are batched).
const IN_ORDER_ITEMS: usize = 16;

/// How the packets are shared out (the output does not depend on it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Threads {
    /// Batches decoded at once (1: every packet in order on the calling thread).
    pub workers: usize,
    /// Items (packets of any track) per batch at most.
    pub batch_items: usize,
    /// Packet bytes per batch at most (FLAC and PCM packets are large).
    pub batch_bytes: usize,
    /// Packets of warm-up at least (tests give fewer to see seams refused).
    pub warmup_packets: usize,
    /// Bytes of warm-up at least.
    pub warmup_bytes: usize,
    /// In order, but on a thread of its own: one decoder takes every packet, batch after batch,
    /// while the calling thread demuxes and takes the batch before (AAC with `-j` above 1).
    pub chained: bool,
}

impl Threads {
    /// As many batches at once as the current rayon pool has threads (`-j`), up to
    /// [`MAX_WORKERS`].
    pub(crate) fn for_pool() -> Self {
        Self { workers: rayon::current_num_threads().min(MAX_WORKERS), ..Self::in_order() }
    }

    /// These threads for a stream of `codec` (a short name): in order where the decoder's state
    /// depends on the whole stream before a packet (AAC's noise generator, Opus' energy
    /// prediction and post-filter, which a reset decoder does not reach bit for bit); only the
    /// packets compared at a seam as warm-up where packets decode on their own (FLAC, ALAC,
    /// PCM, ADPCM).
    pub(crate) fn for_codec(self, codec: &str) -> Self {
        match codec {
            "aac" | "opus" => Self { workers: 1, chained: self.workers > 1, ..self },
            // Frames and blocks that stand alone: the warm-up is only the packets compared.
            alone if alone == "flac" || alone == "alac" || alone.starts_with("pcm_") || alone.starts_with("adpcm_") => {
                Self { warmup_packets: self.warmup_packets.min(SEAM_PACKETS), warmup_bytes: 0, ..self }
            }
            _ => self,
        }
    }

    /// Every packet on the calling thread.
    pub(crate) fn in_order() -> Self {
        Self {
            workers: 1,
            batch_items: 256,
            batch_bytes: 1 << 19,
            warmup_packets: WARMUP_PACKETS,
            warmup_bytes: WARMUP_BYTES,
            chained: false,
        }
    }
}

/// One demuxed item, in stream order.
#[derive(Clone)]
pub(crate) enum Item {
    /// A packet of another track (skipped, but it counts towards a stall).
    Foreign,
    /// A packet of the decoded track.
    Packet(Packet),
}

impl Item {
    fn packet(&self) -> Option<&Packet> {
        match self {
            Item::Packet(packet) => Some(packet),
            Item::Foreign => None,
        }
    }
}

/// What decoding one item gave.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// A packet of another track.
    Foreign,
    /// Audio: `frames` frames of `channels` planes at `rate` Hz, at `at` in the batch's planes.
    Audio {
        /// Sample rate in Hz.
        rate: u32,
        /// Channels.
        channels: usize,
        /// Frames per channel.
        frames: usize,
        /// Where they start in the planes.
        at: usize,
    },
    /// The packet could not be decoded (the stream goes on).
    Bad(String),
    /// The decoder cannot go on.
    Fatal(String),
}

/// Outcomes of a run of items and the audio they gave, plane by plane.
#[derive(Default)]
pub(crate) struct Decoded {
    /// One per item, in order (a run stops after a fatal outcome).
    pub outcomes: Vec<Outcome>,
    /// Channel planes; audio outcomes point into them.
    pub planes: Vec<Vec<f32>>,
    len: usize,
}

impl Decoded {
    fn clear(&mut self) {
        self.outcomes.clear();
        self.planes.iter_mut().for_each(Vec::clear);
        self.len = 0;
    }

    /// Decodes `packet`, appending its outcome and audio.
    fn decode(&mut self, decoder: &mut dyn AudioDecoder, packet: &Packet) -> &Outcome {
        let outcome = match decoder.decode(packet) {
            Ok(buffer) => {
                let frames = buffer.frames();
                let (rate, channels) = (buffer.spec().rate(), buffer.spec().channels().count());
                let at = self.len;
                if frames > 0 {
                    let planes = buffer.num_planes();
                    if self.planes.len() < planes {
                        self.planes.resize_with(planes, || vec![0.0; at]);
                    }
                    self.len += frames;
                    self.planes.iter_mut().for_each(|p| p.resize(at + frames, 0.0));
                    let mut views: Vec<&mut [f32]> =
                        self.planes[..planes].iter_mut().map(|p| &mut p[at..at + frames]).collect();
                    buffer.copy_to_slice_planar::<f32, _>(&mut views);
                }
                Outcome::Audio { rate, channels, frames, at }
            }
            Err(SymphoniaError::DecodeError(msg)) => Outcome::Bad(msg.to_string()),
            Err(SymphoniaError::IoError(io)) => Outcome::Bad(io.to_string()),
            Err(e) => Outcome::Fatal(e.to_string()),
        };
        self.outcomes.push(outcome);
        self.outcomes.last().unwrap_or(&Outcome::Foreign)
    }

    /// Decodes `items` in order into `self` (cleared first; its buffers are reused), stopping
    /// after a fatal outcome.
    fn decode_items(&mut self, decoder: &mut dyn AudioDecoder, items: &[Item]) {
        self.clear();
        for item in items {
            match item {
                Item::Foreign => self.outcomes.push(Outcome::Foreign),
                Item::Packet(packet) => {
                    if matches!(self.decode(decoder, packet), Outcome::Fatal(_)) {
                        break;
                    }
                }
            }
        }
    }

    /// The last `count` packet outcomes with their own audio, oldest first.
    fn tail(&self, count: usize) -> impl Iterator<Item = Single> + '_ {
        let packets: Vec<&Outcome> = self.outcomes.iter().filter(|o| **o != Outcome::Foreign).collect();
        packets.into_iter().rev().take(count).rev().map(|o| Single::of(o, &self.planes))
    }
}

/// One packet's outcome with its audio, for comparing at a seam.
#[derive(Debug)]
struct Single {
    outcome: Outcome,
    planes: Vec<Vec<f32>>,
}

impl Single {
    fn of(outcome: &Outcome, planes: &[Vec<f32>]) -> Self {
        match *outcome {
            Outcome::Audio { rate, channels, frames, at } => Self {
                outcome: Outcome::Audio { rate, channels, frames, at: 0 },
                planes: planes.iter().map(|p| p[at..at + frames].to_vec()).collect(),
            },
            ref other => Self { outcome: other.clone(), planes: Vec::new() },
        }
    }

    /// Same outcome and the same bits in every plane.
    fn same_as(&self, other: &Self) -> bool {
        let bits = |p: &[f32]| p.iter().map(|s| s.to_bits()).collect::<Vec<u32>>();
        self.outcome == other.outcome
            && self.planes.len() == other.planes.len()
            && self.planes.iter().zip(&other.planes).all(|(a, b)| bits(a) == bits(b))
    }
}

/// What a worker hands back: its decoder (in the state after the batch), what the warm-up gave
/// for the packets at the seam, and the batch's outcomes.
struct Worked {
    decoder: Box<dyn AudioDecoder>,
    seam: Vec<Single>,
    out: Decoded,
}

fn work(mut decoder: Box<dyn AudioDecoder>, warmup: &[Packet], items: &[Item], mut out: Decoded) -> Worked {
    decoder.reset();
    let mut scratch = Decoded::default();
    let mut seam = Vec::with_capacity(SEAM_PACKETS);
    let compared = warmup.len().saturating_sub(SEAM_PACKETS);
    for (i, packet) in warmup.iter().enumerate() {
        scratch.clear();
        let outcome = scratch.decode(&mut *decoder, packet).clone();
        if i >= compared {
            seam.push(Single::of(&outcome, &scratch.planes));
        }
    }
    out.decode_items(&mut *decoder, items);
    Worked { decoder, seam, out }
}

enum Pending<'scope> {
    /// Decoding on a worker thread (the items are kept for a decode again).
    Worker(ScopedJoinHandle<'scope, Worked>, Arc<[Item]>),
    /// To be decoded in order when it is taken.
    InOrder(Vec<Item>),
    /// Sent to the chained decoder's thread, whose outputs come back in order.
    Chained,
}

/// The thread of a chained pipeline ([`Threads::chained`]): its own decoder decodes every batch
/// sent, in order, and sends the outcomes back.
struct ChainedThread<'scope> {
    batches: std::sync::mpsc::SyncSender<(Vec<Item>, Decoded)>,
    outs: std::sync::mpsc::Receiver<Decoded>,
    thread: Option<ScopedJoinHandle<'scope, ()>>,
}

/// Takes the decoded items in order: `take(outcome, planes)` for each.
pub(crate) trait Take {
    /// Error that stops the decode.
    type Error;
    /// One item's outcome; audio outcomes point into `planes`.
    fn take(&mut self, outcome: &Outcome, planes: &[Vec<f32>]) -> Result<(), Self::Error>;
}

/// Batches packets and decodes them (see the module documentation).
pub(crate) struct Pipeline<'scope, 'env, M> {
    scope: &'scope Scope<'scope, 'env>,
    threads: Threads,
    /// Makes another decoder for the stream.
    make: M,
    /// The decoder in the state after every packet taken so far.
    chain: Box<dyn AudioDecoder>,
    spare: Vec<Box<dyn AudioDecoder>>,
    /// Decoded batches taken, their buffers for the next ones.
    spare_out: Vec<Decoded>,
    filling: Vec<Item>,
    filling_bytes: usize,
    /// The last packets batched (the next batch's warm-up).
    recent: VecDeque<Packet>,
    recent_bytes: usize,
    pending: VecDeque<Pending<'scope>>,
    /// The last packets' outcomes taken, with their audio.
    taken_tail: VecDeque<Single>,
    /// False once a seam was refused: the rest is decoded in order.
    parallel: bool,
    /// Where batches go when decoded in order on a thread of their own.
    chained: Option<ChainedThread<'scope>>,
    #[cfg(test)]
    refused: usize,
}

impl<'scope, 'env, M> Pipeline<'scope, 'env, M>
where
    M: FnMut() -> Option<Box<dyn AudioDecoder>>,
{
    /// A pipeline that decodes with `decoder` (fresh) and makes more with `make`.
    pub(crate) fn new(
        scope: &'scope Scope<'scope, 'env>,
        threads: Threads,
        decoder: Box<dyn AudioDecoder>,
        mut make: M,
    ) -> Self {
        // A fresh decoder of its own, as `decoder` is: the same state before the first packet.
        // Without a decoder or a thread to be had, everything is decoded here.
        let chained =
            if threads.chained && threads.workers <= 1 { make().and_then(|d| chained_thread(scope, d)) } else { None };
        Self {
            scope,
            threads,
            make,
            chained,
            chain: decoder,
            spare: Vec::new(),
            spare_out: Vec::new(),
            filling: Vec::new(),
            filling_bytes: 0,
            recent: VecDeque::new(),
            recent_bytes: 0,
            pending: VecDeque::new(),
            taken_tail: VecDeque::new(),
            parallel: threads.workers > 1,
            #[cfg(test)]
            refused: 0,
        }
    }

    /// Adds the next item; full batches are started, and the oldest taken when enough are under way.
    pub(crate) fn push<T: Take>(&mut self, item: Item, taker: &mut T) -> Result<(), T::Error> {
        if let Item::Packet(packet) = &item {
            self.filling_bytes += packet.data.len();
        }
        self.filling.push(item);
        // In order, small batches are taken at once; threaded, `workers` batches are under way;
        // chained, one batch is decoded while the one before is taken.
        let (items, bytes, under_way) = match (self.parallel, &self.chained) {
            (true, _) => (self.threads.batch_items, self.threads.batch_bytes, self.threads.workers),
            (false, Some(_)) => (self.threads.batch_items, self.threads.batch_bytes, 1),
            (false, None) => (IN_ORDER_ITEMS.min(self.threads.batch_items), self.threads.batch_bytes, 0),
        };
        if self.filling.len() >= items || self.filling_bytes >= bytes {
            self.start_batch();
            while self.pending.len() > under_way {
                self.take_oldest(taker)?;
            }
        }
        Ok(())
    }

    /// Takes everything pushed so far.
    pub(crate) fn finish<T: Take>(&mut self, taker: &mut T) -> Result<(), T::Error> {
        if !self.filling.is_empty() {
            self.start_batch();
        }
        while !self.pending.is_empty() {
            self.take_oldest(taker)?;
        }
        Ok(())
    }

    fn start_batch(&mut self) {
        let items = std::mem::take(&mut self.filling);
        self.filling_bytes = 0;
        if let Some(chained) = &self.chained {
            let out = self.spare_out.pop().unwrap_or_default();
            // A thread gone (it panicked) shows when its outcomes are awaited.
            let _ = chained.batches.send((items, out));
            self.pending.push_back(Pending::Chained);
            return;
        }
        let warmup: Vec<Packet> = self.recent.iter().cloned().collect();
        if self.parallel {
            // Only the last packets can stay in a warm-up.
            let packets: Vec<&Packet> = items.iter().filter_map(Item::packet).collect();
            for packet in &packets[packets.len().saturating_sub(WARMUP_MAX_PACKETS)..] {
                self.remember(packet);
            }
        }
        let pending = match self.worker_decoder() {
            Some(decoder) => {
                let out = self.spare_out.pop().unwrap_or_default();
                let items: Arc<[Item]> = items.into();
                let shared = Arc::clone(&items);
                let spawned = std::thread::Builder::new()
                    .name("decode".to_string())
                    .spawn_scoped(self.scope, move || work(decoder, &warmup, &shared, out));
                match spawned {
                    Ok(handle) => Pending::Worker(handle, items),
                    Err(_) => {
                        // No thread to be had: the rest is decoded here, in order.
                        self.parallel = false;
                        Pending::InOrder(items.to_vec())
                    }
                }
            }
            None => Pending::InOrder(items),
        };
        self.pending.push_back(pending);
    }

    fn worker_decoder(&mut self) -> Option<Box<dyn AudioDecoder>> {
        if !self.parallel {
            return None;
        }
        let decoder = self.spare.pop().or_else(&mut self.make);
        if decoder.is_none() {
            self.parallel = false;
        }
        decoder
    }

    fn remember(&mut self, packet: &Packet) {
        self.recent_bytes += packet.data.len();
        self.recent.push_back(packet.clone());
        let Threads { warmup_packets, warmup_bytes, .. } = self.threads;
        while let Some(front) = self.recent.front()
            && self.recent.len() > warmup_packets
            && (self.recent.len() > WARMUP_MAX_PACKETS || self.recent_bytes - front.data.len() >= warmup_bytes)
        {
            self.recent_bytes -= front.data.len();
            self.recent.pop_front();
        }
    }

    fn take_oldest<T: Take>(&mut self, taker: &mut T) -> Result<(), T::Error> {
        let Some(pending) = self.pending.pop_front() else { return Ok(()) };
        let out = match pending {
            Pending::InOrder(items) => {
                let mut out = self.spare_out.pop().unwrap_or_default();
                out.decode_items(&mut *self.chain, &items);
                out
            }
            Pending::Chained => {
                let Some(chained) = self.chained.as_mut() else { return Ok(()) };
                match chained.outs.recv() {
                    Ok(out) => out,
                    // The thread only stops without an answer while batches are under way when
                    // it panicked: that panic goes on here, as a worker's does.
                    Err(_) => {
                        let stopped = chained.thread.take().map(ScopedJoinHandle::join);
                        if let Some(Err(panic)) = stopped {
                            std::panic::resume_unwind(panic);
                        }
                        unreachable!("the chained decoder's thread stopped with batches under way");
                    }
                }
            }
            Pending::Worker(handle, items) => {
                let worked = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                let seam_holds = worked.seam.len() == self.taken_tail.len()
                    && worked.seam.iter().zip(&self.taken_tail).all(|(a, b)| a.same_as(b));
                if seam_holds {
                    let previous = std::mem::replace(&mut self.chain, worked.decoder);
                    self.spare.push(previous);
                    worked.out
                } else {
                    #[cfg(test)]
                    {
                        self.refused += 1;
                    }
                    self.parallel = false;
                    self.spare.push(worked.decoder);
                    let mut out = worked.out;
                    out.decode_items(&mut *self.chain, &items);
                    out
                }
            }
        };
        let taken = out.outcomes.iter().try_for_each(|outcome| taker.take(outcome, &out.planes));
        taken?;
        for single in out.tail(SEAM_PACKETS) {
            self.taken_tail.push_back(single);
            if self.taken_tail.len() > SEAM_PACKETS {
                self.taken_tail.pop_front();
            }
        }
        self.spare_out.push(out);
        Ok(())
    }
}

/// Starts a chained pipeline's thread with `decoder`; `None` when no thread is to be had.
fn chained_thread<'scope>(
    scope: &'scope Scope<'scope, '_>,
    mut decoder: Box<dyn AudioDecoder>,
) -> Option<ChainedThread<'scope>> {
    // Two batches under way at most: the one decoded and the one waiting for it.
    let (batches, to_decode) = std::sync::mpsc::sync_channel::<(Vec<Item>, Decoded)>(1);
    let (done, outs) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("decode".to_string())
        .spawn_scoped(scope, move || {
            for (items, mut out) in to_decode {
                out.decode_items(&mut *decoder, &items);
                if done.send(out).is_err() {
                    break;
                }
            }
        })
        .ok()?;
    Some(ChainedThread { batches, outs, thread: Some(thread) })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::formats::{FormatOptions, TrackType};
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio").join(name)
    }

    /// Every outcome taken, and the audio as one vector per channel.
    #[derive(Default, PartialEq, Debug)]
    struct Record {
        outcomes: Vec<Outcome>,
        channels: Vec<Vec<u32>>,
    }

    impl Take for Record {
        type Error = ();
        fn take(&mut self, outcome: &Outcome, planes: &[Vec<f32>]) -> Result<(), ()> {
            if let &Outcome::Audio { rate, channels, frames, at } = outcome {
                self.channels.resize_with(channels.max(self.channels.len()), Vec::new);
                for (out, plane) in self.channels.iter_mut().zip(planes) {
                    out.extend(plane[at..at + frames].iter().map(|s| s.to_bits()));
                }
                self.outcomes.push(Outcome::Audio { rate, channels, frames, at: 0 });
            } else {
                self.outcomes.push(outcome.clone());
            }
            Ok(())
        }
    }

    /// Demuxes `name` and decodes it as `threads` says; the record and the seams refused.
    fn decode(name: &str, threads: Threads) -> (Record, usize) {
        let file = std::fs::File::open(fixture(name)).expect("fixture");
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        hint.with_extension(name.rsplit('.').next().unwrap_or(""));
        let mut format = symphonia::default::get_probe()
            .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
            .expect("probe");
        let track = format.default_track(TrackType::Audio).expect("track");
        let id = track.id;
        let params = track.codec_params.as_ref().and_then(|p| p.audio()).expect("audio").clone();
        let make =
            || crate::media::opus_decode::codecs().make_audio_decoder(&params, &AudioDecoderOptions::default()).ok();
        let mut record = Record::default();
        let refused = std::thread::scope(|scope| {
            let mut pipeline = Pipeline::new(scope, threads, make().expect("decoder"), make);
            while let Ok(Some(packet)) = format.next_packet() {
                let item = if packet.track_id == id { Item::Packet(packet) } else { Item::Foreign };
                pipeline.push(item, &mut record).expect("take");
            }
            pipeline.finish(&mut record).expect("take");
            pipeline.refused
        });
        (record, refused)
    }

    const MIXES: [&str; 6] = ["mix.mp3", "mix_low.mp3", "mix.ogg", "mix.m4a", "mix.flac", "mix.opus"];

    fn codec(name: &str) -> &'static str {
        match name.rsplit('.').next() {
            Some("mp3") => "mp3",
            Some("ogg") => "vorbis",
            Some("m4a") => "aac",
            Some("opus") => "opus",
            _ => "flac",
        }
    }

    #[test]
    fn batches_warmed_up_join_without_a_seam_refused_and_give_the_in_order_bits() {
        for name in MIXES {
            let (in_order, _) = decode(name, Threads::in_order());
            let packets = in_order.outcomes.len();
            assert!(packets > 30, "{name}: {packets} packets");
            assert!(in_order.outcomes.iter().all(|o| matches!(o, Outcome::Audio { .. })), "{name}");
            for (workers, batch_items) in [(2, 7), (3, 5), (2, 64), (4, 1)] {
                let threads = Threads { workers, batch_items, ..Threads::in_order() }.for_codec(codec(name));
                let (record, refused) = decode(name, threads);
                assert_eq!(refused, 0, "{name}: {workers} workers, batches of {batch_items}: a seam refused");
                assert!(record == in_order, "{name}: {workers} workers, batches of {batch_items}: other audio");
            }
        }
    }

    #[test]
    fn a_seam_without_enough_warm_up_is_refused_and_the_rest_decoded_in_order() {
        // Only the two packets compared at the seam: the first of them decodes from a reset state.
        let short = Threads { workers: 2, batch_items: 7, warmup_packets: 2, warmup_bytes: 0, ..Threads::in_order() };
        for name in MIXES {
            let (in_order, _) = decode(name, Threads::in_order());
            let (record, refused) = decode(name, short.for_codec(codec(name)));
            // MP3 and Vorbis carry state from packet to packet; FLAC frames stand alone; AAC and
            // Opus are never split.
            let refusable = name.ends_with(".mp3") || name.ends_with(".ogg");
            assert_eq!(refused > 0, refusable, "{name}: {refused} seams refused");
            assert!(record == in_order, "{name}: other audio after a refused seam");
        }
    }

    #[test]
    fn aac_and_opus_are_decoded_in_order_because_their_state_spans_the_stream() {
        let split = Threads { workers: 2, batch_items: 7, ..Threads::in_order() };
        // AAC's noise generator runs from the stream's start; Opus' energy prediction and
        // post-filter do not come back bit for bit after a reset (on a 208 s recording, not even
        // with 24 packets of warm-up).
        for name in ["mix.m4a", "mix.opus"] {
            let (in_order, _) = decode(name, Threads::in_order());
            // Split anyway, the warmed-up batches do not join.
            let (record, refused) = decode(name, split);
            assert!(refused > 0, "{name}");
            assert!(record == in_order, "{name}");
            let chained = split.for_codec(codec(name));
            assert_eq!(chained.workers, 1, "{name}");
            assert!(chained.chained && !Threads::in_order().for_codec(codec(name)).chained, "{name}");
            // In order on a thread of its own, batch after batch: the in-order bits.
            for batch_items in [1, 7, 256] {
                let (record, refused) = decode(name, Threads { batch_items, ..chained });
                assert_eq!(refused, 0, "{name}");
                assert!(record == in_order, "{name}: batches of {batch_items}");
            }
        }
        assert_eq!(split.for_codec("mp3").workers, 2);
    }
}
