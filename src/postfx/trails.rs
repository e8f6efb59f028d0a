//! Motion trails: an exponential moving average of frames blended back into the current frame.

use super::Frame;

/// Weight of the previous state in the update `state = 0.82·state + 0.18·frame`.
pub(super) const STATE_DECAY: f32 = 0.82;
/// Weight of the current frame in the output `out = 0.7·frame + 0.3·state`.
pub(super) const FRAME_MIX: f32 = 0.7;

/// Trail accumulator carried across consecutive frames of one render.
///
/// Choice: the state starts empty and is initialised to the first frame it sees (so the first
/// output equals its input); it also re-initialises whenever the frame size changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrailState {
    state: Option<Frame>,
}

impl TrailState {
    /// An empty (uninitialised) trail.
    pub fn new() -> Self {
        Self::default()
    }

    /// A trail carrying `state` in (the state left by the previous frame, e.g. at the end of the
    /// previous segment).
    pub fn from_state(state: Frame) -> Self {
        Self { state: Some(state) }
    }

    /// The current accumulated state, if any frame has been seen.
    pub fn state(&self) -> Option<&Frame> {
        self.state.as_ref()
    }

    /// Update the state with `frame` (`state = 0.82·state + 0.18·frame`), then replace `frame`
    /// with `0.7·frame + 0.3·state` using the updated state (f32 maths).
    pub fn apply(&mut self, frame: &mut Frame) {
        let state = match &mut self.state {
            Some(s) if s.width == frame.width && s.height == frame.height && s.data.len() == frame.data.len() => s,
            _ => {
                self.state = Some(frame.clone());
                return;
            }
        };
        for (s, v) in state.data.iter_mut().zip(frame.data.iter_mut()) {
            *s = STATE_DECAY * *s + (1.0 - STATE_DECAY) * *v;
            *v = FRAME_MIX * *v + (1.0 - FRAME_MIX) * *s;
        }
    }

    /// True when the state holds a `width × height` frame.
    pub(super) fn matches(&self, width: usize, height: usize) -> bool {
        self.state.as_ref().is_some_and(|s| s.width == width && s.height == height && s.is_valid())
    }

    /// The state's samples (empty when there is no state).
    pub(super) fn data_mut(&mut self) -> &mut [f32] {
        self.state.as_mut().map_or(&mut [], |s| s.data.as_mut_slice())
    }

    /// Replace the state with a `width × height` frame of `data`.
    pub(super) fn reset_from(&mut self, width: usize, height: usize, data: Vec<f32>) {
        self.state = Some(Frame { width, height, data });
    }
}
