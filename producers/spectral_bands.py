#!/usr/bin/env python3
"""Example ntsbuild plug-in producer: the level of a few frequency bands per frame.

Python standard library only. Contract (docs/producers.md): the request arrives as JSON on
stdin; the decoded mono audio is a raw little-endian float32 file (request["audio"]["path"]);
the answer is a JSON object {column: [T numbers]} printed on stdout. Diagnostics go to stderr.

Settings:
  crossovers_hz  band edges, ascending (default [300, 3000]: low / mid / high)
  prefix         column name prefix (default "band")

Bands come from cascaded one-pole low-pass filters (band 0 = lowpass(edge 0), band i =
lowpass(edge i) - lowpass(edge i-1), last = input - lowpass(last edge)). Frame k covers samples
[floor(k*sr/fps), floor((k+1)*sr/fps)), zero past the end; its value is
10*log10(mean(band^2) + 1e-12) dB.
"""

import array
import json
import math
import sys


def lowpass(x, cutoff_hz, sr):
    a = math.exp(-2.0 * math.pi * cutoff_hz / sr)
    b = 1.0 - a
    y = array.array("d", bytes(8 * len(x)))
    state = 0.0
    for i, v in enumerate(x):
        state = b * v + a * state
        y[i] = state
    return y


def main():
    request = json.load(sys.stdin)
    if request.get("protocol") != 1:
        sys.exit("spectral_bands: unsupported protocol %r" % request.get("protocol"))
    audio = request.get("audio")
    if not audio:
        sys.exit("spectral_bands: needs the decoded audio (declare it with audio = true)")
    settings = request.get("settings", {})
    edges = [float(f) for f in settings.get("crossovers_hz", [300, 3000])]
    prefix = str(settings.get("prefix", "band"))
    sr = int(audio["sample_rate_hz"])
    if not edges or any(not 0 < f < sr / 2 for f in edges) or edges != sorted(edges):
        sys.exit("spectral_bands: crossovers_hz must be ascending and inside (0, %g) Hz" % (sr / 2))

    x = array.array("f")
    with open(audio["path"], "rb") as f:
        x.frombytes(f.read())
    if sys.byteorder != "little":
        x.byteswap()

    lows = [lowpass(x, f, sr) for f in edges]
    bands = [lows[0]]
    for i in range(1, len(lows)):
        bands.append(array.array("d", (h - l for h, l in zip(lows[i], lows[i - 1]))))
    bands.append(array.array("d", (v - l for v, l in zip(x, lows[-1]))))

    frames = int(request["T"])
    fps = float(request["fps"])
    n = len(x)
    bounds = [math.floor(k * sr / fps) for k in range(frames + 1)]
    answer = {}
    for b, band in enumerate(bands):
        column = []
        for k in range(frames):
            lo, hi = bounds[k], bounds[k + 1]
            energy = sum(v * v for v in band[lo:min(hi, n)])
            column.append(10.0 * math.log10(energy / max(hi - lo, 1) + 1e-12))
        answer["%s%d_db" % (prefix, b)] = column
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
