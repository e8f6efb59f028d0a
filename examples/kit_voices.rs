//! Render the kit's three voices at their defaults as 24-bit WAVs, for listening and for
//! measuring them beside the seed engine's renders:
//! `cargo run --example kit_voices -- OUT_DIR [SEED] [SAMPLE_RATE_HZ]` (defaults 42, 48000).

#![allow(clippy::print_stdout)]

use ntsbuild::kit::{Instrument, VoiceParams, render_voice};
use ntsbuild::media::wav;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().ok_or("usage: kit_voices OUT_DIR [SEED] [SAMPLE_RATE_HZ]")?);
    let seed: u64 = args.next().map_or(Ok(42), |s| s.parse())?;
    let sample_rate_hz: u32 = args.next().map_or(Ok(48_000), |s| s.parse())?;
    std::fs::create_dir_all(&out)?;
    for inst in Instrument::ALL {
        let t = std::time::Instant::now();
        let samples = render_voice(inst, &VoiceParams::defaults(inst), seed, sample_rate_hz);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let path = out.join(format!("{}.wav", inst.name()));
        std::fs::write(&path, wav::encode_pcm(&[&samples], sample_rate_hz, 24)?)?;
        println!(
            "{} ({:.3} s, rendered in {ms:.1} ms)",
            path.display(),
            samples.len() as f64 / f64::from(sample_rate_hz)
        );
    }
    Ok(())
}
