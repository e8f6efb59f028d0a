//! Layer 2: the arrangement engine (seed 002's musician engine). A song made of instruments —
//! each a chain of modules (oscillator or sampler, then envelopes and low-passes) played by a
//! tracker-style note pattern and driven by automation lanes in beat time — rendered offline in
//! blocks to one stereo stem per instrument, mixed into a master with optional loudness
//! normalisation and a true-peak ceiling, and measured (BS.1770-4 / EBU R128).
//!
//! Pure functions of validated params, clips and the sample rate: no files, no printing.
//! Entry points: [`render::render_stem`] (one instrument → one stem), [`mix::mix`] (stems →
//! song), [`loudness::analyze`] (song → loudness summary and beat rows, for any song).

pub mod automation;
pub mod envelope;
pub mod instrument;
pub mod loudness;
pub mod lowpass;
pub mod mix;
pub mod notes;
pub mod oscillator;
pub mod render;
pub mod sampler;
pub mod schema;
pub mod tempo;
pub mod timing;

pub use instrument::{InstrumentParams, ModuleParams};
pub use loudness::{Loudness, LoudnessReport, analyze};
pub use mix::{MasterParams, Mixdown, mix};
pub use render::{Stem, render_stem, render_stem_into, smoothing_windows};
pub use timing::{Timing, TimingParams};

/// The recurrences (one-pole envelope, low-pass) unroll groups of this many samples, each
/// starting at a multiple of it in the song; the renderer's blocks are multiples of it, so no
/// block boundary falls inside a group.
pub(crate) const GROUP: usize = 4;

/// The value last computed from a key, computed again only when the key changes: the
/// renderer asks for the same coefficients and gains stretch after stretch.
#[derive(Debug, Clone)]
pub(crate) struct Memo<K, V>(Option<(K, V)>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(None)
    }
}

impl<K: PartialEq + Copy, V: Copy> Memo<K, V> {
    /// `f(key)`, from the last call when its key was equal (a NaN key is never equal).
    pub(crate) fn get(&mut self, key: K, f: impl FnOnce(K) -> V) -> V {
        match self.0 {
            Some((k, v)) if k == key => v,
            _ => {
                let v = f(key);
                self.0 = Some((key, v));
                v
            }
        }
    }
}

#[cfg(test)]
mod tests;
