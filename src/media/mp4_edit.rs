//! The edit list of an MP4/M4A audio track: how many decoded frames are encoder priming to drop
//! and how many frames the track really holds.
//!
//! AAC encoders prepend priming frames (1024 in ffmpeg's encoder, 2112 in Apple's) and pad the
//! last packet; the container's `moov/trak/edts/elst` says which part to present. symphonia's
//! MP4 reader does not apply it, so [`crate::media::decode`] reads it here and trims, which
//! gives the same samples as ffmpeg (and so librosa through audioread) and lines AAC up with
//! the original. Only box headers and the few small boxes needed are read.

use std::io::{Read, Seek, SeekFrom};

/// Frames to drop from the start of the decoded track and frames to keep after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditTrim {
    /// Leading decoded frames that are not presented (encoder priming).
    pub skip_frames: u64,
    /// Frames presented after the skipped ones; `None`: to the end.
    pub keep_frames: Option<u64>,
}

/// Most boxes visited before giving up (a guard against hostile files).
const MAX_BOXES: usize = 4_096;
/// Largest box read whole into memory (`mvhd`, `mdhd`, `hdlr`, `elst`).
const MAX_SMALL_BOX: u64 = 1 << 20;

/// Whether `prefix` (the first 12 bytes) looks like an ISO base media file (`ftyp` first).
pub fn looks_like_mp4(prefix: &[u8]) -> bool {
    prefix.len() >= 8 && &prefix[4..8] == b"ftyp"
}

/// The first audio track's trim at `sample_rate_hz`, or `None` when the file has no usable
/// edit list (then nothing is trimmed). Reading errors also give `None`: the decoder reports
/// damaged files itself.
pub fn audio_trim<R: Read + Seek>(reader: &mut R, sample_rate_hz: u32) -> Option<EditTrim> {
    let end = reader.seek(SeekFrom::End(0)).ok()?;
    let mut budget = MAX_BOXES;
    let moov = find_child(reader, 0, end, b"moov", &mut budget)?;
    let mvhd = find_child(reader, moov.0, moov.1, b"mvhd", &mut budget)?;
    let movie_timescale = timescale(&read_box(reader, mvhd)?)?;
    let mut pos = moov.0;
    while let Some((start, stop, kind)) = next_box(reader, pos, moov.1) {
        budget = budget.checked_sub(1)?;
        pos = stop;
        if &kind != b"trak" {
            continue;
        }
        let Some(mdia) = find_child(reader, start, stop, b"mdia", &mut budget) else { continue };
        let Some(hdlr) = find_child(reader, mdia.0, mdia.1, b"hdlr", &mut budget).and_then(|b| read_box(reader, b))
        else {
            continue;
        };
        if hdlr.get(8..12) != Some(b"soun") {
            continue;
        }
        let media_timescale = find_child(reader, mdia.0, mdia.1, b"mdhd", &mut budget)
            .and_then(|b| read_box(reader, b))
            .and_then(|b| timescale(&b))?;
        let edts = find_child(reader, start, stop, b"edts", &mut budget)?;
        let elst = find_child(reader, edts.0, edts.1, b"elst", &mut budget)?;
        let elst = read_box(reader, elst)?;
        return trim_from_elst(&elst, movie_timescale, media_timescale, sample_rate_hz);
    }
    None
}

/// The first non-empty edit: `media_time` (media timescale) frames skipped, `segment_duration`
/// (movie timescale) frames kept.
fn trim_from_elst(body: &[u8], movie_timescale: u32, media_timescale: u32, rate_hz: u32) -> Option<EditTrim> {
    let version = *body.first()?;
    let count = be_u32(body.get(4..8)?) as usize;
    let entry_len = if version == 1 { 20 } else { 12 };
    for i in 0..count.min(16) {
        let e = body.get(8 + i * entry_len..8 + (i + 1) * entry_len)?;
        let (duration, media_time) = if version == 1 {
            (be_u64(&e[0..8]), be_u64(&e[8..16]) as i64)
        } else {
            (u64::from(be_u32(&e[0..4])), i64::from(be_u32(&e[4..8]) as i32))
        };
        if media_time < 0 {
            // An empty edit (a delay before the track starts): nothing to trim for it.
            continue;
        }
        let scale = |v: u64, timescale: u32| -> Option<u64> {
            (timescale > 0).then(|| (u128::from(v) * u128::from(rate_hz) / u128::from(timescale)) as u64)
        };
        let skip_frames = scale(media_time as u64, media_timescale)?;
        let keep_frames = if duration == 0 { None } else { scale(duration, movie_timescale) };
        return Some(EditTrim { skip_frames, keep_frames });
    }
    None
}

/// `timescale` of an `mvhd` or `mdhd` body (version 0 or 1).
fn timescale(body: &[u8]) -> Option<u32> {
    let offset = if *body.first()? == 1 { 20 } else { 12 };
    body.get(offset..offset + 4).map(be_u32).filter(|&t| t > 0)
}

/// The next box in `pos..end`: (payload start, box end, type).
fn next_box<R: Read + Seek>(reader: &mut R, pos: u64, end: u64) -> Option<(u64, u64, [u8; 4])> {
    if pos.checked_add(8)? > end {
        return None;
    }
    reader.seek(SeekFrom::Start(pos)).ok()?;
    let mut head = [0u8; 8];
    reader.read_exact(&mut head).ok()?;
    let size32 = be_u32(&head[0..4]);
    let kind = [head[4], head[5], head[6], head[7]];
    let (payload, size) = match size32 {
        0 => (pos + 8, end - pos),
        1 => {
            let mut large = [0u8; 8];
            reader.read_exact(&mut large).ok()?;
            (pos + 16, be_u64(&large))
        }
        n => (pos + 8, u64::from(n)),
    };
    let stop = pos.checked_add(size)?;
    (size >= payload - pos && stop <= end).then_some((payload, stop, kind))
}

/// The payload range of the first child of type `kind` in `start..end`.
fn find_child<R: Read + Seek>(
    reader: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
    budget: &mut usize,
) -> Option<(u64, u64)> {
    let mut pos = start;
    while let Some((payload, stop, k)) = next_box(reader, pos, end) {
        *budget = budget.checked_sub(1)?;
        if &k == kind {
            return Some((payload, stop));
        }
        pos = stop;
    }
    None
}

fn read_box<R: Read + Seek>(reader: &mut R, (start, stop): (u64, u64)) -> Option<Vec<u8>> {
    let len = stop.checked_sub(start)?;
    if len > MAX_SMALL_BOX {
        return None;
    }
    reader.seek(SeekFrom::Start(start)).ok()?;
    let mut body = vec![0u8; len as usize];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    fn header_with_timescale(timescale: u32) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        b.extend_from_slice(&timescale.to_be_bytes());
        b.extend_from_slice(&[0u8; 8]);
        b
    }

    fn movie(elst_entries: &[(u32, i32)]) -> Vec<u8> {
        let mut elst = vec![0u8, 0, 0, 0];
        elst.extend_from_slice(&(elst_entries.len() as u32).to_be_bytes());
        for &(duration, media_time) in elst_entries {
            elst.extend_from_slice(&duration.to_be_bytes());
            elst.extend_from_slice(&media_time.to_be_bytes());
            elst.extend_from_slice(&[0, 1, 0, 0]);
        }
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(b"soun");
        hdlr.extend_from_slice(&[0u8; 12]);
        let mdia = [boxed(b"mdhd", &header_with_timescale(44_100)), boxed(b"hdlr", &hdlr)].concat();
        let trak = [boxed(b"tkhd", &[0u8; 84]), boxed(b"edts", &boxed(b"elst", &elst)), boxed(b"mdia", &mdia)].concat();
        let moov = [boxed(b"mvhd", &header_with_timescale(1_000)), boxed(b"trak", &trak)].concat();
        [boxed(b"ftyp", b"M4A \0\0\0\0"), boxed(b"mdat", &[0u8; 32]), boxed(b"moov", &moov)].concat()
    }

    #[test]
    fn reads_the_priming_and_the_presented_length() {
        // 150 ms in a 1 kHz movie timescale; 1024 frames of priming in the 44.1 kHz media.
        let file = movie(&[(150, 1024)]);
        assert!(looks_like_mp4(&file));
        let trim = audio_trim(&mut Cursor::new(&file), 44_100);
        assert_eq!(trim, Some(EditTrim { skip_frames: 1024, keep_frames: Some(6_615) }));
        // An empty edit first (media_time −1) is skipped over.
        let trim = audio_trim(&mut Cursor::new(movie(&[(20, -1), (0, 2112)])), 44_100);
        assert_eq!(trim, Some(EditTrim { skip_frames: 2112, keep_frames: None }));
    }

    #[test]
    fn damaged_or_missing_boxes_give_none() {
        let file = movie(&[(150, 1024)]);
        for cut in (0..file.len()).step_by(7) {
            let _ = audio_trim(&mut Cursor::new(&file[..cut]), 44_100);
        }
        assert_eq!(audio_trim(&mut Cursor::new(&file[..file.len() - 30]), 44_100), None);
        assert_eq!(audio_trim(&mut Cursor::new(b"not an mp4 at all".to_vec()), 44_100), None);
        let mut bad = file.clone();
        bad[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(audio_trim(&mut Cursor::new(bad), 44_100), None);
    }
}
