"""Writes the demo's tonal source `audio/organ.wav`: 10 s of a slow, detuned organ-like chord
(A minor, then C major) with a soft bell-like attack in the middle third, mono 16-bit 44.1 kHz.

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


def sample(t: float) -> float:
    notes = CHORDS[0][1] if t < CHORDS[1][0] else CHORDS[1][1]
    x = 0.0
    for i, f in enumerate(notes):
        for h, amp in ((1, 1.0), (2, 0.45), (3, 0.22), (4, 0.1)):
            detune = 1.0 + 0.0015 * math.sin(2 * math.pi * 0.23 * t + i)
            x += amp * math.sin(2 * math.pi * f * h * detune * t + i * 0.7 + h)
    # Slow swell and fades so chords blend.
    env = 0.6 + 0.4 * math.sin(2 * math.pi * 0.11 * t) ** 2
    fade = min(1.0, t / 0.3, (SECONDS - t) / 0.3)
    # A bell strike at 4.2 s gives the pad miner an onset to reject.
    bell = 0.0
    if 4.2 <= t < 5.2:
        d = t - 4.2
        bell = 0.8 * math.exp(-d * 6.0) * math.sin(2 * math.pi * 1318.5 * d)
    return 0.06 * env * fade * x + 0.25 * bell


def main() -> None:
    out = Path(__file__).with_name("organ.wav")
    n = int(RATE * SECONDS)
    frames = bytearray()
    for k in range(n):
        v = max(-1.0, min(1.0, sample(k / RATE)))
        frames += struct.pack("<h", int(round(v * 32767)))
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    print(f"wrote {out} ({n} samples)")


if __name__ == "__main__":
    main()
