#!/usr/bin/python3
"""Prepares AIC's data from Debian packages on this machine (see sources.py for licences).

Writes, under --out (default .auralink/aic-data):
  stills/{train,val}/*.png     images downscaled 2x (the sources are full-size JPEGs)
  pairs/<clip>/{ref,low}/*.png tool-1 training pairs: the reference frames, and the same frames
                               sent through the real codec: VP8 (libvpx, realtime settings) at a
                               reduced size and a low bitrate, decoded again
  manifest.json                every file: source, package, licence, split, size
and prints the data card table (docs/aic-data.md). Deterministic: fixed seed, sorted inputs.
Incremental: a still or pair whose manifest entry already matches what this version would make
(same settings, files present) is kept as it is, so adding a setting (the 1.5x pairs) does not
redo the rest; --force remakes everything.

Run it with Debian's python3 (it needs python3-pil, python3-numpy, ffmpeg, opencv-doc,
python3-skimage, and for the full set python3-sklearn and python3-scipy):
  /usr/bin/python3 packages/aic/training/prepare_data.py [--smoke | --stills-only]
"""
import argparse
import bz2
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sources  # noqa: E402

SEED = "auralink-aic-v1"
# (kbps, scale) for each video clip: tool 1's benchmark spans 100 kbps to 1 Mbps, so the pairs
# cover that range (the low frames are 320x180 at 2x, 426x240 at 1.5x)
CLIP_SETTINGS = [(100, 2.0), (200, 2.0), (400, 2.0), (800, 2.0), (100, 1.5), (200, 1.5), (400, 1.5), (800, 1.5)]
# slow pans and zooms over training stills, each at one of these rates in turn, at each scale
PANS = 32
PAN_KBPS = [100, 200, 400, 800]
PAN_SCALES = (2.0, 1.5)
CODEC = "VP8 (libvpx realtime, cpu-used -8: static speed 8)"


class Progress:
    """One line of progress with an ETA, on stderr."""

    def __init__(self, label, total):
        self.label, self.total, self.done, self.t0 = label, max(total, 1), 0, time.time()

    def step(self, what=""):
        self.done += 1
        elapsed = time.time() - self.t0
        eta = elapsed / self.done * (self.total - self.done)
        sys.stderr.write(f"\r{self.label} {self.done}/{self.total} ETA {eta:5.1f}s {what[:40]:<40}")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def split_of(name, val_share):
    """A stable split from the name: the same file lands in the same split on every machine."""
    h = int(hashlib.sha256(f"{SEED}:{name}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_share else "train"


def need(path, package):
    if not os.path.exists(path):
        sys.exit(f"prepare_data: {path} is missing: install the Debian package {package}")


def run(cmd):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        sys.exit(f"prepare_data: {' '.join(cmd)} failed:\n{res.stderr[-2000:]}")


def still_sources(smoke):
    need(sources.OPENCV_DATA, "opencv-doc")
    need(sources.SKIMAGE_DATA, "python3-skimage")
    items = []
    for f in sorted(os.listdir(sources.OPENCV_DATA)):
        if f.lower().endswith((".jpg", ".png")) and f not in sources.OPENCV_IMAGE_EXCLUDE and "lena" not in f.lower():
            items.append((os.path.join(sources.OPENCV_DATA, f), "opencv-doc", sources.OPENCV_LICENCE))
    for f, licence in sorted(sources.SKIMAGE_IMAGES.items()):
        items.append((os.path.join(sources.SKIMAGE_DATA, f), "python3-skimage", licence))
    if smoke:
        return items[:6]
    # added 2026-12-06 (issue 16: more permissive photos): after the others, so that the stills
    # tool 1's pans are made from (the first training stills) stay the same
    need(sources.SKLEARN_DATA, "python3-sklearn")
    need(sources.SCIPY_FACE, "python3-scipy")
    for f, licence in sorted(sources.SKLEARN_IMAGES.items()):
        items.append((os.path.join(sources.SKLEARN_DATA, f), "python3-sklearn", licence))
    items.append((sources.SCIPY_FACE, "python3-scipy", sources.SCIPY_FACE_LICENCE))
    return items


def open_still(path):
    """A still as an RGB image: a JPEG or PNG, or SciPy's face.dat (bz2-compressed 768x1024x3 bytes)."""
    if path.endswith(".dat"):
        raw = bz2.decompress(open(path, "rb").read())
        if len(raw) != 768 * 1024 * 3:
            sys.exit(f"prepare_data: {path} holds {len(raw)} bytes, not the 768x1024 RGB picture SciPy ships")
        return Image.frombytes("RGB", (1024, 768), raw)
    return Image.open(path).convert("RGB")


def reusable(old, entry, out):
    """The previous run's manifest entry for the same file, if it was made with the same settings
    and its files are still there: then it is kept instead of made again. The codec's speed
    setting is not compared: the 2x pairs of 2026-12-01 were made with cpu-used 8 (speed adapting to
    the load) and differ from cpu-used -8's only in not being byte-reproducible; their entries say so."""
    prev = old.get(entry["file"])
    if prev is None or any(prev.get(k) != v for k, v in entry.items() if k != "codec"):
        return None
    path = os.path.join(out, entry["file"])
    if entry["kind"] == "pair":
        ok = all(os.path.isdir(os.path.join(path, d)) and len(os.listdir(os.path.join(path, d))) == prev.get("frames")
                 for d in ("ref", "low"))
    else:
        ok = os.path.isfile(path)
    return prev if ok else None


def prepare_stills(out, items, val_share, manifest, old):
    bar = Progress("stills", len(items))
    for path, package, licence in items:
        name = os.path.basename(path)
        split = split_of(name, val_share)
        dest = os.path.join(out, "stills", split, f"{package}-{os.path.splitext(name)[0]}.png")
        key = {"file": os.path.relpath(dest, out), "source": path, "package": package, "licence": licence,
               "split": split, "kind": "still", "note": "downscaled 2x (Lanczos)"}
        prev = reusable(old, key, out)
        if prev is not None:
            manifest.append(prev)
            bar.step(f"kept {name}")
            continue
        img = open_still(path)
        w, h = img.size
        small = img.resize((max(1, w // 2), max(1, h // 2)), Image.LANCZOS)
        if min(small.size) < 64:
            bar.step(f"skip {name} (too small)")
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        small.save(dest, optimize=False)
        manifest.append({"file": os.path.relpath(dest, out), "source": path, "package": package, "licence": licence,
                         "split": split, "kind": "still", "size": list(small.size), "note": "downscaled 2x (Lanczos)"})
        bar.step(name)


def low_size(w, h, scale):
    """The low frame's size: 1/scale of w x h rounded down to even numbers (VP8's 4:2:0)."""
    return int(w / scale) // 2 * 2, int(h / scale) // 2 * 2


def pair_entry(clip, frames, kbps, scale, split, source, package, licence):
    w, h = 640, 360
    lw, lh = low_size(w, h, scale)
    entry = {"file": os.path.join("pairs", clip), "source": source, "package": package, "licence": licence,
             "split": split, "kind": "pair", "frames": frames, "size": [w, h], "lowSize": [lw, lh], "codec": CODEC,
             "kbps": kbps, "scale": scale}
    if round(lw * scale) != w:
        # 640 / 1.5 is not whole: the low frame is made from the reference's first lw * 1.5
        # columns (639), so that it is exactly 1/1.5 of what it restores; the last column is not used
        entry["refCrop"] = [round(lw * scale), round(lh * scale)]
    return entry


def codec_pair(out, entry, src_args, vf, manifest):
    """Reference frames (the `vf` filter renders them at 640x360); the same frames through VP8 at
    1/scale the size and `kbps`, decoded again. cpu-used -8 is libvpx's speed 8 held fixed: a
    positive value lets VP8's realtime mode change speed with the machine's load, and the bytes
    then differ from run to run."""
    frames, kbps = entry["frames"], entry["kbps"]
    lw, lh = entry["lowSize"]
    crop = "crop={}:{}:0:0,".format(*entry["refCrop"]) if "refCrop" in entry else ""
    base = os.path.join(out, entry["file"])
    ref_dir, low_dir = os.path.join(base, "ref"), os.path.join(base, "low")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(ref_dir)
    os.makedirs(low_dir)
    run(["ffmpeg", "-hide_banner", "-loglevel", "error", *src_args, "-vf", vf,
         "-frames:v", str(frames), os.path.join(ref_dir, "%05d.png")])
    with tempfile.TemporaryDirectory() as tmp:
        webm = os.path.join(tmp, "low.webm")
        run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-framerate", "30", "-i", os.path.join(ref_dir, "%05d.png"),
             "-vf", f"{crop}scale={lw}:{lh}:flags=bicubic", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "-8",
             "-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k", "-g", "300", webm])
        run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", webm, os.path.join(low_dir, "%05d.png")])
        coded_bytes = os.path.getsize(webm)
    n = len(os.listdir(ref_dir))
    if n != frames:
        sys.exit(f"prepare_data: {entry['file']} has {n} reference frames, expected {frames}")
    manifest.append({**entry, "codedBytes": coded_bytes})


def prepare_pairs(out, stills, smoke, manifest, old):
    for video in sources.OPENCV_VIDEOS:
        need(os.path.join(sources.OPENCV_DATA, video), "opencv-doc")
    frames = 12 if smoke else 90
    jobs = []
    # 16:9 reference frames: scale down to cover 640x360, then crop the middle (never upscale)
    fit = "scale=640:360:force_original_aspect_ratio=increase:flags=lanczos,crop=640:360"
    for video, split in sorted(sources.OPENCV_VIDEOS.items())[: 1 if smoke else None]:
        path = os.path.join(sources.OPENCV_DATA, video)
        for kbps, scale in ([(150, 2.0), (150, 1.5)] if smoke else CLIP_SETTINGS):
            clip = f"{os.path.splitext(video)[0]}-{kbps}k-x{scale}"
            jobs.append((pair_entry(clip, frames, kbps, scale, split, path, "opencv-doc", sources.OPENCV_LICENCE),
                         ["-i", path], fit))
    # slow pans and zooms over stills (training split only: a val still must not leak into training);
    # each still at each scale, the rates in turn (shifted by 2 at 1.5x, so a still gets two rates)
    for j, scale in enumerate(PAN_SCALES):
        for i, s in enumerate([s for s in stills if s["split"] == "train"][: 1 if smoke else PANS]):
            suffix = "" if scale == 2.0 else f"-x{scale}"  # the 2x pans kept their first names
            clip = f"pan-{os.path.splitext(os.path.basename(s['file']))[0]}{suffix}"
            zoom = f"zoompan=z='min(1+0.002*on,1.3)':x='iw/2-(iw/zoom/2)+on':y='ih/2-(ih/zoom/2)':d={frames}:s=640x360:fps=30"
            kbps = PAN_KBPS[(i + 2 * j) % len(PAN_KBPS)]
            jobs.append((pair_entry(clip, frames, kbps, scale, "train", s["source"], s["package"], s["licence"]),
                         ["-loop", "1", "-i", os.path.join(out, s["file"])], zoom))
    bar = Progress("pairs", len(jobs))
    for entry, src_args, vf in jobs:
        prev = reusable(old, entry, out)
        if prev is not None:
            manifest.append(prev)
            bar.step(f"kept {os.path.basename(entry['file'])}")
            continue
        codec_pair(out, entry, src_args, vf, manifest)
        bar.step(os.path.basename(entry["file"]))
    # pairs of settings this version no longer makes (e.g. the earlier 1.5x rates) are removed
    kept = {m["file"] for m in manifest if m["kind"] == "pair"}
    pairs_dir = os.path.join(out, "pairs")
    for d in sorted(os.listdir(pairs_dir)):
        if os.path.join("pairs", d) not in kept:
            shutil.rmtree(os.path.join(pairs_dir, d))


def data_card(manifest):
    rows = {}
    for m in manifest:
        key = (m["package"], m["kind"], m["split"], m["licence"])
        rows.setdefault(key, {"items": 0, "frames": 0})
        rows[key]["items"] += 1
        rows[key]["frames"] += m.get("frames", 1)
    lines = ["| package | kind | split | items | images or frames | licence |", "|---|---|---|---|---|---|"]
    for (package, kind, split, licence), c in sorted(rows.items()):
        lines.append(f"| {package} | {kind} | {split} | {c['items']} | {c['frames']} | {licence} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=".auralink/aic-data", help="output folder (default: .auralink/aic-data)")
    ap.add_argument("--val-share", type=float, default=0.15, help="share of sources held out for validation")
    ap.add_argument("--smoke", action="store_true", help="a few items only, for CI")
    ap.add_argument("--force", action="store_true", help="remake every still and pair, even those that match")
    ap.add_argument("--stills-only", action="store_true", help="the stills alone, no video pairs (what tool 2 and pack_stills.py need; pairs already listed are kept)")
    args = ap.parse_args()
    if not 0 < args.val_share < 1:
        sys.exit(f"prepare_data: --val-share must be between 0 and 1, got {args.val_share}")
    if shutil.which("ffmpeg") is None:
        sys.exit("prepare_data: ffmpeg is missing: install the Debian package ffmpeg")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    manifest_path = os.path.join(out, "manifest.json")
    old = {}
    if os.path.exists(manifest_path) and not args.force:
        prev = json.load(open(manifest_path))
        if prev.get("seed") == SEED and prev.get("smoke") == args.smoke:
            old = {m["file"]: m for m in prev["items"]}
    manifest = []
    prepare_stills(out, still_sources(args.smoke), args.val_share, manifest, old)
    if args.stills_only:
        # pairs a previous run made stay listed (their files are untouched)
        manifest += [m for m in old.values() if m["kind"] == "pair"]
    else:
        prepare_pairs(out, manifest[:], args.smoke, manifest, old)
    with open(manifest_path, "w") as f:
        json.dump({"seed": SEED, "smoke": args.smoke, "items": manifest}, f, indent=1)
    print(data_card(manifest))
    print(f"\nprepare_data: {len(manifest)} items in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
