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
    pub fn of_file(path: &std::path::Path) -> std::io::Result<Digest> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(std::fs::File::open(path)?)?;
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
        // Longer than the reader's buffer, and not a multiple of it.
        let bytes: Vec<u8> = (0..300_001u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(Digest::of_file(&path).expect("hash"), Digest::of(&bytes));
        assert!(Digest::of_file(&dir.path().join("missing")).is_err());
    }
}
