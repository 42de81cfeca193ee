#!/usr/bin/python3
"""Runs a tool-1 checkpoint in PyTorch on one raw RGBA frame and writes the restored RGBA frame:
the reference that AIC's runtimes (onnxruntime-node today) are checked against.

  /usr/bin/python3 packages/aic/training/reference_output.py --checkpoint packages/aic/training/checkpoints/enhancer-x2.pt \\
      --input low.rgba --width 320 --height 180 --output restored.rgba

Same arithmetic as the runtime's frame conversion: bytes / 255 in, clamp to [0, 1], x 255 and
round half to even out, alpha 255.
"""
import argparse
import inspect
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from enhancer import Enhancer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--height", type=int, required=True)
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    legacy = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    ckpt = torch.load(args.checkpoint, map_location="cpu", **legacy)
    cfg = ckpt["config"]
    model = Enhancer(cfg["scale"], cfg["channels"], cfg["blocks"], cfg.get("upsample", "bicubic"))
    model.load_state_dict(ckpt["model"])
    model.eval()
    rgba = np.fromfile(args.input, dtype=np.uint8)
    if rgba.size != args.width * args.height * 4:
        sys.exit(f"reference_output: {args.input} has {rgba.size} bytes, expected {args.width} x {args.height} x 4")
    x = torch.from_numpy(rgba.reshape(args.height, args.width, 4)[:, :, :3].astype(np.float32) / 255).permute(2, 0, 1)[None]
    torch.set_num_threads(1)
    with torch.no_grad():
        y = model(x)[0].permute(1, 2, 0).numpy()
    out = np.full((y.shape[0], y.shape[1], 4), 255, dtype=np.uint8)
    out[:, :, :3] = np.rint(np.clip(y, 0, 1) * 255).astype(np.uint8)
    out.tofile(args.output)


if __name__ == "__main__":
    main()
