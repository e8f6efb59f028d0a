//! Motion trails: an exponential moving average of frames blended back into the current frame.

use super::Frame;

/// Weight of the previous state in the update `state = 0.82·state + 0.18·frame`.
const STATE_DECAY: f64 = 0.82;
/// Weight of the current frame in the output `out = 0.7·frame + 0.3·state`.
const FRAME_MIX: f64 = 0.7;

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
    /// with `0.7·frame + 0.3·state` using the updated state.
    pub fn apply(&mut self, frame: &mut Frame) {
        let state = match &mut self.state {
            Some(s) if s.width == frame.width && s.height == frame.height && s.data.len() == frame.data.len() => s,
            _ => {
                self.state = Some(frame.clone());
                return;
            }
        };
        for (s, v) in state.data.iter_mut().zip(frame.data.iter_mut()) {
            let f = f64::from(*v);
            let new_state = STATE_DECAY * f64::from(*s) + (1.0 - STATE_DECAY) * f;
            *s = new_state as f32;
            *v = (FRAME_MIX * f + (1.0 - FRAME_MIX) * new_state) as f32;
        }
    }
}
