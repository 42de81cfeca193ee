#!/usr/bin/python3
"""Writes packages/aic/test/fixtures/tail-fit.json: PyTorch's own convolution and pixel unshuffle
on small random tensors, for test/tail-fit.test.ts to check that TailFitter reads features and
weights in PyTorch's (and so the exported ONNX model's) order. Two geometries: the 2x tail (3x3,
stride 1, padding 1, 12 outputs) and the 1.5x tail (4x4, stride 2, padding 1, 27 outputs).

  /usr/bin/python3 packages/aic/training/make_tail_fit_fixture.py
"""
import json
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "tail-fit.json")


def flat(t):
    return [round(float(v), 7) for v in t.flatten()]


def case(channels, out_channels, kernel, stride, padding, h, w, gen):
    feats = torch.rand(1, channels, h, w, generator=gen) * 2 - 1
    weight = (torch.rand(out_channels, channels, kernel, kernel, generator=gen) - 0.5) * 0.2
    bias = (torch.rand(out_channels, generator=gen) - 0.5) * 0.1
    tail = F.conv2d(feats, weight, bias, stride=stride, padding=padding)[0]
    base = torch.rand(tail.shape, generator=gen)
    return {
        "geometry": {"channels": channels, "outChannels": out_channels, "kernel": kernel, "stride": stride, "padding": padding},
        "height": h, "width": w, "blocksHigh": tail.shape[1], "blocksWide": tail.shape[2],
        "features": flat(feats), "weight": flat(weight), "bias": flat(bias),
        "base": flat(base), "target": flat(base + tail),
    }


def main():
    gen = torch.Generator().manual_seed(20261205)
    rgb = torch.rand(1, 3, 9, 12, generator=gen)
    fixture = {
        "what": "PyTorch conv2d and pixel_unshuffle on random tensors (make_tail_fit_fixture.py); torch " + torch.__version__,
        "x2": case(8, 12, 3, 1, 1, 12, 10, gen),
        "x1_5": case(8, 27, 4, 2, 1, 36, 32, gen),
        "unshuffle": {"height": 9, "width": 12, "out": 3, "rgb": flat(rgb), "unshuffled": flat(F.pixel_unshuffle(rgb, 3))},
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {os.path.relpath(OUT, os.path.join(HERE, '..', '..', '..'))}")


if __name__ == "__main__":
    main()
