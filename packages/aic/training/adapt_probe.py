#!/usr/bin/env python3
"""Issue 20's probe: does adapting tool 1's shipped fast enhancer to the call's own content pay?

The sender holds the original frames. It could refit part of the enhancer on what it is sending
now and send the receiver a small weight update. This measures, on the held-out clips of
bench/aic/clips.mjs coded by VP8 as bench/aic/video.mjs sets it up (as a call does), with the
adaptation fitted on the frames of the fit window (0-59 by default) and quality taken on the
frames after it (60-119), for each clip, scale and rate:

  bicubic-ffmpeg   ffmpeg's bicubic scaler (what bench/aic/enhance.mjs calls bicubic)
  bicubic-conv     the model's skip as constructed (Keys' bicubic, a = -0.75, torch's bicubic)
  shipped          the shipped fast network (checkpoints/enhancer-x{2,1.5}-fast.pt)
  refit-tail       the tail conv refitted by ridge regression given the body's features
                   (closed form: the tail enters the output linearly, before the clamp)
  refit-tailskip   the tail and the skip taps refitted together (per colour: the skip of an
                   output channel reads only its own colour)
  adam<S>          all the weights fine-tuned by Adam (lr 1e-3, L1 as training, batch 16 of 64x64
                   low-size patches) for S seconds of process time on one thread: the reference
  <method>-q8      the update (new - shipped weights) quantised to int8, one scale per output
                   channel (float16), biases as float16, then applied: quality after quantisation,
                   and the update's bytes raw and deflated (zlib level 9)

The ridge fits are toward the shipped weights and scale-free: they solve
(G + lambda * diag(G)) d = A^T r / N for the update d, where G = A^T A / N over N sampled positions
(the bias is not penalised). Quality: BT.601 luma of 8-bit RGB, PSNR from the mean squared error
over the evaluation frames, SSIM as x264 and ffmpeg compute it (packages/aic/src/metrics.ts).

Clips are made by bench/aic/clips.mjs's makeClip (raw frames, the bytes enhance.mjs measures) and
cached under --cache with their VP8 streams; --cut A,B adds a clip made of A's fit window followed
by B's frames (a scene cut right after the fit window). Every external process runs on one thread.

  python=$(bash packages/aic/training/setup_venv.sh)   # Debian's python3 with python3-torch will do
  OMP_NUM_THREADS=1 "$python" packages/aic/training/adapt_probe.py --clips face-hopper,text-doc \\
      --rates 150,400 --scales 2 --methods all [--cut face-hopper,room-wine] [--frames 120]

Results are merged into --out (bench/results/aic-adapt-probe.json) per clip, scale and rate, so
the probe can run in parts; the summary (median over clips, worst clip) is rebuilt every time.
"""
import argparse
import copy
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
from enhancer import Enhancer  # noqa: E402

FPS = 30
SIZES = {"360p": (640, 360), "720p": (1280, 720)}
# bench/aic/video.mjs's VP8: libvpx as WebRTC sets it up for a call
VP8 = ["-pix_fmt", "yuv420p", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "-8", "-g", "3000", "-lag-in-frames", "0",
       "-error-resilient", "1", "-qmin", "2", "-qmax", "56", "-undershoot-pct", "100", "-overshoot-pct", "15", "-drop-threshold", "30",
       "-static-thresh", "1"]
MODELS = {2: "enhancer-x2-fast", 1.5: "enhancer-x1.5-fast"}
METHODS = ("bicubic-ffmpeg", "bicubic-conv", "shipped", "refit-tail", "refit-tailskip", "adam30", "adam90")


def rel(path):
    return os.path.relpath(path, ROOT)


def ffmpeg(args):
    res = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)}: {res.stderr}")


def raw_in(path, w, h):
    return ["-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{w}x{h}", "-r", str(FPS), "-i", path]


def raw_out(path):
    return ["-threads", "1", "-fps_mode", "cfr", "-r", str(FPS), "-f", "rawvideo", "-pix_fmt", "rgba", path]


def read_rgb(path, w, h):
    """All frames of a raw RGBA file as a uint8 array F x h x w x 3."""
    a = np.fromfile(path, dtype=np.uint8)
    return a.reshape(-1, h, w, 4)[..., :3]


def make_clip(clip, res, frames, cache):
    """The clip's raw RGBA frames, made once by clips.mjs's makeClip (the bytes enhance.mjs measures)."""
    path = os.path.join(cache, f"{clip}-{res}-f{frames}.rgba")
    if not os.path.exists(path):
        w, h = SIZES[res]
        tmp = path + ".part"
        script = ("const m = await import(process.argv[1]); const c = m.CLIPS.find((x) => x.id === process.argv[2]);"
                  "if (!c) throw new Error('no clip ' + process.argv[2]);"
                  "m.makeClip(c, process.argv[3], { tmp: process.argv[4], frames: Number(process.argv[5]), fps: 30,"
                  " output: ['-threads', '1', '-filter_threads', '1', '-fps_mode', 'cfr', '-r', '30', '-f', 'rawvideo', '-pix_fmt', 'rgba', process.argv[6]] })")
        url = "file://" + os.path.join(ROOT, "bench", "aic", "clips.mjs")
        res_ = subprocess.run(["node", "--input-type=module", "-e", script, url, clip, res, cache, str(frames), tmp], capture_output=True, text=True)
        if res_.returncode != 0:
            raise RuntimeError(f"clips.mjs makeClip {clip} {res}: {res_.stderr}")
        if os.path.getsize(tmp) != w * h * 4 * frames:
            raise RuntimeError(f"{clip}-{res}: {os.path.getsize(tmp)} bytes, expected {frames} frames of {w}x{h}")
        os.replace(tmp, path)
    return path


def make_cut(a, b, res, frames, fit, cache):
    """A's first `fit` frames followed by B's frames from `fit` on: a scene cut right after the fit window."""
    path = os.path.join(cache, f"cut-{a}-{b}-{res}-f{frames}-at{fit}.rgba")
    if not os.path.exists(path):
        w, h = SIZES[res]
        fa = np.fromfile(make_clip(a, res, frames, cache), dtype=np.uint8).reshape(frames, -1)
        fb = np.fromfile(make_clip(b, res, frames, cache), dtype=np.uint8).reshape(frames, -1)
        np.concatenate([fa[:fit], fb[fit:]]).tofile(path + ".part")
        os.replace(path + ".part", path)
    return path


def geometry(scale, w, h):
    """Coded (low) size and restored size, as bench/aic/enhance.mjs's sizes()."""
    if scale == 2:
        return w // 2, h // 2, w, h
    lw, lh = (int(w / 1.5) // 2) * 2, (int(h / 1.5) // 2) * 2
    return lw, lh, lw * 3 // 2, lh * 3 // 2


def code(src, name, w, h, scale, kbps, cache):
    """VP8 at the reduced size and `kbps`; returns (decoded low frames path, ffmpeg-bicubic path, coded kbps after the first second, packets)."""
    lw, lh, ow, oh = geometry(scale, w, h)
    tag = "half" if scale == 2 else "x1_5"
    base = os.path.join(cache, f"{name}-{tag}-{kbps}")
    webm, low, bic = base + ".webm", base + "-low.rgba", base + "-bicubic.rgba"
    if not os.path.exists(bic):
        crop = "" if (ow, oh) == (w, h) else f"crop={ow}:{oh}:0:0,"
        rate = ["-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k"]
        ffmpeg([*raw_in(src, w, h), "-vf", f"{crop}scale={lw}:{lh}:flags=bicubic", *VP8, *rate, webm])
        ffmpeg(["-i", webm, *raw_out(low)])
        ffmpeg(["-i", webm, "-vf", f"scale={ow}:{oh}:flags=bicubic", *raw_out(bic + ".part")])
        os.replace(bic + ".part", bic)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size", "-of", "csv=p=0", webm],
                           capture_output=True, text=True, check=True)
    sizes = [int(s) for s in probe.stdout.split()]
    return low, bic, sizes


# --- quality, as packages/aic/src/metrics.ts ---------------------------------------------------

def luma(rgb):
    """BT.601 luma (full range) of uint8 RGB, rounded as lumaOf."""
    x = rgb.astype(np.float64)
    return np.floor(0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2] + 0.5)


def ssim_x264(a, b):
    """SSIM of two luma planes as x264 and ffmpeg's ssim filter: 8x8 windows stepped by 4, from 4x4 block sums."""
    h, w = a.shape
    bh, bw = h >> 2, w >> 2
    a, b = a[:bh * 4, :bw * 4], b[:bh * 4, :bw * 4]

    def blocks(x):
        return x.reshape(bh, 4, bw, 4).sum(axis=(1, 3))
    s1, s2, ss, s12 = blocks(a), blocks(b), blocks(a * a + b * b), blocks(a * b)

    def win(x):
        return x[:-1, :-1] + x[1:, :-1] + x[:-1, 1:] + x[1:, 1:]
    s1, s2, ss, s12 = win(s1), win(s2), win(ss), win(s12)
    c1 = round(0.01 * 0.01 * 255 * 255 * 64)
    c2 = round(0.03 * 0.03 * 255 * 255 * 64 * 63)
    var = ss * 64 - s1 * s1 - s2 * s2
    cov = s12 * 64 - s1 * s2
    return float((((2 * s1 * s2 + c1) * (2 * cov + c2)) / ((s1 * s1 + s2 * s2 + c1) * (var + c2))).mean())


def quality(outs, refs):
    """Luma PSNR (from the mean MSE over frames) and mean SSIM of uint8 RGB frames against the references."""
    sq, ss = [], []
    for o, r in zip(outs, refs):
        lo, lr = luma(o), luma(r)
        sq.append(np.mean((lo - lr) ** 2))
        ss.append(ssim_x264(lo, lr))
    m = float(np.mean(sq))
    return {"psnr": round(100.0 if m == 0 else 10 * np.log10(255 * 255 / m), 3), "ssim": round(float(np.mean(ss)), 5)}


def pad_to(rgb, w, h):
    """Repeat the last column (and row) to fill w x h, as enhance.mjs's padTo."""
    ph, pw = h - rgb.shape[0], w - rgb.shape[1]
    return rgb if ph == 0 and pw == 0 else np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge")


# --- the network -------------------------------------------------------------------------------

def load_model(scale):
    name = MODELS[scale]
    cfg = json.load(open(os.path.join(HERE, "configs", f"{name}.json")))
    model = Enhancer(scale=cfg["scale"], channels=cfg["channels"], blocks=cfg["blocks"], upsample=cfg["upsample"])
    ckpt = torch.load(os.path.join(HERE, "checkpoints", f"{name}.pt"), map_location="cpu")
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, name


def to_t(rgb):
    """uint8 F x h x w x 3 -> float N x 3 x h x w in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2).float() / 255


def run(model, lows, batch=4):
    outs = []
    with torch.no_grad():
        for i in range(0, len(lows), batch):
            y = model(to_t(lows[i:i + batch]))
            outs.append(np.round(y.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8))
    return np.concatenate(outs)


def features(model, x):
    """The body's output (the tail's input) for N x 3 x h x w input: plain inference up to the tail."""
    with torch.no_grad():
        y = model.head(x)
        return model.body(y) + y


def fit_design(model, lows, refs, samples, rng):
    """Sampled rows of the regression: the tail's unfolded input, the skip's unfolded input per
    colour, the skip's current output, and the target (the original pixel of each phase).
    Positions are drawn uniformly from all output blocks of the fit frames."""
    tail, skip, out = model.tail, model.skip, int(round(model.scale * model.block))
    per = -(-samples // len(lows))
    T, S, K, Y = [], [], [], []
    for low, ref in zip(lows, refs):
        x = to_t(low[None])
        y = features(model, x)
        ut = F.unfold(y, tail.kernel_size, padding=tail.padding, stride=tail.stride)[0]  # C*k*k x L
        xp = F.pad(x, (2, 2, 2, 2), mode="replicate")
        us = F.unfold(xp, skip.kernel_size, stride=skip.stride)[0]  # 3*k*k x L (colour-major)
        with torch.no_grad():
            sk = skip(x)[0].flatten(1)  # 3*phases x L
        target = F.pixel_unshuffle(to_t(ref[None])[:, :, :x.shape[2] // model.block * out, :x.shape[3] // model.block * out], out)[0].flatten(1)
        L = ut.shape[1]
        idx = torch.from_numpy(rng.choice(L, size=min(per, L), replace=False))
        T.append(ut[:, idx].T.double())
        S.append(us[:, idx].T.double())
        K.append(sk[:, idx].T.double())
        Y.append(target[:, idx].T.double())
    return torch.cat(T), torch.cat(S), torch.cat(K), torch.cat(Y)


def ridge(A, r, lam):
    """Solves (G + lam * diag(G)) d = A^T r / N, G = A^T A / N; the last column (the bias) is not penalised."""
    n = A.shape[0]
    G = A.T @ A / n
    reg = torch.diag(G).clone()
    reg[-1] = 0
    return torch.linalg.solve(G + lam * torch.diag(reg), A.T @ r / n)


def refit(model, design, lam, with_skip):
    """A copy of the model with its tail (and skip) refitted toward the shipped weights."""
    T, S, K, Y = design
    m = copy.deepcopy(model)
    tw, tb = m.tail.weight.data.double(), m.tail.bias.data.double()
    n_out = tw.shape[0]
    phases = n_out // 3
    ones = torch.ones(T.shape[0], 1, dtype=torch.float64)
    w0 = torch.cat([tw.flatten(1), tb[:, None]], 1)  # n_out x (C*k*k + 1)
    if not with_skip:
        A = torch.cat([T, ones], 1)
        r = Y - K - A @ w0.T
        d = ridge(A, r, lam)  # (C*k*k+1) x n_out
        w = w0 + d.T
        m.tail.weight.data = w[:, :-1].reshape(tw.shape).float()
        m.tail.bias.data = w[:, -1].float()
        return m
    sw = m.skip.weight.data.double()  # n_out x 1 x k x k
    kk = sw[0].numel()
    for c in range(3):
        rows = slice(c * phases, (c + 1) * phases)
        A = torch.cat([T, S[:, c * kk:(c + 1) * kk], ones], 1)
        wc0 = torch.cat([w0[rows, :-1], sw[rows].flatten(1), w0[rows, -1:]], 1)
        r = Y[:, rows] - A @ wc0.T
        wc = wc0 + ridge(A, r, lam).T
        nt = T.shape[1]
        m.tail.weight.data[rows] = wc[:, :nt].reshape(-1, *tw.shape[1:]).float()
        m.skip.weight.data[rows] = wc[:, nt:nt + kk].reshape(-1, *sw.shape[1:]).float()
        m.tail.bias.data[rows] = wc[:, -1].float()
    return m


def quantised_update(model, base, names):
    """Quantises (model - base) of the named tensors to int8, one float16 scale per output channel
    (a bias: float16 values); returns the model with the quantised update applied and the update's
    bytes raw and deflated."""
    q = copy.deepcopy(base)
    cur, ref, dst = dict(model.named_parameters()), dict(base.named_parameters()), dict(q.named_parameters())
    blob = bytearray()
    for name in names:
        d = (cur[name].data - ref[name].data).double()
        if d.dim() == 1:
            h = d.numpy().astype(np.float16)
            blob += h.tobytes()
            dst[name].data = ref[name].data + torch.from_numpy(h.astype(np.float32))
            continue
        rows = d.flatten(1)
        scale = (rows.abs().max(1).values / 127).numpy().astype(np.float16)
        s = torch.from_numpy(scale.astype(np.float64))[:, None]
        qi = torch.where(s > 0, torch.round(rows / torch.where(s > 0, s, torch.ones_like(s))), torch.zeros_like(rows)).clamp(-127, 127)
        blob += scale.tobytes() + qi.numpy().astype(np.int8).tobytes()
        dst[name].data = ref[name].data + (qi * s).reshape(d.shape).float()
    return q, {"raw": len(blob), "deflated": len(zlib.compress(bytes(blob), 9)), "values": sum(cur[n].numel() for n in names)}


def adam(model, lows, refs, seconds, rng, patch=64, batch=16, lr=1e-3):
    """Fine-tunes every weight with Adam (L1 on RGB, as train_enhancer) for `seconds` of process time."""
    m = copy.deepcopy(model)
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    out, inp = int(round(model.scale * model.block)), model.block
    hp = patch * out // inp
    lt, rt = to_t(lows), to_t(refs)
    n, _, h, w = lt.shape
    steps = 0
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        f = rng.integers(0, n, batch)
        ys = (rng.integers(0, (h - patch) // inp + 1, batch)) * inp
        xs = (rng.integers(0, (w - patch) // inp + 1, batch)) * inp
        xb = torch.stack([lt[i, :, y:y + patch, x:x + patch] for i, y, x in zip(f, ys, xs)])
        rb = torch.stack([rt[i, :, y * out // inp:y * out // inp + hp, x * out // inp:x * out // inp + hp] for i, y, x in zip(f, ys, xs)])
        loss = F.l1_loss(m(xb), rb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    m.eval()
    return m, {"cpuSeconds": round(time.process_time() - t0, 2), "steps": steps, "patches": steps * batch}


# --- one clip ----------------------------------------------------------------------------------

def measure(name, src, w, h, scale, kbps, args, model, rng):
    low_path, bic_path, packets = code(src, name, w, h, scale, kbps, args.cache)
    lw, lh, ow, oh = geometry(scale, w, h)
    refs_full = read_rgb(src, w, h)
    frames = refs_full.shape[0]
    lows = read_rgb(low_path, lw, lh)
    bics = read_rgb(bic_path, ow, oh)
    fit = range(0, args.fit)
    ev = range(args.fit, frames)
    refs = refs_full[:, :oh, :ow]  # what a 1.5x receiver restores (the first 639 columns)
    eval_refs = refs_full[list(ev)]
    seconds = (frames - 30) / FPS
    result = {"clip": name, "scale": scale, "targetKbps": kbps, "codedKbps": round(sum(packets[30:]) * 8 / seconds / 1000, 1),
              "droppedFrames": frames - len(packets), "fitFrames": [fit.start, fit.stop - 1], "evalFrames": [ev.start, ev.stop - 1],
              "methods": {}}
    say = lambda what: print(f"[{time.strftime('%H:%M:%S')}] {name} {scale}x {kbps} kbps: {what}", file=sys.stderr, flush=True)  # noqa: E731

    def judge(label, m, extra=None):
        outs = run(m, lows[list(ev)])
        q = quality([pad_to(o, w, h) for o in outs], eval_refs)
        qf = quality([pad_to(o, w, h) for o in run(m, lows[list(fit)][::6])], refs_full[list(fit)][::6])
        result["methods"][label] = {**q, "fitWindow": qf, **(extra or {})}
        say(f"{label} {q} (fit window, every 6th frame: {qf})")

    methods = set(args.methods)
    if "bicubic-ffmpeg" in methods:
        q = quality([pad_to(b, w, h) for b in bics[list(ev)]], eval_refs)
        result["methods"]["bicubic-ffmpeg"] = q
        say(f"bicubic-ffmpeg {q}")
    if "bicubic-conv" in methods:
        plain = Enhancer(scale=scale, channels=model.head.out_channels, blocks=len(model.body), upsample="bicubic-conv").eval()
        judge("bicubic-conv", plain)
    if "shipped" in methods:
        judge("shipped", model)
    fit_lows, fit_refs = lows[list(fit)], refs[list(fit)]
    for label, with_skip in (("refit-tail", False), ("refit-tailskip", True)):
        if label not in methods:
            continue
        t0 = time.process_time()
        design = fit_design(model, fit_lows, fit_refs, args.samples, rng)
        t1 = time.process_time()
        m = refit(model, design, args.lam, with_skip)
        t2 = time.process_time()
        info = {"samples": int(design[0].shape[0]), "lambda": args.lam, "cpuSeconds": {"features": round(t1 - t0, 2), "solve": round(t2 - t1, 3)},
                "unknownsPerOutputChannel": int(design[0].shape[1] + 1 + (design[1].shape[1] // 3 if with_skip else 0))}
        judge(label, m, info)
        names = ["tail.weight", "tail.bias"] + (["skip.weight"] if with_skip else [])
        mq, size = quantised_update(m, model, names)
        judge(label + "-q8", mq, {"updateBytes": size})
    for label in [x for x in args.methods if x.startswith("adam")]:
        secs = float(label[4:])
        m, info = adam(model, fit_lows, fit_refs, secs, rng)
        judge(label, m, info)
        mq, size = quantised_update(m, model, [n for n, _ in m.named_parameters()])
        judge(label + "-q8", mq, {"updateBytes": size})
    return result


# --- results -----------------------------------------------------------------------------------

def rate_equivalent(entries):
    """What a method's gain over the shipped network is worth in bits: per entry, the rate at which
    the shipped network would reach the method's PSNR on that clip (log-linear through the shipped
    network's (coded kbps, PSNR) points of the clip, extended past the ends by the nearest
    segment), the fraction of the rate that saves, and how often an update of the method's q8 size
    could be sent before it costs more than it saves. None where the clip's curve is flat (under
    0.05 dB per doubling: the encoder did not spend the rate)."""
    curves = {}
    for e in entries:
        if "shipped" in e["methods"]:
            curves.setdefault((e["clip"], e["scale"]), []).append((np.log2(e["codedKbps"]), e["methods"]["shipped"]["psnr"]))
    for e in entries:
        pts = sorted(curves.get((e["clip"], e["scale"]), []))
        if len(pts) < 2 or "shipped" not in e["methods"]:
            continue
        for m, v in e["methods"].items():
            if not (m.startswith("refit") or m.startswith("adam")) or m.endswith("-q8"):
                continue
            target = v["psnr"]
            seg = next(((a, b) for a, b in zip(pts, pts[1:]) if a[1] <= target <= b[1]), None)
            if seg is None:
                seg = (pts[-2], pts[-1]) if target > pts[-1][1] else (pts[0], pts[1])
            (x0, y0), (x1, y1) = seg
            slope = (y1 - y0) / (x1 - x0)
            q8 = e["methods"].get(m + "-q8", {}).get("updateBytes")
            if slope < 0.05:
                v["rateEquivalent"] = None
                continue
            kbps = 2 ** (x0 + (target - y0) / slope)
            saved = 1 - e["codedKbps"] / kbps
            v["rateEquivalent"] = {"shippedKbpsForSamePsnr": round(kbps, 1), "savedFraction": round(saved, 4),
                                   "savedKbps": round(kbps - e["codedKbps"], 2), "dbPerDoubling": round(slope, 3)}
            if q8 is not None and kbps > e["codedKbps"]:
                v["rateEquivalent"]["breakEvenUpdateEverySeconds"] = round(q8["raw"] * 8 / 1000 / (kbps - e["codedKbps"]), 2)


def summarise(entries):
    """Per scale and rate: the median over clips of each method's PSNR, SSIM and gain over
    bicubic-ffmpeg and shipped, and the clip where the gain over shipped is least."""
    out = {}
    groups = {}
    for e in entries:
        if e["clip"].startswith("cut-"):
            continue
        groups.setdefault((e["scale"], e["targetKbps"]), []).append(e)
    for (scale, kbps), es in sorted(groups.items()):
        g = {"clips": len(es), "methods": {}}
        names = sorted({m for e in es for m in e["methods"]})
        for m in names:
            have = [e for e in es if m in e["methods"]]
            ps = [e["methods"][m]["psnr"] for e in have]
            row = {"clips": len(have), "psnrMedian": round(float(np.median(ps)), 3),
                   "ssimMedian": round(float(np.median([e["methods"][m]["ssim"] for e in have])), 5)}
            for base in ("bicubic-ffmpeg", "shipped"):
                both = [e for e in have if base in e["methods"]]
                if both and m != base:
                    gains = [e["methods"][m]["psnr"] - e["methods"][base]["psnr"] for e in both]
                    worst = int(np.argmin(gains))
                    row[f"psnrGainOver_{base}"] = {"median": round(float(np.median(gains)), 3), "worst": round(gains[worst], 3),
                                                   "worstClip": both[worst]["clip"]}
            eq = [e["methods"][m].get("rateEquivalent") for e in have if "rateEquivalent" in e["methods"][m]]
            if eq:
                known = [x for x in eq if x is not None]
                row["rateEquivalent"] = {"clips": len(known), "of": len(eq),
                                         "savedFractionMedian": round(float(np.median([x["savedFraction"] for x in known])), 4) if known else None,
                                         "breakEvenUpdateEverySecondsMedian": round(float(np.median([x.get("breakEvenUpdateEverySeconds", 0) for x in known])), 2) if known else None}
            g["methods"][m] = row
        out[f"{scale}x-{kbps}"] = g
    return out


def table(result):
    """Markdown tables of a results file: per scale and rate the medians over clips, then per clip."""
    lines = []
    show = [m for m in ("bicubic-ffmpeg", "bicubic-conv", "shipped", "refit-tail", "refit-tail-q8", "refit-tailskip",
                        "refit-tailskip-q8", "adam30", "adam30-q8", "adam90", "adam90-q8")]
    lines.append("| scale, rate | method | clips | PSNR median | SSIM median | gain over bicubic: median | over shipped: median | over shipped: worst (clip) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for group, g in result["summary"].items():
        for m in show:
            r = g["methods"].get(m)
            if r is None:
                continue
            b, s = r.get("psnrGainOver_bicubic-ffmpeg"), r.get("psnrGainOver_shipped")
            gb = "" if b is None else f"{b['median']:+.2f}"
            gs = "" if s is None else f"{s['median']:+.2f}"
            ws = "" if s is None else f"{s['worst']:+.2f} ({s['worstClip']})"
            lines.append(f"| {group} kbps | {m} | {r['clips']} | {r['psnrMedian']:.2f} | {r['ssimMedian']:.4f} | {gb} | {gs} | {ws} |")
    lines.append("")
    cols = ("bicubic-ffmpeg", "shipped", "refit-tail", "refit-tailskip", "adam30", "adam90")
    lines.append("| clip | scale | kbps (coded) | " + " | ".join(cols) + " |")
    lines.append("|---|---|---|" + "---|" * len(cols))
    for e in result["entries"]:
        ms = e["methods"]
        cells = [f"{ms[c]['psnr']:.2f} / {ms[c]['ssim']:.3f}" if c in ms else "" for c in cols]
        lines.append(f"| {e['clip']} | {e['scale']}x | {e['targetKbps']} ({e['codedKbps']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default="face-hopper", help="comma-separated clip ids of bench/aic/clips.mjs (at --res)")
    ap.add_argument("--res", default="360p", choices=sorted(SIZES))
    ap.add_argument("--cut", action="append", default=[], metavar="A,B", help="also a clip of A's fit window, then B")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--fit", type=int, default=60, help="frames 0..fit-1 are fitted on, the rest evaluated")
    ap.add_argument("--rates", default="150,400", help="kbit/s, comma-separated")
    ap.add_argument("--scales", default="2", help="2, 1.5 or 2,1.5")
    ap.add_argument("--methods", default="all", help=f"comma-separated of {', '.join(METHODS)} (adam<S> for any S), or all")
    ap.add_argument("--samples", type=int, default=100_000, help="positions sampled from the fit window for the ridge fits")
    ap.add_argument("--lam", type=float, default=1e-2, help="ridge strength, relative to each unknown's own Gram diagonal")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "adapt"), help="where clips, VP8 streams and decoded frames are kept")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "aic-adapt-probe.json"))
    ap.add_argument("--no-write", action="store_true", help="print the entries, write nothing (a look, e.g. a lambda sweep)")
    ap.add_argument("--table", action="store_true", help="print --out's results as Markdown tables, measure nothing")
    args = ap.parse_args()
    if args.table:
        print(table(json.load(open(args.out))))
        return
    args.methods = list(METHODS) if args.methods == "all" else args.methods.split(",")
    torch.set_num_threads(1)
    os.makedirs(args.cache, exist_ok=True)
    clips = [(c, make_clip(c, args.res, args.frames, args.cache)) for c in args.clips.split(",") if c]
    for cut in args.cut:
        a, b = cut.split(",")
        clips.append((f"cut-{a}-{b}", make_cut(a, b, args.res, args.frames, args.fit, args.cache)))
    w, h = SIZES[args.res]
    load0 = os.getloadavg()
    entries = []
    for scale in [float(s) if s == "1.5" else int(s) for s in args.scales.split(",")]:
        model, model_name = load_model(scale)
        for name, src in clips:
            for kbps in [int(r) for r in args.rates.split(",")]:
                rng = np.random.default_rng(args.seed)
                torch.manual_seed(args.seed)
                e = measure(f"{name}-{args.res}", src, w, h, scale, kbps, args, model, rng)
                e["model"] = model_name
                entries.append(e)
    if args.no_write:
        print(json.dumps(entries, indent=1))
        return
    old = json.load(open(args.out)) if os.path.exists(args.out) else {"entries": [], "runs": []}
    key = lambda e: (e["clip"], e["scale"], e["targetKbps"])  # noqa: E731
    merged = {key(e): e for e in old["entries"]}
    for e in entries:
        prev = merged.get(key(e))
        if prev is not None:
            e["methods"] = {**prev["methods"], **e["methods"]}
        merged[key(e)] = e
    cmd = "\"$python\" " + " ".join([rel(os.path.abspath(sys.argv[0]))] + [a if not os.path.isabs(a) else rel(a) for a in sys.argv[1:]])
    result = {
        "what": "issue 20: content-adaptive tool 1; see docs/aic-adaptive.md",
        "metric": "luma (BT.601) PSNR from the mean MSE over the evaluation frames, SSIM as x264/ffmpeg, 8-bit RGB output",
        "vp8": "bench/aic/video.mjs's VP8 settings, constant bitrate, one key frame",
        "torch": torch.__version__,
        "runs": old.get("runs", []) + [{"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "command": cmd,
                                        "loadAverageAtStart": [round(x, 2) for x in load0],
                                        "loadAverageAtEnd": [round(x, 2) for x in os.getloadavg()]}],
        "summary": (rate_equivalent(list(merged.values())), summarise(list(merged.values())))[1],
        "entries": sorted(merged.values(), key=lambda e: (e["scale"], e["clip"], e["targetKbps"])),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(json.dumps(result, indent=1) + "\n")
    print(f"adapt_probe: {len(entries)} entries into {rel(args.out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
