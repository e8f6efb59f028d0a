//! The end padding of a Matroska/WebM audio track: the `DiscardPadding` of its block groups
//! (nanoseconds of decoded audio that are not part of the track, as Opus encoders write on the
//! last packet). symphonia's Matroska reader does not read it, so the decode drops it itself.
//!
//! Only element headers are read: the segment, its clusters and block groups are entered, every
//! other element is skipped by its size, so a long file costs a seek per block. A file that
//! cannot be walked (a damaged size, an element of unknown size that is not a container) gives
//! what was found before it.

use std::io::{Read, Seek, SeekFrom};

const SEGMENT: u32 = 0x1853_8067;
const CLUSTER: u32 = 0x1F43_B675;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;
/// A size whose value bits are all ones: unknown (a live stream's segment and clusters).
const UNKNOWN: u64 = u64::MAX;
/// Elements visited at most: far more than a day of 20 ms packets, a guard against loops.
const MAX_ELEMENTS: usize = 50_000_000;

/// A reader that knows its position, so skips are relative (a buffered reader keeps its buffer
/// across a short skip) and no position is asked of the file.
struct Walker<'r, R> {
    r: &'r mut R,
    pos: u64,
}

impl<R: Read + Seek> Walker<'_, R> {
    fn read_exact(&mut self, buf: &mut [u8]) -> Option<()> {
        self.r.read_exact(buf).ok()?;
        self.pos += buf.len() as u64;
        Some(())
    }

    /// Moves to `to`, at or after the current position.
    fn skip_to(&mut self, to: u64) -> Option<()> {
        let delta = i64::try_from(to.checked_sub(self.pos)?).ok()?;
        self.r.seek_relative(delta).ok()?;
        self.pos = to;
        Some(())
    }

    /// A variable-length integer (EBML): its value (without the length marker unless
    /// `keep_marker`; [`UNKNOWN`] when its value bits are all ones) and its length.
    fn vint(&mut self, keep_marker: bool) -> Option<(u64, usize)> {
        let mut first = [0u8; 1];
        self.read_exact(&mut first)?;
        let len = first[0].leading_zeros() as usize + 1;
        if len > 8 {
            return None;
        }
        let mask = (0xFFu16 >> len) as u8;
        let mut value = u64::from(if keep_marker { first[0] } else { first[0] & mask });
        let mut all_ones = first[0] & mask == mask;
        let mut rest = [0u8; 7];
        self.read_exact(&mut rest[..len - 1])?;
        for &b in &rest[..len - 1] {
            value = value << 8 | u64::from(b);
            all_ones &= b == 0xFF;
        }
        Some((if !keep_marker && all_ones { UNKNOWN } else { value }, len))
    }

    /// An element's id and data size ([`UNKNOWN`] when not given).
    fn header(&mut self) -> Option<(u32, u64)> {
        let (id, id_len) = self.vint(true)?;
        if id_len > 4 {
            return None;
        }
        let (size, _) = self.vint(false)?;
        Some((id as u32, size))
    }

    /// The padding of one block group (children up to `end`) when its block is of `track`.
    fn group_padding(&mut self, end: u64, track: u64) -> Option<u64> {
        let (mut block_track, mut padding) = (None, None);
        while self.pos < end {
            let (id, size) = self.header()?;
            let data = self.pos;
            let next = data.checked_add(size).filter(|&n| size != UNKNOWN && n <= end)?;
            match id {
                BLOCK => block_track = Some(self.vint(false)?.0),
                DISCARD_PADDING if (1..=8).contains(&size) => {
                    let mut bytes = [0u8; 8];
                    self.read_exact(&mut bytes[8 - size as usize..])?;
                    // A signed integer: sign-extended from its own width.
                    let shift = 64 - 8 * size as u32;
                    padding = Some((i64::from_be_bytes(bytes) << shift) >> shift);
                }
                _ => {}
            }
            self.skip_to(next)?;
        }
        match (block_track, padding) {
            (Some(t), Some(ns)) if t == track && ns > 0 => Some(ns as u64),
            _ => None,
        }
    }
}

/// Nanoseconds of `DiscardPadding` over the block groups of track `track` (0 when none), read
/// from the start of `r`.
pub fn discard_padding_ns<R: Read + Seek>(r: &mut R, track: u64) -> Option<u64> {
    r.seek(SeekFrom::Start(0)).ok()?;
    let mut w = Walker { r, pos: 0 };
    let mut total = 0u64;
    for _ in 0..MAX_ELEMENTS {
        let Some((id, size)) = w.header() else { break };
        let data = w.pos;
        match id {
            // Containers: their children follow.
            SEGMENT | CLUSTER => {}
            BLOCK_GROUP if size != UNKNOWN => {
                let Some(end) = data.checked_add(size) else { break };
                if let Some(ns) = w.group_padding(end, track) {
                    total = total.saturating_add(ns);
                }
                if w.pos > end || w.skip_to(end).is_none() {
                    break;
                }
            }
            _ if size == UNKNOWN => break,
            _ => {
                if data.checked_add(size).and_then(|next| w.skip_to(next)).is_none() {
                    break;
                }
            }
        }
    }
    Some(total)
}

/// Frames at `rate_hz` of `ns` nanoseconds, rounded.
pub fn frames_of_ns(ns: u64, rate_hz: u32) -> u64 {
    ((u128::from(ns) * u128::from(rate_hz) + 500_000_000) / 1_000_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// An element with a one-byte size.
    fn element(id: &[u8], data: &[u8]) -> Vec<u8> {
        assert!(data.len() < 127);
        [id, &[0x80 | data.len() as u8], data].concat()
    }

    #[test]
    fn the_padding_of_the_tracks_block_groups_is_summed_and_others_ignored() {
        let block = |track: u8| element(&[0xA1], &[0x80 | track, 0, 0, 0x80, 1, 2, 3]);
        let padding = |ns: &[u8]| element(&[0x75, 0xA2], ns);
        let group = |track: u8, ns: &[u8]| element(&[0xA0], &[block(track), padding(ns)].concat());
        let simple = element(&[0xA3], &[0x81, 0, 0, 0x80, 9, 9]);
        let cluster_body = [
            element(&[0xE7], &[0]),
            simple.clone(),
            group(2, &[0x01, 0x00]),
            group(1, &[0x33, 0x2A, 0x10]),
            group(1, &[0xFF]),
        ]
        .concat();
        // A live stream's segment and cluster: unknown sizes.
        let unknown = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let file = [
            element(&[0x1A, 0x45, 0xDF, 0xA3], &[0x42, 0x86, 0x81, 0x01]),
            vec![0x18, 0x53, 0x80, 0x67],
            unknown.to_vec(),
            vec![0x1F, 0x43, 0xB6, 0x75],
            unknown.to_vec(),
            cluster_body,
        ]
        .concat();
        // 0x332A10 = 3,353,104 ns on track 1 (the −1 ns one does not count); track 2's 256 ns not.
        assert_eq!(discard_padding_ns(&mut Cursor::new(&file), 1), Some(3_353_104));
        assert_eq!(discard_padding_ns(&mut Cursor::new(&file), 2), Some(256));
        assert_eq!(frames_of_ns(3_353_104, 48_000), 161);
        // Cut anywhere: what was found before the cut, never a panic.
        for cut in 0..file.len() {
            let found = discard_padding_ns(&mut Cursor::new(&file[..cut]), 1);
            assert!(found.is_none_or(|ns| ns == 0 || ns == 3_353_104), "cut at {cut}: {found:?}");
        }
    }
}
