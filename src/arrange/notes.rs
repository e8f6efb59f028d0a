//! Tracker-style note patterns on the step grid: `"C4:100:2 . . E4 | G4:80 = = ."`.
//!
//! Tokens are separated by spaces; `|` is for reading only. Each token is one step:
//!
//! - `.` or `-` — nothing starts here (a playing note keeps sounding until its length ends);
//! - `NOTE[:VELOCITY[:LENGTH]]` — a note starts here. `NOTE` is a name (`C4`, `F#3`, `Bb2`,
//!   octaves −1…9, `C4` = MIDI 60) or a MIDI number 0–127; `VELOCITY` 1–127 (default 100);
//!   `LENGTH` in steps, a positive number such as `2` or `0.5` (default 1);
//! - `=` — hold: the previous note lasts at least through this step.
//!
//! Drum-pattern strings (`x... X... 5...`, see `song::pattern`) become notes at one pitch with
//! velocity `round(v · 127)`, one step long ([`from_drum_steps`]).

use std::fmt;

use serde::Serialize;

/// Velocity of a note written without one (the seed's default).
pub const DEFAULT_VELOCITY: u8 = 100;
/// Longest note, in steps.
pub const MAX_LENGTH_STEPS: f64 = 4096.0;

/// One note of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Note {
    /// Step index of the onset, from 0 at the pattern start.
    pub step: u32,
    /// MIDI note number (60 = C4 = 261.63 Hz).
    pub pitch: u8,
    /// MIDI velocity 1–127.
    pub velocity: u8,
    /// Length in steps (> 0).
    pub length_steps: f64,
}

/// A parsed pattern: its notes in step order and its length in steps (the number of tokens).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotePattern {
    pub notes: Vec<Note>,
    pub steps: u32,
}

/// Why a pattern was rejected. `step` counts tokens from 0; `token` is the text written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotesError {
    UnknownNote { step: u32, token: String },
    BadVelocity { step: u32, token: String },
    BadLength { step: u32, token: String },
    TooManyFields { step: u32, token: String },
    HoldWithoutNote { step: u32 },
    Empty,
}

impl fmt::Display for NotesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SYNTAX: &str = "steps are `.` (rest), `=` (hold) or NOTE[:VELOCITY[:LENGTH]] such as `C4`, `F#3:90`, \
                              `Bb2:110:2` or `60:100:0.5`";
        match self {
            NotesError::UnknownNote { step, token } => write!(
                f,
                "step {step}: `{token}` is not a note: write a name A–G with an optional # or b and an octave \
                 −1…9 (C4 = MIDI 60), or a MIDI number 0–127; {SYNTAX}"
            ),
            NotesError::BadVelocity { step, token } => {
                write!(f, "step {step}: velocity in `{token}` must be an integer 1–127")
            }
            NotesError::BadLength { step, token } => write!(
                f,
                "step {step}: length in `{token}` must be a number of steps greater than 0 and at most {MAX_LENGTH_STEPS}"
            ),
            NotesError::TooManyFields { step, token } => {
                write!(f, "step {step}: `{token}` has too many `:` fields; {SYNTAX}")
            }
            NotesError::HoldWithoutNote { step } => {
                write!(f, "step {step}: `=` holds the previous note, but no note comes before it")
            }
            NotesError::Empty => write!(f, "the pattern has no steps; {SYNTAX}"),
        }
    }
}

impl std::error::Error for NotesError {}

/// MIDI number of a note name (`C4` = 60, `A4` = 69, `C-1` = 0, `G9` = 127), or `None`.
///
/// ```
/// use ntsbuild::arrange::notes::parse_note_name;
/// assert_eq!(parse_note_name("A4"), Some(69));
/// assert_eq!(parse_note_name("F#3"), Some(54));
/// assert_eq!(parse_note_name("bb2"), Some(46));
/// assert_eq!(parse_note_name("C-1"), Some(0));
/// assert_eq!(parse_note_name("H2"), None);
/// assert_eq!(parse_note_name("G#9"), None); // 128
/// assert_eq!(parse_note_name("C21042100"), None);
/// ```
pub fn parse_note_name(text: &str) -> Option<u8> {
    let mut chars = text.chars();
    let pitch_class: i32 = match chars.next()?.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let rest = chars.as_str();
    let (accidental, octave) = match rest.chars().next() {
        Some('#') => (1, &rest[1..]),
        Some('b') => (-1, &rest[1..]),
        _ => (0, rest),
    };
    if octave.is_empty() || octave.starts_with('+') {
        return None;
    }
    // MIDI spans octaves −1 to 9; any other number (however long) is no note.
    let octave: i32 = octave.parse().ok().filter(|o| (-1..=9).contains(o))?;
    let midi = 12 * (octave + 1) + pitch_class + accidental;
    u8::try_from(midi).ok().filter(|m| *m <= 127)
}

/// A MIDI number as a name with sharps (`61` → `C#4`).
pub fn note_name(midi: u8) -> String {
    const NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    format!("{}{}", NAMES[usize::from(midi % 12)], i32::from(midi / 12) - 1)
}

/// Frequency of a (fractional) MIDI note in equal temperament: `440 · 2^((m − 69)/12)`.
pub fn midi_to_hz(midi: f64) -> f64 {
    440.0 * ((midi - 69.0) / 12.0).exp2()
}

fn parse_pitch(text: &str) -> Option<u8> {
    if text.chars().all(|c| c.is_ascii_digit()) && !text.is_empty() {
        text.parse::<u8>().ok().filter(|m| *m <= 127)
    } else {
        parse_note_name(text)
    }
}

/// Parse a note pattern (see the module docs).
///
/// ```
/// use ntsbuild::arrange::notes::parse_notes;
/// let p = parse_notes("C4:100:2 . | E4 = G4:64:0.5").unwrap();
/// assert_eq!(p.steps, 5);
/// assert_eq!(p.notes.len(), 3);
/// assert_eq!((p.notes[0].pitch, p.notes[0].velocity, p.notes[0].length_steps), (60, 100, 2.0));
/// assert_eq!((p.notes[1].step, p.notes[1].length_steps), (2, 2.0));
/// assert_eq!((p.notes[2].step, p.notes[2].velocity, p.notes[2].length_steps), (4, 64, 0.5));
/// ```
pub fn parse_notes(text: &str) -> Result<NotePattern, NotesError> {
    let mut notes: Vec<Note> = Vec::new();
    let mut step: u32 = 0;
    for token in text.split_whitespace().flat_map(|t| t.split('|')).filter(|t| !t.is_empty()) {
        match token {
            "." | "-" => {}
            "=" => {
                let Some(last) = notes.last_mut() else { return Err(NotesError::HoldWithoutNote { step }) };
                last.length_steps = last.length_steps.max(f64::from(step - last.step + 1));
            }
            _ => {
                let mut fields = token.split(':');
                let name = fields.next().unwrap_or_default();
                let pitch = parse_pitch(name).ok_or_else(|| NotesError::UnknownNote { step, token: token.into() })?;
                let velocity = match fields.next() {
                    None => DEFAULT_VELOCITY,
                    Some(v) => v
                        .parse::<u8>()
                        .ok()
                        .filter(|v| (1..=127).contains(v))
                        .ok_or_else(|| NotesError::BadVelocity { step, token: token.into() })?,
                };
                let length_steps = match fields.next() {
                    None => 1.0,
                    Some(l) => l
                        .parse::<f64>()
                        .ok()
                        .filter(|l| l.is_finite() && *l > 0.0 && *l <= MAX_LENGTH_STEPS)
                        .ok_or_else(|| NotesError::BadLength { step, token: token.into() })?,
                };
                if fields.next().is_some() {
                    return Err(NotesError::TooManyFields { step, token: token.into() });
                }
                notes.push(Note { step, pitch, velocity, length_steps });
            }
        }
        step += 1;
    }
    if step == 0 {
        return Err(NotesError::Empty);
    }
    Ok(NotePattern { notes, steps: step })
}

/// A drum-pattern velocity list (`song::pattern::parse_pattern`) as one-step notes at `pitch`,
/// velocity `round(v · 127)` clamped to 1–127; rests (0) play nothing.
pub fn from_drum_steps(steps: &[f32], pitch: u8) -> NotePattern {
    let notes = steps
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && **v > 0.0)
        .map(|(i, v)| Note {
            step: i as u32,
            pitch,
            velocity: (f64::from(*v) * 127.0).round().clamp(1.0, 127.0) as u8,
            length_steps: 1.0,
        })
        .collect();
    NotePattern { notes, steps: steps.len() as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_cover_the_midi_range() {
        for m in 0..=127u8 {
            assert_eq!(parse_note_name(&note_name(m)), Some(m), "{}", note_name(m));
        }
        assert_eq!(parse_note_name("Cb4"), Some(59));
        assert_eq!(parse_note_name("B#3"), Some(60));
        assert_eq!(parse_note_name("c4"), Some(60));
        for bad in ["", "C", "X4", "C#", "C+4", "C4.5", "Cb-1", "C10"] {
            assert_eq!(parse_note_name(bad), None, "{bad}");
        }
        assert!((midi_to_hz(69.0) - 440.0).abs() < 1e-12);
        assert!((midi_to_hz(60.0) - 261.625_565_300_6).abs() < 1e-9);
    }

    #[test]
    fn patterns_parse_holds_midi_numbers_and_bars() {
        let p = parse_notes("60 . = | 72:127 = = =|. 0:1:16").unwrap();
        assert_eq!(p.steps, 9);
        assert_eq!(p.notes[0], Note { step: 0, pitch: 60, velocity: 100, length_steps: 3.0 });
        assert_eq!(p.notes[1], Note { step: 3, pitch: 72, velocity: 127, length_steps: 4.0 });
        assert_eq!(p.notes[2], Note { step: 8, pitch: 0, velocity: 1, length_steps: 16.0 });
        // A hold inside a long note does not shorten it.
        let p = parse_notes("C4:100:4 =").unwrap();
        assert_eq!(p.notes[0].length_steps, 4.0);
    }

    #[test]
    fn errors_name_the_step_and_token() {
        let cases = [
            ("C4 . Q4", NotesError::UnknownNote { step: 2, token: "Q4".into() }),
            ("C4:0", NotesError::BadVelocity { step: 0, token: "C4:0".into() }),
            ("C4:128", NotesError::BadVelocity { step: 0, token: "C4:128".into() }),
            (". C4:90:0", NotesError::BadLength { step: 1, token: "C4:90:0".into() }),
            ("C4:90:nan", NotesError::BadLength { step: 0, token: "C4:90:nan".into() }),
            ("C4:1:1:1", NotesError::TooManyFields { step: 0, token: "C4:1:1:1".into() }),
            (". = C4", NotesError::HoldWithoutNote { step: 1 }),
            ("128", NotesError::UnknownNote { step: 0, token: "128".into() }),
            (" | ", NotesError::Empty),
        ];
        for (text, want) in cases {
            assert_eq!(parse_notes(text), Err(want.clone()), "{text}");
            assert!(!want.to_string().is_empty());
        }
        assert!(NotesError::UnknownNote { step: 0, token: "Q".into() }.to_string().contains("C4 = MIDI 60"));
    }

    #[test]
    fn drum_steps_become_notes() {
        let p = from_drum_steps(&[1.0, 0.0, 0.8, 1.0 / 9.0], 36);
        assert_eq!(p.steps, 4);
        let v: Vec<(u32, u8)> = p.notes.iter().map(|n| (n.step, n.velocity)).collect();
        assert_eq!(v, vec![(0, 127), (2, 102), (3, 14)]);
    }
}
