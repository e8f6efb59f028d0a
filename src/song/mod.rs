//! TEMP placeholder until the sequencer lands.
pub mod pattern {
    pub fn parse_pattern(s: &str) -> Result<Vec<f32>, String> {
        Ok(s.chars().filter(|c| !c.is_whitespace() && *c != '|').map(|c| if c == '.' { 0.0 } else { 0.8 }).collect())
    }
}
pub struct SongParams { pub bpm: f64, pub bars: u32, pub steps_per_bar: u32, pub swing: f64, pub voices: Vec<SongVoice> }
pub struct SongVoice { pub name: String, pub steps: Vec<f32>, pub gain_db: f64, pub pan: f64 }
pub fn render_song(_p: &SongParams, _s: &[&[f32]], _sr: u32) -> [Vec<f32>; 2] { [vec![0.0; 10], vec![0.0; 10]] }
