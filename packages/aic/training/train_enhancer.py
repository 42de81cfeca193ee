#!/usr/bin/python3
"""Trains tool 1 (the enhancement network) on prepare_data.py's VP8 pairs and exports ONNX.

  /usr/bin/python3 packages/aic/training/train_enhancer.py --config packages/aic/training/configs/enhancer-x2.json
  ... --data .auralink/aic-data --runs .auralink/aic-runs [--minutes 20] [--resume | --resume-from FILE] [--smoke]
  ... --config packages/aic/training/configs/enhancer-x1.5.json --init-from packages/aic/training/checkpoints/enhancer-x2.pt
  ... --config packages/aic/training/configs/enhancer-x1.5-fast.json --init-from .../enhancer-x2-fast.pt --init-from .../enhancer-x1.5.pt
      (several --init-from: each fills the tensors that match and that no earlier file gave)

Reproducible: the config's seed fixes initialisation and patch sampling. Progress with ETA on
stderr; one JSON line per log step in <runs>/<name>/log.jsonl; a checkpoint every 50 steps and
at the end (<runs>/<name>/checkpoint.pt), which --resume continues from, so training can add up
over many sessions. At the end: validation PSNR of the network next to plain bicubic on the
held-out pairs, and an ONNX export (opset from the config) of at most 2 MB.
"""
import argparse
import inspect
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from enhancer import SCALES, Enhancer, parameter_count  # noqa: E402

MAX_ONNX_BYTES = 2 * 1024 * 1024


def load_pairs(data, split, scale):
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    pairs = []
    for item in manifest["items"]:
        if item["kind"] != "pair" or item["split"] != split or abs(item["scale"] - scale) > 1e-6:
            continue
        base = os.path.join(data, item["file"])
        for f in sorted(os.listdir(os.path.join(base, "ref"))):
            pairs.append((os.path.join(base, "low", f), os.path.join(base, "ref", f)))
    return pairs


def to_tensor(path):
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)


def to_bytes(path):
    """The frame as a 3 x H x W uint8 tensor: a quarter of the memory of floats."""
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"), dtype=np.uint8)).permute(2, 0, 1).contiguous()


class Patches:
    """Random aligned crops: a p x p patch of the low frame and the (p*scale) patch it restores.
    At 1.5x the patch starts on even pixels (p even), so it holds whole 2x2 blocks, each of which
    restores a 3x3 block. Every pair is decoded once, up front, and kept as bytes (a few GB for
    the full data set): decoding PNGs per step would cost more than the training step itself."""

    def __init__(self, pairs, scale, patch, rng):
        self.out, self.inp = SCALES[scale]
        if patch % self.inp:
            raise ValueError(f"patch must be a multiple of {self.inp} at scale {scale}, got {patch}")
        self.scale, self.patch, self.rng = scale, patch, rng
        self.frames = []
        t0 = time.time()
        for i, (low, ref) in enumerate(pairs):
            self.frames.append((to_bytes(low), to_bytes(ref)))
            if (i + 1) % 200 == 0 or i + 1 == len(pairs):
                eta = (time.time() - t0) / (i + 1) * (len(pairs) - i - 1)
                sys.stderr.write(f"loading pairs {i + 1}/{len(pairs)} ETA {eta:4.0f}s\n")

    def batch(self, n):
        lows, refs = [], []
        for _ in range(n):
            low, ref = self.frames[self.rng.randrange(len(self.frames))]
            _, h, w = low.shape
            # low frames are ref / scale rounded down to even sizes: stay inside both; positions
            # in blocks of `inp` low pixels (1 at 2x, 2 at 1.5x), which restore `out` pixels each
            o, i, p = self.out, self.inp, self.patch
            h = min(h, ref.shape[1] * i // o) // i
            w = min(w, ref.shape[2] * i // o) // i
            by, bx = self.rng.randrange(h - p // i + 1), self.rng.randrange(w - p // i + 1)
            lows.append(low[:, by * i:by * i + p, bx * i:bx * i + p])
            refs.append(ref[:, by * o:by * o + p * o // i, bx * o:bx * o + p * o // i])
        return torch.stack(lows).float() / 255.0, torch.stack(refs).float() / 255.0


_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def _gaussian_window(size=11, sigma=1.5):
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


_WINDOW = _gaussian_window()


def ssim_of_luma(a, b):
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03) of the
    BT.601 luma of two N x 3 x H x W batches in [0, 1]: the quality AIC's benchmarks report."""
    ya, yb = (a * _LUMA).sum(1, keepdim=True), (b * _LUMA).sum(1, keepdim=True)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_a, mu_b = F.conv2d(ya, _WINDOW), F.conv2d(yb, _WINDOW)
    var_a = F.conv2d(ya * ya, _WINDOW) - mu_a ** 2
    var_b = F.conv2d(yb * yb, _WINDOW) - mu_b ** 2
    cov = F.conv2d(ya * yb, _WINDOW) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.mean()


def restoration_loss(out, ref, ssim_weight):
    """(1 - w) * L1 (RGB) + w * (1 - SSIM of luma), the mixed loss of Zhao et al. 2017 (config
    "ssim_weight"; 0: L1 alone). Round 2 tried w = 0.8 against L1's slightly lower SSIM than
    bicubic's, and it did worse on held-out clips in both PSNR and SSIM (docs/aic-changelog.md)."""
    l1 = F.l1_loss(out, ref)
    if not ssim_weight:
        return l1
    return (1 - ssim_weight) * l1 + ssim_weight * (1 - ssim_of_luma(out, ref))


def learning_rate(cfg, step):
    """The config's lr, halved every lr_half_steps steps (if set), never below lr_min: a function
    of the step alone, so a resumed run continues the same schedule."""
    half = cfg.get("lr_half_steps")
    if not half:
        return cfg["lr"]
    return max(cfg.get("lr_min", 0.0), cfg["lr"] * 0.5 ** (step / half))


def psnr_of_mse(mse):
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def evaluate(model, pairs, scale, limit):
    """PSNR (RGB, [0,1]) of the network and of bicubic upscaling over up to `limit` held-out
    frames spread evenly over the pairs, from the mean squared error of all of them (a clip's
    black frames then weigh as little as they should, instead of making one frame infinite)."""
    if not pairs:
        return float("nan"), float("nan")
    picked = pairs[:: max(1, len(pairs) // limit)][:limit]
    model.eval()
    net, bic = 0.0, 0.0
    with torch.no_grad():
        for low_path, ref_path in picked:
            low, ref = to_tensor(low_path)[None], to_tensor(ref_path)[None]
            h, w = round(low.shape[2] * scale), round(low.shape[3] * scale)
            ref = ref[:, :, :h, :w]
            net += F.mse_loss(model(low)[:, :, :h, :w], ref).item()
            bicubic = torch.clamp(F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False), 0, 1)
            bic += F.mse_loss(bicubic, ref).item()
    model.train()
    return psnr_of_mse(net / len(picked)), psnr_of_mse(bic / len(picked))


def save_checkpoint(path, model, opt, step, rng, cfg):
    """Written to a temporary file and renamed: a run stopped mid-save keeps its last checkpoint."""
    tmp = f"{path}.tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng.getstate(), "config": cfg}, tmp)
    os.replace(tmp, path)


def export_onnx(model, path, opset):
    model.eval()
    dummy = torch.rand(1, 3, 180, 320)
    # torch 2.9+ defaults to the torch.export-based exporter, which needs onnxscript (not on this
    # machine); the TorchScript exporter gives the same graph for these convolutional models
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, dummy, path, opset_version=opset, input_names=["low"], output_names=["restored"],
                      dynamic_axes={"low": {2: "h", 3: "w"}, "restored": {2: "H", 3: "W"}}, **legacy)
    size = os.path.getsize(path)
    if size > MAX_ONNX_BYTES:
        sys.exit(f"train_enhancer: {path} is {size} bytes, over the {MAX_ONNX_BYTES}-byte limit for shipped models")
    return size


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", default=".auralink/aic-data")
    ap.add_argument("--runs", default=".auralink/aic-runs")
    ap.add_argument("--minutes", type=float, help="training time budget (default: the config's)")
    ap.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    ap.add_argument("--resume-from", metavar="PATH", help="continue from this checkpoint file (e.g. a committed one)")
    ap.add_argument("--init-from", metavar="PATH", action="append",
                    help="start a new run from another model's checkpoint: every weight whose name and shape match "
                         "(e.g. the 2x model's head and body for the 1.5x one); a fresh optimiser, step 0. May be "
                         "given more than once: a later file gives only what the earlier ones did not")
    ap.add_argument("--threads", type=int, help="torch threads (default: the config's \"threads\", else all cores)")
    ap.add_argument("--smoke", action="store_true", help="a few steps on whatever data there is, for CI")
    args = ap.parse_args()
    if args.init_from and (args.resume or args.resume_from):
        sys.exit("train_enhancer: --init-from starts a new run; it does not go with --resume or --resume-from")

    cfg = json.load(open(args.config))
    for key in ("name", "scale", "channels", "blocks", "patch", "batch", "lr", "seed", "minutes", "opset"):
        if key not in cfg:
            sys.exit(f"train_enhancer: {args.config} lacks \"{key}\"")
    if cfg["scale"] not in SCALES:
        sys.exit(f"train_enhancer: {args.config}: scale must be one of {sorted(SCALES)}, got {cfg['scale']}")
    if args.smoke:
        cfg.update(patch=24, batch=4, blocks=1, channels=8)
    torch.manual_seed(cfg["seed"])
    rng = random.Random(cfg["seed"])
    threads = args.threads or cfg.get("threads") or os.cpu_count() or 1
    if threads < 1:
        sys.exit(f"train_enhancer: --threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)

    train = load_pairs(args.data, "train", cfg["scale"])
    val = load_pairs(args.data, "val", cfg["scale"])
    if not train:
        sys.exit(f"train_enhancer: no training pairs at scale {cfg['scale']} in {args.data}: run prepare_data.py first")
    run_dir = os.path.join(args.runs, cfg["name"])
    os.makedirs(run_dir, exist_ok=True)
    model = Enhancer(cfg["scale"], cfg["channels"], cfg["blocks"], cfg.get("upsample", "bicubic"))
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    step = 0
    ckpt_path = os.path.join(run_dir, "checkpoint.pt")
    source = args.resume_from or (ckpt_path if args.resume and os.path.exists(ckpt_path) else None)
    if args.resume_from is not None and not os.path.exists(args.resume_from):
        sys.exit(f"train_enhancer: --resume-from {args.resume_from}: no such file")
    if source is not None:
        # our own checkpoints hold the sampler's RNG state next to the weights: not weights-only
        ckpt = torch.load(source, **({"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}))
        if ckpt.get("config", {}).get("name") != cfg["name"]:
            sys.exit(f"train_enhancer: {source} is a checkpoint of {ckpt.get('config', {}).get('name')}, not {cfg['name']}")
        keys = ("scale", "channels", "blocks", "upsample")
        shape = {k: ckpt["config"].get(k, "bicubic" if k == "upsample" else None) for k in keys}
        wanted = {k: cfg.get(k, "bicubic" if k == "upsample" else None) for k in keys}
        if shape != wanted:
            sys.exit(f"train_enhancer: {source} has {shape}, the run wants {wanted} (a --smoke run and a full run differ)")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        step = ckpt["step"]
        rng.setstate(ckpt["rng"])
        print(f"train_enhancer: resumed {cfg['name']} at step {step} from {source}", file=sys.stderr)
    elif args.init_from:
        own = model.state_dict()
        taken = {}
        for path in args.init_from:
            if not os.path.exists(path):
                sys.exit(f"train_enhancer: --init-from {path}: no such file")
            ckpt = torch.load(path, **({"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}))
            these = {k: v for k, v in ckpt["model"].items() if k in own and own[k].shape == v.shape and k not in taken}
            if not these:
                sys.exit(f"train_enhancer: --init-from {path}: no weight matches this network by name and shape"
                         + (" (beyond what the earlier files gave)" if taken else ""))
            taken |= these
            print(f"train_enhancer: {len(these)} of {len(own)} tensors from {path} "
                  f"(left as initialised: {', '.join(sorted(set(own) - set(taken))) or 'none'})", file=sys.stderr)
        model.load_state_dict(taken, strict=False)

    patches = Patches(train, cfg["scale"], cfg["patch"], rng)
    budget = 3.0 if args.smoke else 60.0 * (args.minutes if args.minutes is not None else cfg["minutes"])
    log = open(os.path.join(run_dir, "log.jsonl"), "a")
    t0 = time.time()
    last_log = 0.0
    first = step
    while time.time() - t0 < budget:
        for group in opt.param_groups:
            group["lr"] = learning_rate(cfg, step)
        low, ref = patches.batch(cfg["batch"])
        loss = restoration_loss(model(low), ref, cfg.get("ssim_weight", 0.0))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        elapsed = time.time() - t0
        if elapsed - last_log >= 1.0 or elapsed >= budget:
            last_log = elapsed
            lr = opt.param_groups[0]["lr"]
            sys.stderr.write(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {elapsed:5.0f}s ETA {max(0, budget - elapsed):5.0f}s\n")
            log.write(json.dumps({"step": step, "loss": loss.item(), "lr": lr, "seconds": round(elapsed, 1)}) + "\n")
        if step % 50 == 0:
            save_checkpoint(ckpt_path, model, opt, step, rng, cfg)
    save_checkpoint(ckpt_path, model, opt, step, rng, cfg)
    net_psnr, bicubic_psnr = evaluate(model, val, cfg["scale"], 8 if args.smoke else 60)
    onnx_path = os.path.join(run_dir, f"{cfg['name']}.onnx")
    size = export_onnx(model, onnx_path, cfg["opset"])
    summary = {"name": cfg["name"], "torch": torch.__version__, "steps": step, "stepsThisRun": step - first, "seconds": round(time.time() - t0, 1),
               "parameters": parameter_count(model), "valPsnr": round(net_psnr, 3), "valPsnrBicubic": round(bicubic_psnr, 3),
               "valFrames": min(len(val), 8 if args.smoke else 60), "onnx": onnx_path, "onnxBytes": size, "smoke": args.smoke,
               "threads": threads} | ({"initFrom": args.init_from[0] if len(args.init_from) == 1 else args.init_from} if args.init_from else {})
    log.write(json.dumps({"summary": summary}) + "\n")
    log.close()
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
