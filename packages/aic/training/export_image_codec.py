"""Exports a trained ImageCodec for the TypeScript codec (packages/aic/src/image-codec.ts):

  image-codec-analysis.onnx        image (1x3xHxW, RGB in [0,1], H and W multiples of 64) -> y
  image-codec-hyper-analysis.onnx  y (the latent times the level's gain) -> z
  image-codec-synthesis.onnx       y_hat (the rounded latent times the level's inverse gain) -> image
                                   (its transposed convolutions exported as the equivalent
                                   3x3 convolution + depth-to-space: SubPixel)
  image-codec-tables.bin           everything the bits depend on, all integers but the gains:
                                   the integer hyper-synthesis, z's per-channel CDFs, y's
                                   Gaussian scale tables; and the per-level gain vectors
  hyper-fixture.json               z_hat -> scale indices by the Python integer reference, which
                                   the TypeScript tests must reproduce bit for bit

tables.bin: "AICT", a little-endian uint32 n, n bytes of UTF-8 JSON (the layout: shapes, shifts,
gains, and for each integer array its byte offset and length in the blob), zero padding to a
multiple of 4, then the blob (int16 weights, int32 biases, uint32 CDF entries, little-endian).

CDF tables are made here, once, from float64 probabilities, and shipped as integers: 16-bit
precision, every symbol at least frequency 1 (the rounding remainder goes to the likeliest
symbol), so that no runtime ever builds a table from floats.
  z: channel c, symbols -zmax..zmax (z_hat is clamped there), from the trained pmf.
  y: table t has sigma_t = exp(log smin + t (log smax - log smin) / (S - 1)) and symbols
     -R_t..R_t with R_t = max(16, ceil(8 sigma_t)); the encoder clamps y_hat to that range (the
     tail mass beyond it sits in the end symbols). At 8 sigma a clamp happens for a mis-predicted
     scale only; the benchmark counts them.
"""
import hashlib
import inspect
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from image_codec import AMAX, WMAX, int_reference

MAX_ONNX_BYTES = 2 * 1024 * 1024
PROB_BITS = 16
FILES = {"analysis": "image-codec-analysis.onnx", "hyper-analysis": "image-codec-hyper-analysis.onnx",
         "synthesis": "image-codec-synthesis.onnx", "tables": "image-codec-tables.bin"}
IO = {"analysis": ("image", "y"), "hyper-analysis": ("y", "z"), "synthesis": ("y_hat", "image"), "tables": ("z_hat", "scale_index")}
FORMAT = 1


def cdf_from_pmf(p):
    """Integer CDF (length n + 1, last entry 2^16) from float64 probabilities."""
    p = np.asarray(p, dtype=np.float64)
    p = np.maximum(p, 0)
    n = len(p)
    spare = (1 << PROB_BITS) - n
    freqs = 1 + np.floor(p / p.sum() * spare).astype(np.int64)
    freqs[int(np.argmax(freqs))] += (1 << PROB_BITS) - int(freqs.sum())
    cdf = np.zeros(n + 1, dtype=np.int64)
    cdf[1:] = np.cumsum(freqs)
    assert cdf[-1] == 1 << PROB_BITS and (np.diff(cdf) >= 1).all()
    return cdf


def radius_of(sigma):
    return max(16, math.ceil(8 * sigma))


def gaussian_pmf(sigma, r):
    phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    p = [phi((v + 0.5) / sigma) - phi((v - 0.5) / sigma) for v in range(-r, r + 1)]
    p[0] += phi((-r - 0.5) / sigma)
    p[-1] += 1 - phi((r + 0.5) / sigma)
    return p


class Blob:
    def __init__(self):
        self.parts, self.size = [], 0

    def add(self, array, dtype):
        data = np.ascontiguousarray(array, dtype=dtype).tobytes()
        entry = {"offset": self.size, "length": int(np.asarray(array).size), "type": np.dtype(dtype).name}
        data += b"\0" * ((-len(data)) % 4)
        self.parts.append(data)
        self.size += len(data)
        return entry


def int_layers(model):
    layers = []
    for i, layer in enumerate(model.h_s.layers):
        w, b, s = layer.quantised()
        w, b, s = w.long(), b.long(), s.long()
        if w.abs().max() > WMAX:
            sys.exit(f"export_image_codec: hyper layer {i} has a weight of {w.abs().max()}, over {WMAX}")
        max_in = model.zmax if i == 0 else AMAX
        bound = (w.abs().flatten(1).sum(1) * max_in + b.abs()).max().item()
        if bound >= 2 ** 31:
            sys.exit(f"export_image_codec: hyper layer {i} could reach {bound} in an accumulator, past int32")
        layers.append({"cin": w.shape[1], "cout": w.shape[0], "upsample": bool(layer.upsample), "lo": layer.lo, "hi": layer.hi,
                       "w": w.numpy(), "b": b.numpy(), "shift": s.numpy(), "accBound": int(bound)})
    return layers


def write_tables(model, cfg, path):
    blob = Blob()
    layers = int_layers(model)
    meta_layers = []
    for L in layers:
        meta_layers.append({"cin": int(L["cin"]), "cout": int(L["cout"]), "kernel": 3, "upsample": L["upsample"], "lo": int(L["lo"]), "hi": int(L["hi"]),
                            "shift": [int(v) for v in L["shift"]], "weights": blob.add(L["w"], np.int16), "bias": blob.add(L["b"], np.int32),
                            "accBound": L["accBound"]})
    pmf = torch.softmax(model.z_logits.detach().double(), dim=1).numpy()
    z_cdfs = np.concatenate([cdf_from_pmf(p) for p in pmf])
    sigmas = model.scale_table()
    radii = [radius_of(s) for s in sigmas]
    y_cdfs = np.concatenate([cdf_from_pmf(gaussian_pmf(s, r)) for s, r in zip(sigmas, radii)])
    f32 = lambda t: [float(np.float32(v)) for v in t]  # noqa: E731
    meta = {
        "format": FORMAT, "name": cfg["name"], "levels": model.levels, "latent": int(model.log_gain.shape[1]),
        "hyperLatent": int(model.z_logits.shape[0]), "zmax": model.zmax, "probBits": PROB_BITS, "stride": 16, "hyperStride": 64,
        "gains": [f32(torch.exp(g).tolist()) for g in model.log_gain.detach()],
        "invGains": [f32(torch.exp(g).tolist()) for g in model.log_inv_gain.detach()],
        "layers": meta_layers,
        "zCdfs": blob.add(z_cdfs, np.uint32),
        "sigmas": sigmas, "radii": radii, "yCdfs": blob.add(y_cdfs, np.uint32),
        "lambdas": cfg["lambdas"],
    }
    head = json.dumps(meta, separators=(",", ":")).encode()
    head += b" " * ((-(len(head) + 8)) % 4)
    with open(path, "wb") as f:
        f.write(b"AICT" + struct.pack("<I", len(head)) + head + b"".join(blob.parts))
    return layers


class SubPixel(torch.nn.Module):
    """A ConvTranspose2d(k=5, stride=2, padding=2, output_padding=1) rewritten, exactly, as a
    3x3 convolution to 4x the channels and a depth-to-space (PixelShuffle): output pixel
    (2i + a, 2j + b) only sees kernel taps of parity (a, b), so each of the four phases is a 3x3
    convolution of the input. Same numbers (to float rounding), but onnxruntime's Conv is much
    faster than its ConvTranspose on CPU."""

    def __init__(self, deconv):
        super().__init__()
        w = deconv.weight.detach()  # in x out x 5 x 5
        cin, cout = w.shape[0], w.shape[1]
        # taps for phase 0 at offsets -1, 0, +1: w[4], w[2], w[0]; phase 1: none, w[3], w[1]
        taps = {0: [4, 2, 0], 1: [None, 3, 1]}
        k = torch.zeros(cout, 2, 2, cin, 3, 3, dtype=w.dtype)
        for a in (0, 1):
            for b in (0, 1):
                for dy, ky in enumerate(taps[a]):
                    for dx, kx in enumerate(taps[b]):
                        if ky is not None and kx is not None:
                            k[:, a, b, :, dy, dx] = w[:, :, ky, kx].t()
        self.conv = torch.nn.Conv2d(cin, 4 * cout, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.copy_(k.reshape(4 * cout, cin, 3, 3))
            self.conv.bias.copy_(deconv.bias.detach().repeat_interleave(4))
        self.shuffle = torch.nn.PixelShuffle(2)

    def forward(self, x):
        return self.shuffle(self.conv(x))


def subpixel_synthesis(g_s):
    """g_s with every transposed convolution replaced by its SubPixel equivalent, checked."""
    import copy
    out = copy.deepcopy(g_s)
    layers = list(out.net)
    for i, layer in enumerate(layers):
        if isinstance(layer, torch.nn.ConvTranspose2d):
            layers[i] = SubPixel(layer)
    out.net = torch.nn.Sequential(*layers)
    probe = torch.randn(1, layers[0].conv.in_channels, 5, 7)
    diff = (out(probe) - g_s(probe)).abs().max().item()
    if diff > 1e-4:
        sys.exit(f"export_image_codec: the sub-pixel synthesis differs from the trained one by {diff}")
    return out, diff


def export_onnx(module, dummy, path, opset, names, max_bytes=MAX_ONNX_BYTES, weights="fp32"):
    """Exports `module` to `path`; with weights "fp16" or "int8", rewrites its weights so
    (compress_weights.py: float16 with a Cast, or int8 per output channel with a DequantizeLinear);
    the size limit applies to the file as written."""
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    inp, out = names
    torch.onnx.export(module, dummy, path, opset_version=opset, input_names=[inp], output_names=[out],
                      dynamic_axes={inp: {2: "h", 3: "w"}, out: {2: "H", 3: "W"}}, **legacy)
    if weights != "fp32":
        from compress_weights import compress_file
        compress_file(path, weights)
    size = os.path.getsize(path)
    if size > max_bytes:
        sys.exit(f"export_image_codec: {path} is {size} bytes, over the {max_bytes}-byte limit for shipped models (the config's max_model_bytes)")
    return size


def export(model, cfg, out_dir, sample_path):
    """Writes the four files and the fixture into out_dir; returns what the summary records."""
    model.eval()
    m = model.log_gain.shape[1]
    sizes = {}
    # a config may allow bigger files (image-codec-big.json, fp32: about 6 MB for its analysis) for
    # evaluation; what ships is held to issue 16's 4 MB decoder, which needs fp16 or int8 weights
    cap = int(cfg.get("max_model_bytes", MAX_ONNX_BYTES))
    # the config's "weights": "fp32" (default), "fp16" or "int8" for the three ONNX files
    # (bench/aic/codec-weights.mjs measured what each costs: docs/aic.md "Smaller weights")
    weights = cfg.get("weights", "fp32")
    if weights not in ("fp32", "fp16", "int8"):
        sys.exit(f"export_image_codec: the config's weights must be fp32, fp16 or int8, got {weights!r}")
    with torch.no_grad():
        sizes["analysis"] = export_onnx(model.g_a, torch.rand(1, 3, 128, 192), os.path.join(out_dir, FILES["analysis"]), cfg["opset"], IO["analysis"], cap, weights)
        sizes["hyper-analysis"] = export_onnx(model.h_a, torch.randn(1, m, 8, 12), os.path.join(out_dir, FILES["hyper-analysis"]), cfg["opset"], IO["hyper-analysis"], cap, weights)
        synthesis, subpixel_diff = subpixel_synthesis(model.g_s)
        sizes["synthesis"] = export_onnx(synthesis, torch.randn(1, m, 8, 12), os.path.join(out_dir, FILES["synthesis"]), cfg["opset"], IO["synthesis"], cap, weights)
        layers = write_tables(model, cfg, os.path.join(out_dir, FILES["tables"]))
        sizes["tables"] = os.path.getsize(os.path.join(out_dir, FILES["tables"]))
        # fixture: z_hat of a held-out image at the middle level, and random z_hat over the whole range
        img = torch.from_numpy(np.array(Image.open(sample_path).convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        img = F.pad(img, (0, max(0, 256 - img.shape[3]), 0, max(0, 192 - img.shape[2])), mode="replicate")[:, :, :192, :256]
        q = model.levels // 2
        z = model.h_a(model.g_a(img) * torch.exp(model.log_gain[q])[None, :, None, None])
        z_image = torch.floor(z + 0.5).clamp(-model.zmax, model.zmax)
        gen = torch.Generator().manual_seed(cfg["seed"])
        z_random = torch.randint(-model.zmax, model.zmax + 1, (1, z.shape[1], 2, 3), generator=gen).double()
        cases, agree, total = [], 0, 0
        for label, zh in (("held-out image, level %d" % q, z_image), ("uniform random z_hat", z_random)):
            ref = int_reference(layers, zh)
            sim = model.h_s(zh.float())
            agree += (sim.long() == ref).sum().item()
            total += ref.numel()
            cases.append({"label": label, "zShape": list(zh.shape[1:]), "z": [int(v) for v in zh.flatten().tolist()],
                          "indices": [int(v) for v in ref.flatten().tolist()]})
    tables_sha = hashlib.sha256(open(os.path.join(out_dir, FILES["tables"]), "rb").read()).hexdigest()
    with open(os.path.join(out_dir, "hyper-fixture.json"), "w") as f:
        json.dump({"tablesSha256": tables_sha, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    model.train()
    return {"files": FILES, "bytes": sizes, "weights": weights, "tablesSha256": tables_sha,
            "intAgreement": round(agree / total, 6), "accBounds": [L["accBound"] for L in layers], "subpixelMaxDiff": subpixel_diff}


if __name__ == "__main__":
    import argparse
    from image_codec import ImageCodec
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sample", required=True, help="an image for the fixture (a held-out still)")
    a = ap.parse_args()
    legacy = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    ck = torch.load(a.checkpoint, map_location="cpu", **legacy)
    net = ImageCodec(ck["config"])
    net.load_state_dict(ck["model"])
    os.makedirs(a.out, exist_ok=True)
    print(json.dumps(export(net, ck["config"], a.out, a.sample), indent=1))
