"""Peer timing for `cargo bench --bench arrange`: seed 002's offline engine (NagaKang
`src/audio`) rendering the benchmark's sine arrangement, one engine per instrument.

Usage: python nagakang_arrange.py NAGAKANG_SRC SECONDS INSTRUMENTS
Prints one JSON line: {"seconds": ..., "instruments": ..., "wall_s": ...}.

Each instrument is the seed's SineOscillator -> AmplitudeEnvelope -> OnePoleLowPass at 48 kHz,
block 512, 120 BPM, playing a sixteenth-note pattern (gate = velocity/127 at each onset, 0 one
step later) exactly as the benchmark's ntsbuild arrangement does; the instruments are summed.
Only the package's engine and modules are imported (its __init__ pulls in optional GUI deps).
"""
import importlib
import json
import sys
import time
import types

import numpy as np


def load(src):
    pkg = types.ModuleType("audio")
    pkg.__path__ = [f"{src}/audio"]
    sys.modules["audio"] = pkg
    return importlib.import_module("audio.engine"), importlib.import_module("audio.modules")


def main():
    src, seconds, instruments = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    engine_mod, modules = load(src)
    config = engine_mod.EngineConfig(sample_rate=48_000, block_size=512)
    tempo = engine_mod.TempoMap(tempo_bpm=120.0)
    start = time.perf_counter()
    mix = None
    for k in range(instruments):
        engine = engine_mod.OfflineAudioEngine(config, tempo=tempo)
        osc = modules.SineOscillator(f"osc{k}", config)
        env = modules.AmplitudeEnvelope(f"env{k}", config, source=osc)
        lp = modules.OnePoleLowPass(f"lp{k}", config, source=env, cutoff_hz=800.0 + 300.0 * k)
        for m in (osc, env, lp):
            engine.add_module(m)
        engine.set_output(lp.name)
        engine.schedule_parameter_change(env.name, "gate", time_seconds=0.0, value=0.0)
        steps = int(seconds * 8)  # sixteenths at 120 BPM
        for s in range(steps):
            if (s * (k + 3)) % 4 == 3:
                continue  # a rest, as in the ntsbuild pattern
            note = 36 + (k * 5 + s * 7) % 36
            beats = s / 4.0
            engine.schedule_parameter_change(osc.name, "frequency_hz", beats=beats, value=440.0 * 2 ** ((note - 69) / 12))
            engine.schedule_parameter_change(env.name, "gate", beats=beats, value=(60 + (s * 13 + k) % 60) / 127.0)
            engine.schedule_parameter_change(env.name, "gate", beats=beats + 0.25, value=0.0)
        out = engine.render(seconds)
        mix = out if mix is None else mix + out
    wall = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "instruments": instruments, "wall_s": wall, "peak": float(np.abs(mix).max())}))


if __name__ == "__main__":
    main()
