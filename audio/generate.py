"""Writes the demo's tonal source `audio/organ.wav`: 10 s of a slow, detuned organ-like chord
(A minor, then C major) with a soft bell-like attack in the middle third, mono 16-bit 44.1 kHz.

Like a pipe organ it has upper partials (a mixture: harmonics 6-16) and a little wind noise,
so every band the texture miner filters holds sound (the airy variant keeps what is above
6 kHz). The chords cross-fade over 250 ms and the bell rises over 5 ms, so no sample jumps:
a click is broadband and would be all an empty band keeps.

Pure standard library and deterministic: `python3 audio/generate.py` reproduces the file byte
for byte. The texture recipe (`recipes/textures.toml`) mines pads, drones and clouds from it.
"""

import math
import struct
import wave
from pathlib import Path

RATE = 44_100
SECONDS = 10.0
CHORDS = [(0.0, [220.0, 261.63, 329.63]), (5.0, [261.63, 329.63, 392.0])]
CHORD_FADE_S = 0.25
# (harmonic, amplitude): foundation stops, then a quiet mixture reaching past 6 kHz.
PARTIALS = ((1, 1.0), (2, 0.45), (3, 0.22), (4, 0.1), (6, 0.05), (8, 0.04), (12, 0.03), (16, 0.025))
WIND = 0.004


class Wind:
    """Deterministic pipe-wind noise: a 31-bit LCG's uniform samples, differenced (bright)."""

    def __init__(self) -> None:
        self.state, self.last = 12345, 0.0

    def next(self) -> float:
        self.state = (1103515245 * self.state + 12345) % (1 << 31)
        u = self.state / (1 << 30) - 1.0
        out, self.last = u - self.last, u
        return out


def chord(notes: list, t: float) -> float:
    x = 0.0
    for i, f in enumerate(notes):
        detune = 1.0 + 0.0015 * math.sin(2 * math.pi * 0.23 * t + i)
        for h, amp in PARTIALS:
            if f * h < 20_000.0:
                x += amp * math.sin(2 * math.pi * f * h * detune * t + i * 0.7 + h)
    return x


def sample(t: float, wind: float) -> float:
    # The chords cross-fade linearly around the change.
    change = CHORDS[1][0]
    b = min(1.0, max(0.0, (t - change + CHORD_FADE_S / 2) / CHORD_FADE_S))
    x = (1.0 - b) * chord(CHORDS[0][1], t) if b < 1.0 else 0.0
    if b > 0.0:
        x += b * chord(CHORDS[1][1], t)
    # Slow swell and fades so chords blend.
    env = 0.6 + 0.4 * math.sin(2 * math.pi * 0.11 * t) ** 2
    fade = min(1.0, t / 0.3, (SECONDS - t) / 0.3)
    # A bell strike at 4.2 s gives the pad miner an onset to reject.
    bell = 0.0
    if 4.2 <= t < 5.2:
        d = t - 4.2
        bell = 0.8 * min(1.0, d / 0.005) * math.exp(-d * 6.0) * math.sin(2 * math.pi * 1318.5 * d)
    return 0.06 * env * fade * x + WIND * env * fade * wind + 0.25 * bell


def main() -> None:
    out = Path(__file__).with_name("organ.wav")
    n = int(RATE * SECONDS)
    frames = bytearray()
    wind = Wind()
    for k in range(n):
        v = max(-1.0, min(1.0, sample(k / RATE, wind.next())))
        frames += struct.pack("<h", int(round(v * 32767)))
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    print(f"wrote {out} ({n} samples)")


if __name__ == "__main__":
    main()
