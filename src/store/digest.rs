//! `Digest`: a blake3 hash, the name of every blob and action in the store.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 32-byte blake3 digest, shown and serialized as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Hash a byte slice.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// Hash a file's bytes, read in pieces (a long recording is never held whole); equal to
    /// `Digest::of` of its contents.
    ///
    /// A large file is hashed as blake3's tree: every piece of 1 MiB is read at
    /// its offset and hashed on a thread of the current rayon pool, and the pieces' chaining
    /// values are merged up the tree, so both the reading and the hashing are shared out.
    pub fn of_file(path: &std::path::Path) -> std::io::Result<Digest> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len > TREE_MIN
            && let Some(digest) = tree_digest(&file, len)?
        {
            return Ok(digest);
        }
        // In order from the start (the tree read by offset, leaving the cursor there).
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(&file)?;
        Ok(Digest(*hasher.finalize().as_bytes()))
    }

    /// Hash a serializable value through its canonical JSON form.
    pub fn of_json<T: Serialize>(value: &T) -> Digest {
        Digest::of(&canonical_json(value))
    }

    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        s
    }

    pub fn from_hex(s: &str) -> Option<Digest> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hi = (chunk[0] as char).to_digit(16)?;
            let lo = (chunk[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Digest(out))
    }

    /// The first 12 hex characters, for human output.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }
}

/// Files larger than this are hashed as a tree of pieces on several threads.
const TREE_MIN: u64 = 4 << 20;
/// Bytes per piece of the tree (a power of two, so each piece is a whole subtree).
const TREE_LEAF: u64 = 1 << 20;

/// The digest of the first `len` bytes of `file` computed piece by piece (see
/// [`Digest::of_file`]); `None` when the file no longer ends at `len` (it was extended while
/// being hashed: the caller hashes it again in order, to its end).
fn tree_digest(file: &std::fs::File, len: u64) -> std::io::Result<Option<Digest>> {
    use blake3::hazmat::{Mode, merge_subtrees_root};
    let left = blake3::hazmat::left_subtree_len(len);
    let (l, r) = rayon::join(|| subtree(file, 0, left), || subtree(file, left, len - left));
    let root = merge_subtrees_root(&l?, &r?, Mode::Hash);
    let mut past_end = [0u8; 1];
    if std::os::unix::fs::FileExt::read_at(file, &mut past_end, len)? != 0 {
        return Ok(None);
    }
    Ok(Some(Digest(*root.as_bytes())))
}

/// The chaining value of the complete subtree of `file` at `offset .. offset + len`.
fn subtree(file: &std::fs::File, offset: u64, len: u64) -> std::io::Result<blake3::hazmat::ChainingValue> {
    use blake3::hazmat::{HasherExt, Mode, merge_subtrees_non_root};
    if len > TREE_LEAF {
        let left = blake3::hazmat::left_subtree_len(len);
        let (l, r) = rayon::join(|| subtree(file, offset, left), || subtree(file, offset + left, len - left));
        return Ok(merge_subtrees_non_root(&l?, &r?, Mode::Hash));
    }
    thread_local! {
        static PIECE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    PIECE.with_borrow_mut(|piece| {
        piece.resize(len as usize, 0);
        // A file cut short while being hashed fails here ("failed to fill whole buffer").
        std::os::unix::fs::FileExt::read_exact_at(file, piece, offset)?;
        Ok(blake3::Hasher::new().set_input_offset(offset).update(piece).finalize_non_root())
    })
}

/// The canonical JSON bytes of a value: serde_json with struct fields in declaration
/// order and maps as `BTreeMap`s, so the same value always gives the same bytes.
pub fn canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain data (no maps with non-string keys) cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short())
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let d = Digest::of(b"ntsbuild");
        assert_eq!(Digest::from_hex(&d.hex()), Some(d));
        assert_eq!(d.hex(), blake3::hash(b"ntsbuild").to_hex().as_str());
        assert_eq!(Digest::from_hex("zz"), None);
    }

    #[test]
    fn a_file_hashed_in_pieces_has_the_digest_of_its_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.bin");
        // Read in order (empty, short, at the limit) and as a tree of pieces: a whole number
        // of pieces, a power of two of them, a partial last piece and a partial last chunk.
        let piece = TREE_LEAF as usize;
        let lens = [0, 300_001, 4 * piece, 4 * piece + 1, 5 * piece, 8 * piece, 9 * piece + 1024 * 3 + 17];
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            for len in lens {
                let bytes: Vec<u8> = (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
                std::fs::write(&path, &bytes).expect("write");
                let digest = pool.install(|| Digest::of_file(&path)).expect("hash");
                assert_eq!(digest, Digest::of(&bytes), "{len} bytes on {threads} threads");
            }
        }
        assert!(Digest::of_file(&dir.path().join("missing")).is_err());
    }
}
