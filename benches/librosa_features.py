#!/usr/bin/env python3
"""Times librosa.load + the five ntsbuild features on one file.

`librosa_features.py AUDIO [RUNS]` prints `load_s` and `features_s` (best of RUNS, default 3)
after librosa is imported; `librosa_features.py AUDIO --whole` loads and analyses once, as a
whole-process run does, and prints the process's peak memory (`peak_rss_kib`).
Computed as /work/shared/data/librosa_reference.py does (sr 48000, n_fft 2048, hop 512,
centred). Used by `cargo bench --bench features`; needs librosa 0.11 (`pip install
librosa==0.11.0 soundfile`).
"""
import sys
import time
import warnings

import numpy as np
import librosa

N_FFT, HOP = 2048, 512


def features(y, sr):
    kw = dict(n_fft=N_FFT, hop_length=HOP, center=True)
    S = np.abs(librosa.stft(y, **kw))
    return dict(
        rms=librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP, center=True)[0],
        centroid=librosa.feature.spectral_centroid(S=S, sr=sr, **kw)[0],
        flatness=librosa.feature.spectral_flatness(S=S, **kw)[0],
        mfcc=librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13, **kw),
        onset=librosa.onset.onset_strength(y=y, sr=sr, **kw),
    )


def best(f, runs):
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    path = sys.argv[1]
    warnings.simplefilter("ignore")
    if "--whole" in sys.argv[2:]:
        y, sr = librosa.load(path, sr=48000, mono=True)
        f = features(y, sr)
        print(f"frames {f['rms'].shape[-1]}")
        print(f"peak_rss_kib {peak_rss_kib()}")
        return
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    load_s, (y, sr) = best(lambda: librosa.load(path, sr=48000, mono=True), runs)
    features_s, f = best(lambda: features(y, sr), runs)
    print(f"frames {f['rms'].shape[-1]}")
    print(f"load_s {load_s:.6f}")
    print(f"features_s {features_s:.6f}")


if __name__ == "__main__":
    main()
