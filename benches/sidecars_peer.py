"""The seed's producers in numpy, for `cargo bench --bench sidecars` to compare against.

const (numpy.full), lin (numpy.linspace), rms_db (float64 blocks of sr/fps samples,
zero-padded), merged into a float32 T x C array, saved with numpy.save and described by a JSON
text with per-column mean/std/min/max -- what the seed's runner does per source, in memory.
Prints `seconds <t>` (per source the best of 3, summed) for SOURCES sources of DURATION_S seconds; making the signals is
not timed.
"""

import io
import json
import sys
import time

import numpy as np

SOURCES, DURATION_S, SR, FPS = (int(a) for a in sys.argv[1:5])


def sidecar(x):
    T = int(np.ceil(len(x) * FPS / SR))
    hop = SR // FPS
    feats = {"scene_id": np.full(T, 7.0, dtype=np.float32), "progress": np.linspace(0.0, 1.0, T, dtype=np.float32)}
    xp = np.pad(x, (0, T * hop - len(x))) if len(x) < T * hop else x[: T * hop]
    rms = np.sqrt((xp.reshape(T, hop).astype(np.float64) ** 2).mean(axis=1) + 1e-12)
    feats["rms_db"] = (20.0 * np.log10(rms + 1e-12)).astype(np.float32)
    names = list(feats)
    arr = np.stack([feats[n] for n in names], axis=1)
    buf = io.BytesIO()
    np.save(buf, arr)
    norm = {k: [] for k in ("mean", "std", "min", "max")}
    for n in names:
        v = feats[n]
        norm["mean"].append(float(v.mean()))
        norm["std"].append(float(v.std()))
        norm["min"].append(float(v.min()))
        norm["max"].append(float(v.max()))
    meta = json.dumps({"schema_version": 1, "fps": FPS, "names": names, "norm": norm})
    return len(buf.getvalue()) + len(meta)


n = np.arange(DURATION_S * SR)


def signal(i):
    return (0.5 * np.sin(2 * np.pi * (110.0 + 7.0 * i) * n / SR) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.25 * n / SR))).astype(
        np.float32
    )


# Each source is made just before it is timed (best of 3), so only one is in memory at a time.
elapsed, total = 0.0, 0
for i in range(SOURCES):
    x = signal(i)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        size = sidecar(x)
        best = min(best, time.perf_counter() - start)
    elapsed += best
    total += size
print("bytes", total)
print("seconds", elapsed)
