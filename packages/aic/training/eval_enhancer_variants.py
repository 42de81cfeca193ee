#!/usr/bin/env python3
"""Quality of tool-1 enhancer variants (ONNX files, run by onnxruntime's Python CPU provider) on
the held-out validation pairs that training reports on, beside plain bicubic.

  python=$(bash packages/aic/training/setup_ort_venv.sh)
  "$python" packages/aic/training/eval_enhancer_variants.py --scale 2 \
      --model standard=packages/aic/models/enhancer-x2.onnx --model int8=.auralink/aic-quant/x2-qdq.onnx ... \
      [--frames 60] [--out .auralink/aic-quant/eval-x2.json]

The frames are those train_enhancer.py's evaluate() picks (up to --frames spread evenly over the
"val" pairs at --scale, 60 by default, so that the first model's PSNR reproduces the manifest's
valPsnr), cropped to scale x the low size. Reported per model: PSNR (RGB, from the mean squared
error over all the frames, as training reports it), mean SSIM of BT.601 luma (11x11 Gaussian,
sigma 1.5: train_enhancer.ssim_of_luma), and each against bicubic and against the first model.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train_enhancer import load_pairs, psnr_of_mse, ssim_of_luma, to_tensor  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, required=True)
    ap.add_argument("--model", action="append", required=True, metavar="LABEL=PATH",
                    help="a model to measure; the first is the reference the others are compared with")
    ap.add_argument("--data", default=".auralink/aic-data")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--out", help="write the result as JSON here too")
    args = ap.parse_args()
    import onnxruntime

    models = []
    for m in args.model:
        label, sep, path = m.partition("=")
        if not sep or not os.path.exists(path):
            sys.exit(f"eval_enhancer_variants: --model wants LABEL=PATH of an existing file, got {m!r}")
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = 1
        models.append((label, path, onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])))
    pairs = load_pairs(args.data, "val", args.scale)
    if not pairs:
        sys.exit(f"eval_enhancer_variants: no val pairs at scale {args.scale} in {args.data}")
    picked = pairs[:: max(1, len(pairs) // args.frames)][:args.frames]
    sse = {label: 0.0 for label, _, _ in models} | {"bicubic": 0.0}
    ssim = {k: [] for k in sse}
    with torch.no_grad():
        for low_path, ref_path in picked:
            low, ref = to_tensor(low_path)[None], to_tensor(ref_path)[None]
            h, w = round(low.shape[2] * args.scale), round(low.shape[3] * args.scale)
            ref = ref[:, :, :h, :w]
            outs = {"bicubic": torch.clamp(F.interpolate(low, scale_factor=args.scale, mode="bicubic", align_corners=False), 0, 1)}
            for label, _, sess in models:
                outs[label] = torch.from_numpy(sess.run(None, {"low": low.numpy()})[0])[:, :, :h, :w]
            for k, out in outs.items():
                sse[k] += F.mse_loss(out, ref).item()
                ssim[k].append(ssim_of_luma(out, ref).item())
    n = len(picked)
    first = models[0][0]
    res = {"scale": args.scale, "frames": n, "valPairs": len(pairs), "metric": "PSNR: RGB, from the mean MSE over the frames; SSIM: BT.601 luma, mean over the frames", "models": {}}
    for k in [label for label, _, _ in models] + ["bicubic"]:
        p, s = psnr_of_mse(sse[k] / n), float(np.mean(ssim[k]))
        res["models"][k] = {"psnr": round(p, 3), "ssim": round(s, 5)}
    pb, sb = res["models"]["bicubic"]["psnr"], res["models"]["bicubic"]["ssim"]
    pf, sf = res["models"][first]["psnr"], res["models"][first]["ssim"]
    for label, path, _ in models:
        r = res["models"][label]
        r |= {"file": os.path.relpath(os.path.abspath(path)), "bytes": os.path.getsize(path),
              "psnrGainOverBicubic": round(r["psnr"] - pb, 3), "ssimGainOverBicubic": round(r["ssim"] - sb, 5),
              f"psnrVs_{first}": round(r["psnr"] - pf, 3), f"ssimVs_{first}": round(r["ssim"] - sf, 5)}
    print(json.dumps(res, indent=1))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
