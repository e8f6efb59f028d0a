#!/usr/bin/env python3
"""Regenerate every file under models/ and tests/fixtures/models/, byte for byte.

The decoder is a compositional pattern-producing network (CPPN): the 8×16×16 latent is
upsampled to the image grid with a fixed cubic B-spline (two MatMuls), then, per pixel,
1×1 convolutions with sine and tanh activations turn (latent, x, y, r) into RGB in [-1, 1].
Every weight comes from numpy's `default_rng` with a fixed seed, the ONNX producer fields are
fixed and nothing records a time, so running this script twice writes identical bytes.

Latent channels have roles (the anchor sets use them to set a mood):
  0 light (brightness), 1 warmth (red vs blue), 2 tint (green vs magenta),
  3 contrast (gain of the patterned part), 4-7 form (drive the sine layer).

Usage:  python models/generate.py [--previews DIR]
Pinned versions: models/requirements.txt.
"""

import argparse
import io
import json
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
FIXTURES = ROOT / "tests" / "fixtures" / "models"

OPSET = 17
IR_VERSION = 8
PRODUCER = "ntsbuild-models"
PRODUCER_VERSION = "1"
LATENT_SHAPE = (8, 16, 16)
RESOLUTION = 256
HIDDEN = 24
DECODER_SEED = 20240611
ANCHOR_COUNT = 10
FEATURE_DIM = 12

# ---------------------------------------------------------------------------------------------
# Decoder weights


def bspline_matrix(out_len, in_len=16):
    """(out_len, in_len) weights of a uniform cubic B-spline through `in_len` control points.

    Output pixel i sits at t = i·(in_len−1)/(out_len−1) on the control-point axis (corners
    aligned); edge control points are repeated. Rows sum to 1, so a constant latent stays
    constant; the result is C² smooth, so no creases appear at the 16-pixel cells.
    """
    m = np.zeros((out_len, in_len), dtype=np.float64)
    for i in range(out_len):
        t = i * (in_len - 1) / (out_len - 1)
        j = int(np.floor(t))
        u = t - j
        basis = [
            (1 - u) ** 3 / 6,
            (3 * u**3 - 6 * u**2 + 4) / 6,
            (-3 * u**3 + 3 * u**2 + 3 * u + 1) / 6,
            u**3 / 6,
        ]
        for o, w in zip(range(-1, 3), basis):
            m[i, min(max(j + o, 0), in_len - 1)] += w
    return m


def coordinates(res):
    """x [1,1,1,res], y [1,1,res,1] in [-1,1] and r [1,1,res,res] = |(x,y)|/√2 in [0,1]."""
    axis = np.linspace(-1.0, 1.0, res)
    x = axis.reshape(1, 1, 1, res)
    y = axis.reshape(1, 1, res, 1)
    r = np.sqrt(x**2 + y**2) / np.sqrt(2.0)
    return x, y, r


def decoder_weights(seed=DECODER_SEED, hidden=HIDDEN):
    """All decoder parameters as float64 arrays (cast to float32 when written)."""
    rng = np.random.default_rng(seed)
    c = LATENT_SHAPE[0]
    w = {}
    # Layer 1 (sine): latent form channels drive it hardest; coordinates give composition.
    drive = np.array([0.12, 0.12, 0.12, 0.08, 1.0, 1.0, 1.0, 1.0])
    w["w1"] = rng.normal(0.0, 1.0, (hidden, c)) * drive * 1.5
    w["ax"] = rng.normal(0.0, 1.6, hidden)
    w["ay"] = rng.normal(0.0, 1.6, hidden)
    w["ar"] = rng.normal(0.0, 2.5, hidden)
    w["b1"] = rng.uniform(-np.pi, np.pi, hidden)
    # Layers 2 and 3 (tanh).
    w["w2"] = rng.normal(0.0, 1.6 / np.sqrt(hidden), (hidden, hidden))
    w["b2"] = rng.normal(0.0, 0.3, hidden)
    w["w3"] = rng.normal(0.0, 1.6 / np.sqrt(hidden), (hidden, hidden))
    w["b3"] = rng.normal(0.0, 0.3, hidden)
    # Output: patterned part (scaled by the contrast channel) plus a direct colour term.
    # The patterned part in a luma/chroma basis, chroma weaker, so patterns vary in
    # brightness more than in hue and the colour channels set the mood.
    luma_chroma = np.array([[1.0, 0.5, 0.3], [1.0, -0.1, -0.55], [1.0, -0.5, 0.3]])
    w["w4"] = luma_chroma @ (rng.normal(0.0, 1.0 / np.sqrt(hidden), (3, hidden)) * np.array([[0.7], [0.5], [0.5]]))
    w["b4"] = np.array([0.05, 0.0, -0.05])
    w["direct"] = np.array(
        [
            # light warmth tint contrast form...
            [0.55, 0.45, -0.20, 0.0, 0.0, 0.0, 0.0, 0.0],  # R
            [0.55, 0.05, 0.40, 0.0, 0.0, 0.0, 0.0, 0.0],  # G
            [0.55, -0.50, -0.20, 0.0, 0.0, 0.0, 0.0, 0.0],  # B
        ]
    )
    w["contrast"] = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    return w


def forward(w, latents, res=RESOLUTION):
    """Reference forward pass in float64, the same maths as the ONNX graph."""
    u = bspline_matrix(res)
    z = u @ latents.astype(np.float64) @ u.T
    x, y, r = coordinates(res)

    def conv(weight, t):
        return np.einsum("oc,bchw->bohw", weight, t, optimize=True)

    def col(v):
        return v.reshape(1, -1, 1, 1)

    h = np.sin(conv(w["w1"], z) + col(w["ax"]) * x + col(w["ay"]) * y + col(w["ar"]) * r + col(w["b1"]))
    h = np.tanh(conv(w["w2"], h) + col(w["b2"]))
    h = np.tanh(conv(w["w3"], h) + col(w["b3"]))
    gain = 1.0 + 0.5 * np.tanh(conv(w["contrast"][None, :], z))
    out = conv(w["w4"], h) * gain + conv(w["direct"], z) + col(w["b4"])
    return np.tanh(out)


# ---------------------------------------------------------------------------------------------
# ONNX graph


def f32(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def conv_weight(matrix):
    m = np.asarray(matrix, dtype=np.float64)
    return m.reshape(m.shape[0], m.shape[1], 1, 1)


def decoder_graph(
    w,
    res=RESOLUTION,
    batch="batch",
    input_name="latent",
    input_type=TensorProto.FLOAT,
    out_channels=3,
    name="ntsbuild_cppn_decoder",
    coordinates_in="channel_halves",
):
    """The decoder as an ONNX model. The extra arguments build the (deliberately wrong)
    test fixtures from the same graph.

    Both formulations compute `forward` with 1×1 `Conv`s over NCHW planes; they differ in how
    layer 1's coordinate term `a·x + b·y + c·r + b1` ([1, units, H, W], constant) is written:
    - `"channel_halves"` (the committed model): two [1, units/2, H, W] halves from `res`-long
      axes, then `Concat`. Every intermediate stays within tract's constant-folding budget
      (4 MiB), so tract computes the term once when it loads the model, as ONNX Runtime does,
      instead of on every run (6 of 46 ms per 256² frame, measured).
    - `"broadcast"`: the first formulation (per-unit weights times coordinate planes, summed by
      broadcasting), kept for the benchmark and the equivalence test.
    Either way the graph uses only `MatMul`, `Conv` (1×1), `Add`, `Mul`, `Sqrt`, `Concat`, `Sin`
    and `Tanh`."""
    build = halves_nodes if coordinates_in == "channel_halves" else first_nodes
    nodes, inits = build(w, res, out_channels)
    if input_type != TensorProto.FLOAT:
        nodes.insert(0, helper.make_node("Cast", [input_name], ["latent_f32"], to=TensorProto.FLOAT))
        src = "latent_f32"
    else:
        src = input_name
    for node in nodes:
        for i, tensor in enumerate(node.input):
            if tensor == "SRC":
                node.input[i] = src
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(input_name, input_type, [batch, *LATENT_SHAPE])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, out_channels, res, res])],
        inits,
    )
    model = helper.make_model(
        graph,
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    model.doc_string = (
        "CPPN decoder: latent [B,8,16,16] -> image [B,3,H,W] in [-1,1]. "
        "Generated by models/generate.py; weights seeded with numpy default_rng."
    )
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


def first_nodes(w, res, out_channels):
    """The first formulation (the previous `models/decoder.onnx`, byte for byte): the coordinate
    term from per-unit weights times coordinate planes, summed by broadcasting."""
    u = bspline_matrix(res)
    x, y, r = coordinates(res)
    col = lambda v: np.asarray(v, dtype=np.float64).reshape(1, -1, 1, 1)  # noqa: E731
    inits = [
        f32("upsample_rows", u),
        f32("upsample_cols_t", u.T),
        f32("coord_x", x),
        f32("coord_y", y),
        f32("coord_r", r),
        f32("w1", conv_weight(w["w1"])),
        f32("b1", w["b1"]),
        f32("ax", col(w["ax"])),
        f32("ay", col(w["ay"])),
        f32("ar", col(w["ar"])),
    ] + layer_inits(w, out_channels)
    n = helper.make_node
    nodes = [
        n("MatMul", ["SRC", "upsample_cols_t"], ["z_cols"]),
        n("MatMul", ["upsample_rows", "z_cols"], ["z_up"]),
        n("Conv", ["z_up", "w1", "b1"], ["l1_latent"]),
        n("Mul", ["ax", "coord_x"], ["l1_x"]),
        n("Mul", ["ay", "coord_y"], ["l1_y"]),
        n("Mul", ["ar", "coord_r"], ["l1_r"]),
        n("Add", ["l1_x", "l1_y"], ["l1_xy"]),
        n("Add", ["l1_xy", "l1_r"], ["l1_coords"]),
        n("Add", ["l1_latent", "l1_coords"], ["l1_pre"]),
    ] + layer_nodes()
    return nodes, inits


def halves_nodes(w, res, out_channels):
    """The committed formulation: the coordinate term from two [1, units/2, H, W] halves built
    from `res`-long axes, then `Concat` (see `decoder_graph`)."""
    u = bspline_matrix(res)
    axis = np.linspace(-1.0, 1.0, res)
    hidden = w["w1"].shape[0]
    col = lambda v: np.asarray(v, dtype=np.float64).reshape(1, -1, 1, 1)  # noqa: E731
    inits = [
        f32("upsample_rows", u),
        f32("upsample_cols_t", u.T),
        f32("axis_x", axis.reshape(1, 1, 1, res)),
        f32("axis_y", axis.reshape(1, 1, res, 1)),
        f32("inv_sqrt2", np.array(1.0 / np.sqrt(2.0))),
        f32("w1", conv_weight(w["w1"])),
    ]
    n = helper.make_node
    nodes = [
        n("Mul", ["axis_x", "axis_x"], ["axis_x2"]),
        n("Mul", ["axis_y", "axis_y"], ["axis_y2"]),
        n("Add", ["axis_x2", "axis_y2"], ["radius2"]),  # [1, 1, H, W]
        n("Sqrt", ["radius2"], ["radius"]),
        n("Mul", ["radius", "inv_sqrt2"], ["coord_r"]),
    ]
    halves = []
    for h, units in enumerate([slice(0, hidden // 2), slice(hidden // 2, hidden)]):
        for key in ["ax", "ay", "ar", "b1"]:
            inits.append(f32(f"{key}_{h}", col(w[key][units])))
        nodes += [
            n("Mul", ["axis_x", f"ax_{h}"], [f"l1_x_{h}"]),  # [1, units/2, 1, W]
            n("Mul", ["axis_y", f"ay_{h}"], [f"l1_y_{h}"]),  # [1, units/2, H, 1]
            n("Add", [f"l1_x_{h}", f"l1_y_{h}"], [f"l1_xy_{h}"]),
            n("Mul", ["coord_r", f"ar_{h}"], [f"l1_r_{h}"]),
            n("Add", [f"l1_xy_{h}", f"l1_r_{h}"], [f"l1_xyr_{h}"]),
            n("Add", [f"l1_xyr_{h}", f"b1_{h}"], [f"l1_coords_{h}"]),
        ]
        halves.append(f"l1_coords_{h}")
    inits += layer_inits(w, out_channels)
    nodes += [
        n("Concat", halves, ["l1_coords"], axis=1),
        n("MatMul", ["SRC", "upsample_cols_t"], ["z_cols"]),
        n("MatMul", ["upsample_rows", "z_cols"], ["z_up"]),
        n("Conv", ["z_up", "w1"], ["l1_latent"]),
        n("Add", ["l1_latent", "l1_coords"], ["l1_pre"]),
    ] + layer_nodes()
    return nodes, inits


def layer_inits(w, out_channels):
    """Initializers of layers 2-4 (shared by both formulations, in the first one's order)."""
    return [
        f32("w2", conv_weight(w["w2"])),
        f32("b2", w["b2"]),
        f32("w3", conv_weight(w["w3"])),
        f32("b3", w["b3"]),
        f32("w4", conv_weight(w["w4"][:out_channels])),
        f32("direct", conv_weight(w["direct"][:out_channels])),
        f32("b4", w["b4"][:out_channels]),
        f32("contrast_pick", conv_weight(w["contrast"][None, :])),
        f32("half", np.array(0.5)),
        f32("one", np.array(1.0)),
    ]


def layer_nodes():
    """From `l1_pre` (layer 1 before the sine) to `image`."""
    n = helper.make_node
    return [
        n("Sin", ["l1_pre"], ["h1"]),
        n("Conv", ["h1", "w2", "b2"], ["l2_pre"]),
        n("Tanh", ["l2_pre"], ["h2"]),
        n("Conv", ["h2", "w3", "b3"], ["l3_pre"]),
        n("Tanh", ["l3_pre"], ["h3"]),
        n("Conv", ["h3", "w4"], ["pattern"]),
        n("Conv", ["z_up", "contrast_pick"], ["contrast_raw"]),
        n("Tanh", ["contrast_raw"], ["contrast_tanh"]),
        n("Mul", ["contrast_tanh", "half"], ["contrast_half"]),
        n("Add", ["contrast_half", "one"], ["gain"]),
        n("Mul", ["pattern", "gain"], ["pattern_gained"]),
        n("Conv", ["z_up", "direct", "b4"], ["colour"]),
        n("Add", ["pattern_gained", "colour"], ["out_pre"]),
        n("Tanh", ["out_pre"], ["image"]),
    ]


def tanh_graph(latent_shape):
    """`image = tanh(latent)` with the given latent shape: a valid model with a wrong interface."""
    batch_shape = ["batch", *latent_shape]
    graph = helper.make_graph(
        [helper.make_node("Tanh", ["latent"], ["image"])],
        "ntsbuild_wrong_shape",
        [helper.make_tensor_value_info("latent", TensorProto.FLOAT, batch_shape)],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, batch_shape)],
    )
    model = helper.make_model(
        graph,
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


# ---------------------------------------------------------------------------------------------
# Anchor sets

# Per set: seed, description, energy hint and how its latents are drawn.
#   mean: per-channel offset (light, warmth, tint, contrast; form channels are centred);
#   colour_amp: spatial variation of the colour channels 0-2; form_amp: of channels 4-7;
#   length: correlation length of the spatial fields in latent cells (small = fine detail).
ANCHOR_SETS = {
    "baseline": dict(
        seed=100,
        description="balanced: neutral, moderately bright colours, medium contrast and detail",
        energy_hint="medium",
        mean=[0.45, 0.15, 0.05, 0.5],
        colour_amp=0.8,
        form_amp=1.4,
        length=3.0,
    ),
    "pulse": dict(
        seed=101,
        description="punchy and warm: reds and ambers, high contrast, busy forms",
        energy_hint="high",
        mean=[0.1, 0.9, -0.1, 1.2],
        colour_amp=0.45,
        form_amp=1.5,
        length=2.5,
    ),
    "surge": dict(
        seed=202,
        description="saturated: strong colour swings across the frame, rising energy",
        energy_hint="high",
        mean=[0.0, 0.2, 0.3, 0.8],
        colour_amp=1.5,
        form_amp=1.2,
        length=3.5,
    ),
    "drift": dict(
        seed=303,
        description="slow and cool: soft blue-green gradients, low contrast, broad forms",
        energy_hint="low",
        mean=[0.15, -1.0, 0.35, -1.2],
        colour_amp=0.3,
        form_amp=0.6,
        length=6.0,
    ),
    "nocturne": dict(
        seed=404,
        description="dark: deep blues and violets, dim highlights",
        energy_hint="low",
        mean=[-1.3, -0.5, -0.4, -0.2],
        colour_amp=0.35,
        form_amp=0.8,
        length=4.5,
    ),
    "fracture": dict(
        seed=505,
        description="fractured: high spatial frequency, sharp interleaved bands",
        energy_hint="high",
        mean=[0.0, 0.1, 0.1, 1.0],
        colour_amp=0.6,
        form_amp=2.6,
        length=0.8,
    ),
    "lumen": dict(
        seed=606,
        description="bright: pale, airy highlights with a light warm tint",
        energy_hint="medium",
        mean=[1.3, 0.25, 0.1, -0.6],
        colour_amp=0.3,
        form_amp=0.8,
        length=5.0,
    ),
}


def smooth_field(rng, length, size=16):
    """A (size, size) random field with unit standard deviation and correlation length
    `length` cells (white noise blurred by a periodic Gaussian in the Fourier domain) and zero
    mean, so the set's channel means alone set its mood."""
    noise = rng.normal(0.0, 1.0, (size, size))
    freq = np.fft.fftfreq(size)
    f2 = freq[:, None] ** 2 + freq[None, :] ** 2
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-2.0 * (np.pi * length) ** 2 * f2)))
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field


def anchor_set(spec):
    """(10, 8, 16, 16) anchors, ordered from calm (k = 0) to energetic (k = 9)."""
    rng = np.random.default_rng(spec["seed"])
    anchors = np.zeros((ANCHOR_COUNT, *LATENT_SHAPE))
    for k in range(ANCHOR_COUNT):
        energy = 0.6 + 0.8 * k / (ANCHOR_COUNT - 1)
        for ch in range(LATENT_SHAPE[0]):
            field = smooth_field(rng, spec["length"])
            if ch < 3:
                jitter = rng.normal(0.0, 0.15)
                anchors[k, ch] = spec["mean"][ch] + jitter + spec["colour_amp"] * field
            elif ch == 3:
                anchors[k, ch] = spec["mean"][3] + 0.6 * (energy - 1.0) + 0.3 * field
            else:
                anchors[k, ch] = spec["form_amp"] * energy * field
    return anchors


# Plausible statistics of the 12 controller features (DOMAIN §B): rms, centroid/(sr/2),
# flatness, onset/max, tanh(mfcc[0..8]/20).
FEATURE_MEAN = [0.08, 0.12, 0.03, 0.15, -0.99, 0.93, 0.0, 0.2, 0.0, 0.1, 0.0, 0.05]
FEATURE_STD = [0.06, 0.06, 0.05, 0.15, 0.02, 0.1, 0.5, 0.45, 0.4, 0.4, 0.35, 0.35]


def projection(spec):
    """Projection from z-scored features to anchor scores: loud, bright, onset-rich frames
    favour the energetic anchors (high k); the rest is a small seeded mix."""
    rng = np.random.default_rng(spec["seed"] + 1)
    ramp = (np.arange(ANCHOR_COUNT) - (ANCHOR_COUNT - 1) / 2) / ((ANCHOR_COUNT - 1) / 2)
    matrix = rng.normal(0.0, 0.25, (ANCHOR_COUNT, FEATURE_DIM))
    matrix[:, 0] += 1.2 * ramp  # rms
    matrix[:, 1] += 0.6 * ramp  # brightness of the spectrum
    matrix[:, 3] += 0.8 * ramp  # onsets
    matrix[:, 2] -= 0.3 * ramp  # noisy frames lean calm
    bias = rng.normal(0.0, 0.1, ANCHOR_COUNT)
    return {
        "matrix": matrix,
        "bias": bias,
        "feature_mean": np.array(FEATURE_MEAN),
        "feature_std": np.array(FEATURE_STD),
    }


# ---------------------------------------------------------------------------------------------
# Deterministic file writers


def npz_bytes(arrays):
    """An .npz (stored, like numpy.savez) whose entries carry a fixed date, so the bytes
    depend on the arrays only. Keys are written in the given order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, array in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, npy.getvalue())
    return buf.getvalue()


def png_bytes(rgb):
    """8-bit RGB PNG from an (H, W, 3) uint8 array (previews only)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def to_pixels(image):
    """(3, H, W) tanh output → (H, W, 3) uint8 with the seed's normalisation (x·0.5 + 0.5)."""
    x = np.clip(image * 0.5 + 0.5, 0.0, 1.0)
    return np.floor(x * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def write(path, data, written):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    written.append(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=Path, help="also write PNG previews of every anchor here")
    args = parser.parse_args()
    written = []
    w = decoder_weights()

    write(MODELS / "decoder.onnx", decoder_graph(w), written)

    meta = {
        "latent_shape": list(LATENT_SHAPE),
        "image_resolution": [RESOLUTION, RESOLUTION],
        "decoder": {"fp32": "decoder.onnx"},
        "precision": {"default": "fp32", "available": ["fp32"]},
        "normalisation": {"mean": 0.5, "std": 0.5},
        "opset": OPSET,
        "generator": {"script": "models/generate.py", "decoder_seed": DECODER_SEED},
        "anchor_sets": {},
        "projections": {},
    }
    rows = []
    for name, spec in ANCHOR_SETS.items():
        anchors = anchor_set(spec).astype(np.float32)
        write(MODELS / "anchors" / f"{name}.npz", npz_bytes({"anchors": anchors}), written)
        proj = {k: v.astype(np.float32) for k, v in projection(spec).items()}
        write(MODELS / "anchors" / f"{name}_projection.npz", npz_bytes(proj), written)
        meta["anchor_sets"][name] = {
            "file": f"anchors/{name}.npz",
            "anchor_count": ANCHOR_COUNT,
            "seed": spec["seed"],
            "description": spec["description"],
            "energy_hint": spec["energy_hint"],
        }
        meta["projections"][name] = f"anchors/{name}_projection.npz"
        if args.previews:
            rows.append(np.concatenate([to_pixels(image) for image in forward(w, anchors, res=128)], axis=1))
    if args.previews:
        args.previews.mkdir(parents=True, exist_ok=True)
        # One row per anchor set (in ANCHOR_SETS order), anchors k = 0..9 left to right.
        (args.previews / "anchors.png").write_bytes(png_bytes(np.concatenate(rows, axis=0)))
    write(MODELS / "meta.json", (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode(), written)

    # Small fixtures for the decoder tests: a 32×32 variant of the same network.
    tiny = 32
    write(FIXTURES / "tiny.onnx", decoder_graph(w, res=tiny), written)
    write(FIXTURES / "tiny_batch1.onnx", decoder_graph(w, res=tiny, batch=1), written)
    write(FIXTURES / "tiny_batch2.onnx", decoder_graph(w, res=tiny, batch=2), written)
    # The first formulation of the same network: the decoder benchmark's "before" and the
    # equivalence test's reference.
    write(FIXTURES / "decoder_first.onnx", decoder_graph(w, coordinates_in="broadcast"), written)
    write(FIXTURES / "tiny_first.onnx", decoder_graph(w, res=tiny, coordinates_in="broadcast"), written)
    write(FIXTURES / "wrong_input_name.onnx", decoder_graph(w, res=tiny, input_name="z"), written)
    write(FIXTURES / "wrong_latent_shape.onnx", tanh_graph((4, 16, 16)), written)
    write(FIXTURES / "wrong_input_type.onnx", decoder_graph(w, res=tiny, input_type=TensorProto.DOUBLE), written)
    write(FIXTURES / "wrong_output_channels.onnx", decoder_graph(w, res=tiny, out_channels=1), written)
    ref_rng = np.random.default_rng(7)
    ref_latents = ref_rng.normal(0.0, 1.0, (2, *LATENT_SHAPE)).astype(np.float32)
    ref_image = forward(w, ref_latents, res=tiny).astype(np.float32)
    write(FIXTURES / "tiny_reference.npz", npz_bytes({"latents": ref_latents, "image": ref_image}), written)

    for path in written:
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
