#!/usr/bin/python3
"""Exports a shipped tool-1 enhancer for the adaptive mode (issue 20, docs/aic-adaptive.md): the
same network, with its tail's weights as inputs and two more outputs, so that

  - the receiver runs it with the tail the sender last sent (a WeightUpdate), swapping the input
    tensors between frames (the update applies atomically, from the next frame on);
  - the sender runs it on its own reduced frames and gets what its ridge refit (TailFitter in
    packages/aic/src/tail-fit.ts) needs: `features`, the body's output (the tail's input), and
    `base`, the skip path's output that the tail's output is added to.

Inputs: `low` (N x 3 x h x w, as the shipped model), `tail_weight` (out x C x k x k), `tail_bias`
(out). Outputs: `restored` (as the shipped model), `features` (N x C x h x w), `base`
(N x out x blocksHigh x blocksWide). With the shipped tail as inputs it computes what the shipped
model computes (test/adaptive.test.ts checks it on onnxruntime-node). The shipped tail is written
beside it as float32 little-endian (weight, then bias): `<name>-adaptive.tail.bin`.

  /usr/bin/python3 packages/aic/training/export_adaptive.py --name enhancer-x2-fast
  /usr/bin/python3 packages/aic/training/export_adaptive.py --name enhancer-x1.5-fast

It reads training/checkpoints/<name>.pt (what ship_model.py copied beside the shipped model) and
writes models/<name>-adaptive.onnx; the manifest entry of <name> gets an "adaptive" object (its
file, bytes, SHA-256, the tail's geometry and file).
"""
import argparse
import hashlib
import inspect
import json
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from enhancer import Enhancer  # noqa: E402

MODELS = os.path.join(HERE, "..", "models")


class AdaptiveEnhancer(nn.Module):
    """The shipped network with its tail's weights as inputs; also returns the features and the base."""

    def __init__(self, model):
        super().__init__()
        if model.upsample != "bicubic-conv":
            raise ValueError(f"the adaptive export needs a bicubic-conv model, got {model.upsample!r}")
        self.m = model

    def forward(self, low, tail_weight, tail_bias):
        m = self.m
        y = m.head(low)
        y = m.body(y) + y
        base = m.skip(low)
        tail = F.conv2d(y, tail_weight, tail_bias, stride=m.tail.stride, padding=m.tail.padding)
        return torch.clamp(m.shuffle(base + tail), 0.0, 1.0), y, base


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True, help="a shipped enhancer's name (models/manifest.json)")
    ap.add_argument("--checkpoints", default=os.path.join(HERE, "checkpoints"))
    ap.add_argument("--models", default=MODELS)
    args = ap.parse_args()

    manifest_path = os.path.join(args.models, "manifest.json")
    manifest = json.load(open(manifest_path))
    entry = next((m for m in manifest["models"] if m["name"] == args.name), None)
    if entry is None or entry.get("tool") != "enhance":
        sys.exit(f"export_adaptive: {args.name} is not a shipped enhancer in {manifest_path}")
    legacy = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    ckpt = torch.load(os.path.join(args.checkpoints, f"{args.name}.pt"), map_location="cpu", **legacy)
    cfg = ckpt["config"]
    model = Enhancer(scale=cfg["scale"], channels=cfg["channels"], blocks=cfg["blocks"], upsample=cfg["upsample"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    adaptive = AdaptiveEnhancer(model).eval()

    tail = model.tail
    block = model.block
    low = torch.rand(1, 3, 36 * block, 64 * block)
    with torch.no_grad():
        expected = model(low)
        restored, _, _ = adaptive(low, tail.weight, tail.bias)
    if not torch.allclose(restored, expected, atol=1e-6):
        sys.exit("export_adaptive: the adaptive network does not compute what the shipped one does")

    onnx_name = f"{args.name}-adaptive.onnx"
    tail_name = f"{args.name}-adaptive.tail.bin"
    onnx_path = os.path.join(args.models, onnx_name)
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(adaptive, (low, tail.weight.detach(), tail.bias.detach()), onnx_path, opset_version=cfg.get("opset", 17),
                      input_names=["low", "tail_weight", "tail_bias"], output_names=["restored", "features", "base"],
                      dynamic_axes={"low": {2: "h", 3: "w"}, "restored": {2: "H", 3: "W"}, "features": {2: "h", 3: "w"}, "base": {2: "bh", 3: "bw"}},
                      **legacy)
    import numpy as np
    with open(os.path.join(args.models, tail_name), "wb") as f:
        f.write(np.concatenate([tail.weight.detach().numpy().ravel(), tail.bias.detach().numpy().ravel()]).astype("<f4").tobytes())

    entry["adaptive"] = {
        "file": onnx_name,
        "bytes": os.path.getsize(onnx_path),
        "sha256": sha256(onnx_path),
        "inputs": ["low", "tail_weight", "tail_bias"],
        "outputs": ["restored", "features", "base"],
        "tail": {
            "file": tail_name,
            "bytes": os.path.getsize(os.path.join(args.models, tail_name)),
            "sha256": sha256(os.path.join(args.models, tail_name)),
            "channels": tail.in_channels, "outChannels": tail.out_channels,
            "kernel": tail.kernel_size[0], "stride": tail.stride[0], "padding": tail.padding[0],
            "shuffle": model.shuffle.upscale_factor,
        },
        "torch": torch.__version__,
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"export_adaptive: wrote models/{onnx_name} ({entry['adaptive']['bytes']} bytes) and models/{tail_name}; manifest entry of {args.name} updated")


if __name__ == "__main__":
    main()
