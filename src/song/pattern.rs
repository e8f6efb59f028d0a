//! Step-pattern strings: `x... x... | x.X. 9..5`.

use std::fmt;

/// Velocity of `x`.
pub const HIT_VELOCITY: f32 = 0.8;
/// Velocity of `X`.
pub const ACCENT_VELOCITY: f32 = 1.0;

/// Why a pattern string was rejected. Positions count from 1, as a musician counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    /// A character that is not a step or a separator: it would be step `step` of the pattern
    /// (separators not counted) and is character `column` of the string (separators counted,
    /// characters not bytes), so a caller can point a caret at it.
    InvalidChar { ch: char, step: usize, column: usize },
    /// The string holds no steps (only separators, or nothing).
    Empty,
}

impl PatternError {
    /// The message; with `steps_per_bar`, an invalid step is also placed in its bar
    /// (`step 19 (bar 2, step 3; character 23)`).
    pub fn describe(&self, steps_per_bar: Option<usize>) -> String {
        match *self {
            PatternError::InvalidChar { ch, step, column } => {
                let bar = match steps_per_bar {
                    Some(n) if n > 0 => format!("bar {}, step {}; ", (step - 1) / n + 1, (step - 1) % n + 1),
                    _ => String::new(),
                };
                format!(
                    "invalid step {ch:?} at step {step} ({bar}character {column}); use `.`/`-` (rest), \
                     `x` (0.8), `X` (1.0), `0`–`9` (n/9), spaces and `|` as separators"
                )
            }
            PatternError::Empty => "pattern has no steps".to_string(),
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(None))
    }
}

impl std::error::Error for PatternError {}

/// Parse a step pattern into one velocity per step (0 = rest).
///
/// `.` or `-` rest, `x` 0.8, `X` 1.0, a digit `n` is `n/9` (so `9` = 1.0 and `0` = rest);
/// spaces and `|` are ignored.
///
/// ```
/// use ntsbuild::song::pattern::parse_pattern;
/// assert_eq!(parse_pattern("x.X- | 9").unwrap(), vec![0.8, 0.0, 1.0, 0.0, 1.0]);
/// assert!(parse_pattern("x?").is_err());
/// ```
pub fn parse_pattern(text: &str) -> Result<Vec<f32>, PatternError> {
    let mut steps = Vec::new();
    for (index, ch) in text.chars().enumerate() {
        let velocity = match ch {
            ' ' | '|' => continue,
            '.' | '-' => 0.0,
            'x' => HIT_VELOCITY,
            'X' => ACCENT_VELOCITY,
            '0'..='9' => (ch as u32 - '0' as u32) as f32 / 9.0,
            _ => return Err(PatternError::InvalidChar { ch, step: steps.len() + 1, column: index + 1 }),
        };
        steps.push(velocity);
    }
    if steps.is_empty() { Err(PatternError::Empty) } else { Ok(steps) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_symbols() {
        let v = parse_pattern("x... X--- | 1 5 9 0").expect("valid");
        assert_eq!(v.len(), 12);
        assert_eq!(v[0], 0.8);
        assert_eq!(v[4], 1.0);
        assert_eq!(v[8], 1.0 / 9.0);
        assert_eq!(v[9], 5.0 / 9.0);
        assert_eq!(v[10], 1.0);
        assert_eq!(v[11], 0.0);
        assert!(v[1..4].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn reports_char_and_index() {
        assert_eq!(parse_pattern("x.|é"), Err(PatternError::InvalidChar { ch: 'é', step: 3, column: 4 }));
        assert_eq!(parse_pattern("x\tx"), Err(PatternError::InvalidChar { ch: '\t', step: 2, column: 2 }));
        assert_eq!(parse_pattern("?"), Err(PatternError::InvalidChar { ch: '?', step: 1, column: 1 }));
        let e = parse_pattern("x... x..y").expect_err("bad step").to_string();
        assert!(e.starts_with("invalid step 'y' at step 8 (character 9);"), "{e}");
        let long = parse_pattern("x... x... x... x... | x.?.").expect_err("bad step");
        assert!(long.describe(Some(16)).starts_with("invalid step '?' at step 19 (bar 2, step 3; character 25);"));
        assert_eq!(parse_pattern(""), Err(PatternError::Empty));
        assert_eq!(parse_pattern(" | |"), Err(PatternError::Empty));
    }
}
