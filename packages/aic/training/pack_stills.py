#!/usr/bin/python3
"""Packs tool 2's training data to travel: the stills prepare_data.py made (train and val) and a
manifest of only those, into one folder small enough to go with the repository to the GPU
machine (the device tool carries at most 64 MiB). The stills are copied as they are (PNG): no
re-encoding, so the GPU trains on exactly the pixels the CPU does.

  /usr/bin/python3 packages/aic/training/pack_stills.py [--data .auralink/aic-data] [--out .auralink/aic-stills]
"""
import argparse
import json
import os
import shutil
import sys

LIMIT = 56 * 2 ** 20  # leaves room under the 64 MiB carry for the checkpoint that resumes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".auralink/aic-data")
    ap.add_argument("--out", default=".auralink/aic-stills")
    args = ap.parse_args()
    manifest_path = os.path.join(args.data, "manifest.json")
    if not os.path.exists(manifest_path):
        sys.exit(f"pack_stills: no {manifest_path}: run prepare_data.py first (npm run aic:data)")
    manifest = json.load(open(manifest_path))
    stills = [i for i in manifest["items"] if i["kind"] == "still"]
    if not stills:
        sys.exit(f"pack_stills: {manifest_path} lists no stills")
    size = sum(os.path.getsize(os.path.join(args.data, i["file"])) for i in stills)
    if size > LIMIT:
        sys.exit(f"pack_stills: the stills take {size / 2 ** 20:.1f} MiB, over {LIMIT / 2 ** 20:.0f} MiB: they would not travel")
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    for i in stills:
        dest = os.path.join(args.out, i["file"])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.join(args.data, i["file"]), dest)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({**manifest, "items": stills, "packedFrom": "prepare_data.py's stills only (pack_stills.py)"}, f, indent=1)
    train = sum(1 for i in stills if i["split"] == "train")
    print(f"pack_stills: {len(stills)} stills ({train} train, {len(stills) - train} val), {size / 2 ** 20:.1f} MiB, in {args.out}")


if __name__ == "__main__":
    main()
