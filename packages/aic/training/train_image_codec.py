#!/usr/bin/python3
"""Trains tool 2 (the learned image codec, image_codec.py) on prepare_data.py's training stills
and exports it for the TypeScript codec (export_image_codec.py).

  python packages/aic/training/train_image_codec.py --config packages/aic/training/configs/image-codec.json
  ... --data .auralink/aic-data --runs .auralink/aic-runs [--minutes 50] [--resume | --resume-from FILE] [--smoke]
      [--steps N] [--trace FILE]   (stop at step N; one JSON line per step: the loss parts, gradient norms, latent ranges)
      [--device auto|cpu|cuda]     (auto: CUDA when torch sees a GPU, else the CPU)
      [--no-export]                (evaluate, but export nothing: a GPU run's checkpoint is exported on
                                    the CPU later, by resuming it with --steps at its own step)
      [--weights-out DIR]          (with every checkpoint, the weights as shards of at most 15 MiB and
                                    weights.json, which --resume-from DIR takes: what a GPU run hands back)

One model serves every quality level: each step trains one level (round robin over the config's
lambdas) with the loss  bits / pixels + lambda * 255^2 * MSE  (RGB in [0, 1]). Reproducible: the
config's seed fixes initialisation, crops and noise; torch runs on `threads` threads (1 here: the
machine's other core is shared). Progress with ETA on stderr; one JSON line per log step in
<runs>/<name>/log.jsonl; a checkpoint every 100 steps and at the end (checkpoint.pt), which
--resume continues, so training adds up over sessions. At the end: held-out bits per pixel and
PSNR at every level (from the exact discrete likelihoods of the rounded latents, the bits the
TypeScript coder spends within a fraction of a percent), and the export: three ONNX models
(opset 17), the integer hyper-synthesis and the CDF tables (tables.bin), and the TypeScript test
fixture.
"""
import argparse
import copy
import fcntl
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
from image_codec import ImageCodec, parameter_count  # noqa: E402
import export_image_codec  # noqa: E402

REQUIRED = ("name", "channels", "latent", "hyper_channels", "hyper_latent", "lambdas", "zmax", "scales",
            "scale_min", "scale_max", "patch", "batch", "lr", "seed", "minutes", "opset")
# the parts of the config that shape the network: a checkpoint only resumes a run that agrees on them
SHAPE = ("channels", "latent", "hyper_channels", "hyper_latent", "lambdas", "zmax", "scales", "scale_min", "scale_max")


def load_stills(data, split):
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    return [os.path.join(data, i["file"]) for i in manifest["items"] if i["kind"] == "still" and i["split"] == split]


def to_bytes(path):
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"), dtype=np.uint8)).permute(2, 0, 1).contiguous()


class Crops:
    """Random p x p crops (flipped half the time) of the training stills, decoded once up front;
    a still smaller than p on a side is padded by reflection (in rounds: one round reflects at most
    its own size less one, and a 256 crop needs more than that of a 97-pixel still)."""

    def __init__(self, paths, patch, rng):
        self.patch, self.rng = patch, rng
        self.images = []
        for path in paths:
            img = to_bytes(path)
            if min(img.shape[1], img.shape[2]) < 2:
                sys.exit(f"train_image_codec: {path} is {img.shape[2]}x{img.shape[1]}: too small to crop")
            while img.shape[1] < patch or img.shape[2] < patch:
                _, h, w = img.shape
                img = F.pad(img[None].float(), (0, min(max(0, patch - w), w - 1), 0, min(max(0, patch - h), h - 1)), mode="reflect")[0].to(torch.uint8)
            self.images.append(img)

    def batch(self, n):
        out = []
        for _ in range(n):
            img = self.images[self.rng.randrange(len(self.images))]
            _, h, w = img.shape
            y, x = self.rng.randrange(h - self.patch + 1), self.rng.randrange(w - self.patch + 1)
            crop = img[:, y:y + self.patch, x:x + self.patch]
            if self.rng.random() < 0.5:
                crop = crop.flip(2)
            out.append(crop)
        return torch.stack(out).float() / 255.0


def pad64(x):
    """Edge-replicates a 1 x 3 x H x W tensor to multiples of 64, as the TypeScript encoder does."""
    h, w = x.shape[2], x.shape[3]
    return F.pad(x, (0, (-w) % 64, 0, (-h) % 64), mode="replicate")


def pick_device(choice):
    """The torch device of a run: 'auto' is CUDA when torch sees a GPU, else the CPU. On CUDA,
    TF32 matmuls and convolutions (10-bit mantissas in the products, fp32 sums): the transforms
    train as well in it, and the rate terms are computed from fp32 results."""
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda":
        if not torch.cuda.is_available():
            sys.exit("train_image_codec: --device cuda, but torch sees no GPU here")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return torch.device(choice)


def evaluate(model, paths, max_side):
    """Per level: bits per pixel (exact discrete likelihoods of y_hat and z_hat) and PSNR (RGB),
    from the totals over the held-out stills (each cut to max_side to bound the time), on the
    model's device."""
    model.eval()
    device = next(model.parameters()).device
    results = []
    images = []
    for p in paths:
        x = to_bytes(p).float()[None] / 255.0
        images.append(x[:, :, :max_side, :max_side].to(device))
    with torch.no_grad():
        for q in range(model.levels):
            bits, pixels, se, n = 0.0, 0, 0.0, 0
            for x in images:
                h, w = x.shape[2], x.shape[3]
                x_hat, by, bz = model(pad64(x), q, noise=False)
                x_hat = x_hat[:, :, :h, :w].clamp(0, 1)
                x_hat = torch.floor(x_hat * 255 + 0.5) / 255
                bits += (by + bz).item()
                pixels += h * w
                se += ((x_hat - x) ** 2).sum().item()
                n += x.numel()
            mse = se / n
            results.append({"level": q, "bpp": round(bits / pixels, 4), "psnr": round(10 * math.log10(1 / mse), 3)})
    model.train()
    return results


def learning_rate(cfg, step):
    """The config's lr, halved every lr_half_steps steps (if set), never below lr_min: a function
    of the step alone, so a resumed run continues the same schedule."""
    half = cfg.get("lr_half_steps")
    if not half:
        return cfg["lr"]
    return max(cfg.get("lr_min", 0.0), cfg["lr"] * 0.5 ** (step / half))


# a shard of weights a GPU run hands back: the device tool returns files of at most 16 MiB
SHARD_BYTES = 15 * 2 ** 20


def write_weight_shards(out, model, step, cfg):
    """The model's weights (fp32, on the CPU) as shards of at most SHARD_BYTES (weights-<i>.pt,
    each saying its step) and an index (weights.json: name, step, shards, config), written last;
    each file by rename, so a run killed mid-write leaves the last whole set or a mismatch that
    load_checkpoint refuses. What a GPU run hands back for the CPU to resume and export."""
    os.makedirs(out, exist_ok=True)
    shards, cur, size = [], {}, 0
    for k, v in model.state_dict().items():
        n = v.numel() * v.element_size()
        if cur and size + n > SHARD_BYTES:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = v.detach().cpu().clone()
        size += n
    shards.append(cur)
    for i, shard in enumerate(shards):
        tmp = os.path.join(out, f"weights-{i}.pt.tmp")
        torch.save({"step": step, "weights": shard}, tmp)
        os.replace(tmp, os.path.join(out, f"weights-{i}.pt"))
    tmp = os.path.join(out, "weights.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"name": cfg["name"], "step": step, "shards": len(shards), "config": cfg}, f, indent=1)
    os.replace(tmp, os.path.join(out, "weights.json"))


def load_checkpoint(source):
    """A checkpoint file (model, optimiser, step, RNG states, config), or a folder of weight shards
    (write_weight_shards: model, step and config only, so training resumes with a fresh optimiser)."""
    legacy = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    if os.path.isdir(source):
        index_path = os.path.join(source, "weights.json")
        if not os.path.exists(index_path):
            sys.exit(f"train_image_codec: {source} is a folder without weights.json")
        index = json.load(open(index_path))
        weights = {}
        for i in range(index["shards"]):
            shard = torch.load(os.path.join(source, f"weights-{i}.pt"), map_location="cpu", **legacy)
            if shard["step"] != index["step"]:
                sys.exit(f"train_image_codec: {source}/weights-{i}.pt is of step {shard['step']}, its index of step {index['step']}: a write was cut short")
            weights.update(shard["weights"])
        return {"model": weights, "step": index["step"], "config": index["config"]}
    return torch.load(source, map_location="cpu", **legacy)


def save_checkpoint(path, model, opt, step, rng, cfg, lr_scale=1.0):
    """Written to a temporary file and renamed: a run stopped mid-save keeps its last checkpoint.
    The one before it stays as checkpoint-prev.pt."""
    tmp = f"{path}.tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng.getstate(),
                "torch_rng": torch.get_rng_state(), **({"cuda_rng": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
                "config": cfg, "lr_scale": lr_scale}, tmp)
    if os.path.exists(path):
        os.replace(path, path.replace(".pt", "-prev.pt"))
    os.replace(tmp, path)


def fmt_time(s):
    s = int(max(0, s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", default=".auralink/aic-data")
    ap.add_argument("--runs", default=".auralink/aic-runs")
    ap.add_argument("--minutes", type=float, help="training time budget (default: the config's)")
    ap.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    ap.add_argument("--resume-from", metavar="PATH", help="continue from this checkpoint file (e.g. a committed one)")
    ap.add_argument("--smoke", action="store_true", help="a few seconds on a tiny network, for CI")
    ap.add_argument("--steps", type=int, help="stop at this step (the time budget still applies)")
    ap.add_argument("--trace", metavar="PATH", help="one JSON line per step: the loss parts, gradient norms, latent ranges")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to train (auto: CUDA when there is a GPU)")
    ap.add_argument("--weights-out", metavar="DIR", help="with every checkpoint, the weights as shards of at most 15 MiB (what a GPU run hands back)")
    ap.add_argument("--no-export", action="store_true", help="evaluate but export nothing (export later on the CPU: --resume-from the checkpoint --steps its step)")
    args = ap.parse_args()

    cfg = json.load(open(args.config))
    for key in REQUIRED:
        if key not in cfg:
            sys.exit(f"train_image_codec: {args.config} lacks \"{key}\"")
    if len(cfg["lambdas"]) < 4:
        sys.exit(f"train_image_codec: {args.config} has {len(cfg['lambdas'])} lambdas; tool 2 needs at least 4 quality levels")
    if args.smoke:
        cfg.update(channels=8, latent=8, hyper_channels=8, hyper_latent=4, patch=64, batch=2, name=cfg["name"])
        cfg["smoke"] = True
    torch.manual_seed(cfg["seed"])
    rng = random.Random(cfg["seed"])
    torch.set_num_threads(int(cfg.get("threads", 1)))

    train = load_stills(args.data, "train")
    val = load_stills(args.data, "val")
    if not train:
        sys.exit(f"train_image_codec: no training stills in {args.data}: run prepare_data.py first")
    run_dir = os.path.join(args.runs, cfg["name"])
    os.makedirs(run_dir, exist_ok=True)
    # one run per folder: round 1 ran three at once in one folder, their log lines interleaved and
    # each overwrote the others' checkpoint.pt (docs/aic-changelog.md). The lock goes with the process.
    lock = open(os.path.join(run_dir, "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(f"train_image_codec: another run is training in {run_dir}; give this one its own --runs folder")
    device = pick_device(args.device)
    print(f"train_image_codec: training on {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else f", {torch.get_num_threads()} thread(s)"), file=sys.stderr)
    model = ImageCodec(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    step = 0
    ckpt_path = os.path.join(run_dir, "checkpoint.pt")
    if args.resume_from is not None and not os.path.exists(args.resume_from):
        sys.exit(f"train_image_codec: --resume-from {args.resume_from}: no such file or folder")
    source = args.resume_from or (ckpt_path if args.resume and os.path.exists(ckpt_path) else None)
    if source is not None:
        ckpt = load_checkpoint(source)
        old = ckpt.get("config", {})
        if old.get("name") != cfg["name"]:
            sys.exit(f"train_image_codec: {source} is a checkpoint of {old.get('name')}, not {cfg['name']}")
        shape, wanted = {k: old.get(k) for k in SHAPE}, {k: cfg.get(k) for k in SHAPE}
        if shape != wanted:
            sys.exit(f"train_image_codec: {source} has {shape}, the run wants {wanted} (a --smoke run and a full run differ)")
        model.load_state_dict(ckpt["model"])
        if "opt" in ckpt:
            opt.load_state_dict(ckpt["opt"])
        step = ckpt["step"]
        if "rng" in ckpt:
            rng.setstate(ckpt["rng"])
        if "torch_rng" in ckpt:
            torch.set_rng_state(ckpt["torch_rng"])
        if "cuda_rng" in ckpt and device.type == "cuda" and len(ckpt["cuda_rng"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        print(f"train_image_codec: resumed {cfg['name']} at step {step} from {source}"
              f"{'' if 'opt' in ckpt else ' (weights only: a fresh optimiser)'}", file=sys.stderr)

    crops = Crops(train, cfg["patch"], rng)
    budget = 4.0 if args.smoke else 60.0 * (args.minutes if args.minutes is not None else cfg["minutes"])
    log = open(os.path.join(run_dir, "log.jsonl"), "a")
    lambdas = cfg["lambdas"]
    t0 = time.time()
    last_log = 0.0
    first = step
    avg = {}
    # divergence guard: a step whose loss or gradient is not finite, or whose loss is over 20x its
    # level's running mean, is skipped (and logged); 8 skips in a row restore the state of 200 to
    # 300 steps before (kept every 100 steps) at half the lr, at most 4 times (round 1 went on halving
    # to lr x1e-28 against a snapshot that was itself broken): then the run stops, keeping its checkpoints
    ema, skips, skipped, rollbacks = {}, 0, 0, 0
    lr_scale = ckpt.get("lr_scale", 1.0) if source is not None else 1.0
    good = None
    trace = open(args.trace, "a") if args.trace else None
    model.trace = trace is not None
    while time.time() - t0 < budget and (args.steps is None or step < args.steps):
        for group in opt.param_groups:
            group["lr"] = learning_rate(cfg, step) * lr_scale
        q = step % len(lambdas)
        x = crops.batch(cfg["batch"]).to(device, non_blocking=True)
        x_hat, bits_y, bits_z = model(x, q)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = (bits_y + bits_z) / pixels
        mse = F.mse_loss(x_hat, x)
        loss = bpp + lambdas[q] * 255 ** 2 * mse
        opt.zero_grad()
        value = loss.item()
        row = None
        if trace:
            row = {"step": step, "q": q, "loss": round(value, 5), "bppY": round(bits_y.item() / pixels, 5), "bppZ": round(bits_z.item() / pixels, 5),
                   "psnr": round(10 * math.log10(1 / max(mse.item(), 1e-10)), 3), "lr": opt.param_groups[0]["lr"], **model.stats}
        if not math.isfinite(value) or (q in ema and step - first > 100 and value > 20 * ema[q]):
            if row:
                trace.write(json.dumps(row | {"skipped": True}) + "\n")
            skips += 1
            skipped += 1
            if skips >= 8 and good:
                if rollbacks >= 4:
                    log.write(json.dumps({"stopped": step, "reason": "diverging after 4 rollbacks"}) + "\n")
                    log.close()
                    sys.exit(f"train_image_codec: still diverging at step {step} after 4 rollbacks; stopped (checkpoints kept)")
                # the oldest of the last three snapshots: the newest may already be drifting
                model.load_state_dict(good[0][0])
                opt.load_state_dict(good[0][1])
                step = good[0][2]
                good = good[:1]
                lr_scale *= 0.5
                rollbacks += 1
                skips = 0
                log.write(json.dumps({"rollback": step, "lrScale": lr_scale}) + "\n")
                print(f"train_image_codec: diverging; back to step {step} at lr x{lr_scale}", file=sys.stderr)
            continue
        skips = 0
        ema[q] = value if q not in ema else 0.98 * ema[q] + 0.02 * value
        loss.backward()
        if row:
            parts = {}
            for name, p in model.named_parameters():
                if p.grad is not None:
                    parts[name.split(".")[0]] = parts.get(name.split(".")[0], 0.0) + p.grad.pow(2).sum().item()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if row:
            row["gradNorm"] = round(norm.item(), 5)
            row["grad"] = {k: round(math.sqrt(v), 5) for k, v in parts.items()}
            trace.write(json.dumps(row) + "\n")
            trace.flush()
        if not math.isfinite(norm.item()):
            # a NaN or inf gradient would corrupt every weight and Adam's moments: skip the step
            opt.zero_grad()
            skipped += 1
            log.write(json.dumps({"skipped": step, "reason": "gradient not finite", "level": q}) + "\n")
            continue
        opt.step()
        step += 1
        a = avg.setdefault(q, [0.0, 0.0, 0])
        a[0] += bpp.item()
        a[1] += mse.item()
        a[2] += 1
        elapsed = time.time() - t0
        if elapsed - last_log >= (1.0 if args.smoke else 30.0) or elapsed >= budget:
            last_log = elapsed
            lr = opt.param_groups[0]["lr"]
            levels = {str(k): {"bpp": round(v[0] / v[2], 4), "psnr": round(10 * math.log10(1 / max(v[1] / v[2], 1e-10)), 2)} for k, v in sorted(avg.items())}
            avg = {}
            done = min(1.0, elapsed / budget)
            bar = "#" * int(done * 20) + "." * (20 - int(done * 20))
            summary = " ".join(f"q{k} {v['bpp']:.3f}bpp/{v['psnr']:.1f}dB" for k, v in levels.items())
            sys.stderr.write(f"[{bar}] {done * 100:5.1f}% step {step} loss {loss.item():.4f} {summary} lr {lr:.1e} elapsed {fmt_time(elapsed)} ETA {fmt_time(budget - elapsed)}\n")
            log.write(json.dumps({"step": step, "loss": round(loss.item(), 5), "lr": lr, "seconds": round(elapsed, 1), "levels": levels}) + "\n")
            log.flush()
        if step % 100 == 0:
            good = (good or [])[-2:] + [(copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()), step)]
            save_checkpoint(ckpt_path, model, opt, step, rng, cfg, lr_scale)
            if args.weights_out:
                write_weight_shards(args.weights_out, model, step, cfg)
        if step % 500 == 0 and not args.smoke:
            # held-out monitor (the 12 stills cut to 256x256, a few seconds): a slow divergence shows
            # here first; and a snapshot on disk every 1,000 steps, so that one costs minutes, not the run
            val_now = evaluate(model, val or train, 256)
            log.write(json.dumps({"step": step, "val256": val_now}) + "\n")
            log.flush()
            sys.stderr.write(f"  held-out at step {step}: " + " ".join(f"q{v['level']} {v['bpp']:.3f}bpp/{v['psnr']:.2f}dB" for v in val_now) + "\n")
            if step % 1000 == 0:
                save_checkpoint(os.path.join(run_dir, f"checkpoint-step{step}.pt"), model, opt, step, rng, cfg, lr_scale)
    save_checkpoint(ckpt_path, model, opt, step, rng, cfg, lr_scale)
    if args.weights_out:
        write_weight_shards(args.weights_out, model, step, cfg)
    # a smoke data set may hold no validation still: then it reports on training stills (and says so)
    val_paths = (val or train)[:2] if args.smoke else (val or train)
    levels = evaluate(model, val_paths, 128 if args.smoke else 512)
    # the export (ONNX, the integer hyper-synthesis, the tables) runs on the CPU, as the shipped codec does
    exported = {} if args.no_export else export_image_codec.export(model if device.type == "cpu" else copy.deepcopy(model).cpu(), cfg, run_dir, val_paths[0] if val_paths else train[0])
    summary = {"name": cfg["name"], "torch": torch.__version__, "device": device.type, "steps": step, "stepsThisRun": step - first,
               "seconds": round(time.time() - t0, 1), "parameters": parameter_count(model), "val": levels,
               "skippedSteps": skipped, "rollbacks": rollbacks, "valImages": len(val_paths), "valSplit": "val" if val else "train", "smoke": args.smoke, **exported}
    log.write(json.dumps({"summary": summary}) + "\n")
    log.close()
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
