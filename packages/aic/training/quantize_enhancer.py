#!/usr/bin/env python3
"""Static int8 quantisation of a tool-1 enhancer with ONNX Runtime's own quantisation tools.

  python=$(bash packages/aic/training/setup_ort_venv.sh)
  "$python" packages/aic/training/quantize_enhancer.py --model packages/aic/models/enhancer-x2.onnx --scale 2 \
      --out .auralink/aic-quant/enhancer-x2-int8-qdq.onnx [--format qdq|qoperator] [--per-channel]
      [--activation uint8|int8] [--frames 64] [--keep-float skip]

Calibration: `--frames` low frames of the TRAINING pairs at `--scale` (prepare_data.py's
.auralink/aic-data, split "train"; never the held-out ones), picked with a fixed seed, fed
whole (320x180 at 2x, 426x240 at 1.5x), MinMax ranges. `--keep-float skip` leaves the bicubic
base (the Pad and the depthwise 5x5/6x6 convolution, the residual add, the pixel shuffle and the
clip) in float, so int8 only touches the residual branch. Writes the model and, beside it,
<out>.json with what was done (for ship_model.py --quantization).
Needs onnxruntime (the Python wheel, 1.30.0 here) and onnx: setup_ort_venv.sh installs them
from the local wheel folder into .auralink/aic-ort-venv; without them it says so and exits 3.
"""
import argparse
import hashlib
import json
import os
import random
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

# what --keep-float skip leaves in float: the bicubic base and everything after the residual add
FLOAT_TAIL_OPS = ("Pad", "DepthToSpace", "Clip")


def train_low_frames(data, scale):
    """Every low frame of the training split at `scale`, sorted (prepare_data.py's manifest)."""
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    frames = []
    for item in manifest["items"]:
        if item["kind"] != "pair" or item["split"] != "train" or abs(item["scale"] - scale) > 1e-6:
            continue
        low = os.path.join(data, item["file"], "low")
        frames += [os.path.join(low, f) for f in sorted(os.listdir(low))]
    return frames


def to_input(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return np.ascontiguousarray(a.transpose(2, 0, 1)[None])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="the float ONNX enhancer (input 'low', output 'restored')")
    ap.add_argument("--scale", type=float, required=True, help="its scale: 2 or 1.5 (which training pairs calibrate it)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=".auralink/aic-data")
    ap.add_argument("--format", choices=("qdq", "qoperator"), default="qdq")
    ap.add_argument("--per-channel", action="store_true", help="one weight scale per output channel")
    ap.add_argument("--activation", choices=("uint8", "int8"), default="uint8")
    ap.add_argument("--frames", type=int, default=64, help="calibration frames (default 64)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep-float", choices=("none", "skip"), default="none",
                    help="'skip': leave the bicubic base, the residual add, the shuffle and the clip in float")
    args = ap.parse_args()
    if args.frames < 1:
        sys.exit(f"quantize_enhancer: --frames must be at least 1, got {args.frames}")
    try:
        import onnx
        import onnxruntime
        from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    except ImportError as err:
        print(f"quantize_enhancer: onnxruntime's quantisation tools are not installed ({err}): "
              "run packages/aic/training/setup_ort_venv.sh and use the python it prints", file=sys.stderr)
        sys.exit(3)

    frames = train_low_frames(args.data, args.scale)
    if not frames:
        sys.exit(f"quantize_enhancer: no training pairs at scale {args.scale} in {args.data}: run prepare_data.py first")
    rng = random.Random(args.seed)
    picked = sorted(rng.sample(frames, min(args.frames, len(frames))))

    class Frames(CalibrationDataReader):
        def __init__(self):
            self.it = iter(picked)

        def get_next(self):
            path = next(self.it, None)
            return None if path is None else {"low": to_input(path)}

    model = onnx.load(args.model)
    exclude = []
    if args.keep_float == "skip":
        # the skip branch reads the input directly: its Pad and Conv; then the add that joins the
        # branches (its inputs are the skip conv's output and the tail's) and what follows it
        skip_convs = {n.name for n in model.graph.node if n.op_type == "Conv" and any(i.startswith("/skip/") for i in n.input)}
        skip_convs |= {n.name for n in model.graph.node if n.op_type == "Conv" and n.name.startswith("/skip/")}
        joins = {n.name for n in model.graph.node if n.op_type == "Add" and any(i.startswith("/skip/") for i in n.input)}
        exclude = sorted(skip_convs | joins | {n.name for n in model.graph.node if n.op_type in FLOAT_TAIL_OPS})
        if not skip_convs or not joins:
            sys.exit(f"quantize_enhancer: {args.model} has no /skip/ branch to keep in float")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    act = QuantType.QUInt8 if args.activation == "uint8" else QuantType.QInt8
    quantize_static(
        args.model, args.out, Frames(),
        quant_format=QuantFormat.QDQ if args.format == "qdq" else QuantFormat.QOperator,
        per_channel=args.per_channel, activation_type=act, weight_type=QuantType.QInt8,
        nodes_to_exclude=exclude, calibrate_method=CalibrationMethod.MinMax,
    )
    out = onnx.load(args.out)
    onnx.checker.check_model(out)
    ops = {}
    for n in out.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    facts = {
        "tool": f"onnxruntime.quantization.quantize_static (onnxruntime {onnxruntime.__version__})",
        "from": os.path.relpath(os.path.abspath(args.model)),
        "fromSha256": hashlib.sha256(open(args.model, "rb").read()).hexdigest(),
        "format": "QDQ" if args.format == "qdq" else "QOperator",
        "perChannel": args.per_channel,
        "weights": "int8",
        "activations": args.activation,
        "calibration": {"method": "MinMax", "frames": len(picked), "split": "train", "scale": args.scale, "seed": args.seed},
        "keptFloat": exclude,
        "ops": dict(sorted(ops.items())),
        "bytes": os.path.getsize(args.out),
    }
    with open(f"{args.out}.json", "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")
    print(json.dumps(facts, indent=1))


if __name__ == "__main__":
    main()
