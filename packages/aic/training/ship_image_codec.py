#!/usr/bin/python3
"""Copies a trained image codec (tool 2) into the package: its four files into
packages/aic/models/ with their manifest.json entries (tool "codec", role, size, SHA-256, one
shared version, what training recorded), the training state into training/checkpoints/image-codec.pt
(weights in float32, Adam's moments in bfloat16 to keep the committed file small, the step, the
RNG states, the lr scale and the config: train_image_codec.py --resume-from continues from it as
from the run's own checkpoint, with the same schedule and crops), and the integer
hyper-synthesis fixture into training/fixtures/ for the TypeScript tests.

  python packages/aic/training/ship_image_codec.py --run .auralink/aic-runs/image-codec

The version goes up by one whenever any of the four files changes; it travels in every
bitstream's ImageHeader.model_version, and a decoder refuses a stream of another version.
"""
import argparse
import copy
import hashlib
import inspect
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from runlog import last_summary  # noqa: E402
from export_image_codec import FILES, IO, MAX_ONNX_BYTES  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a run folder of train_image_codec.py")
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--checkpoints", default=os.path.join(HERE, "checkpoints"))
    ap.add_argument("--fixtures", default=os.path.join(HERE, "fixtures"))
    ap.add_argument("--allow-smoke", action="store_true", help="ship a --smoke run (tests only, into other folders)")
    args = ap.parse_args()

    summary = last_summary(os.path.join(args.run, "log.jsonl"), "ship_image_codec")
    if summary.get("smoke") and not args.allow_smoke:
        sys.exit("ship_image_codec: the run is a --smoke run; only full runs ship")
    import onnx
    import torch
    blobs = {}
    for role, name in FILES.items():
        path = os.path.join(args.run, name)
        if not os.path.exists(path):
            sys.exit(f"ship_image_codec: {path} is missing")
        data = open(path, "rb").read()
        if len(data) > MAX_ONNX_BYTES:
            sys.exit(f"ship_image_codec: {path} is {len(data)} bytes, over the {MAX_ONNX_BYTES}-byte limit")
        if name.endswith(".onnx"):
            model = onnx.load_from_string(data)
            onnx.checker.check_model(model)
            names = ([i.name for i in model.graph.input], [o.name for o in model.graph.output])
            if names != ([IO[role][0]], [IO[role][1]]):
                sys.exit(f"ship_image_codec: {path} has inputs/outputs {names}, expected {IO[role]}")
        blobs[role] = data
    legacy = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    ckpt = torch.load(os.path.join(args.run, "checkpoint.pt"), map_location="cpu", **legacy)

    os.makedirs(args.models, exist_ok=True)
    manifest_path = os.path.join(args.models, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {"models": []}
    old = {m.get("role"): m for m in manifest["models"] if m.get("tool") == "codec"}
    shas = {role: hashlib.sha256(data).hexdigest() for role, data in blobs.items()}
    old_version = max([m["version"] for m in old.values()], default=0)
    same = all(old.get(role, {}).get("sha256") == sha for role, sha in shas.items())
    version = old_version if same and old_version > 0 else old_version + 1
    training = {k: summary[k] for k in ("steps", "torch", "parameters", "val", "valImages", "intAgreement", "seconds") if k in summary} | {"config": ckpt["config"]}
    entries = []
    for role, name in FILES.items():
        entry = {"name": os.path.splitext(name)[0], "file": name, "tool": "codec", "role": role, "version": version,
                 "sha256": shas[role], "bytes": len(blobs[role]), "input": IO[role][0], "output": IO[role][1]}
        if name.endswith(".onnx"):
            entry["opset"] = ckpt["config"]["opset"]
        if role == "tables":
            entry["training"] = training
        entries.append(entry)
        with open(os.path.join(args.models, name), "wb") as f:
            f.write(blobs[role])
    manifest["models"] = [m for m in manifest["models"] if m.get("tool") != "codec"] + entries
    manifest["models"].sort(key=lambda m: m["name"])
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.makedirs(args.checkpoints, exist_ok=True)
    small = {k: ckpt[k] for k in ("model", "step", "config", "rng", "torch_rng", "lr_scale") if k in ckpt}
    if "opt" in ckpt:
        # Adam's moments in bfloat16 (float32's range, 8 bits of mantissa: enough for a running
        # mean and variance); Optimizer.load_state_dict casts them back to the parameters' float32
        opt = copy.deepcopy(ckpt["opt"])
        for state in opt["state"].values():
            for key in ("exp_avg", "exp_avg_sq"):
                if key in state:
                    state[key] = state[key].to(torch.bfloat16)
        small["opt"] = opt
    torch.save(small, os.path.join(args.checkpoints, "image-codec.pt"))
    os.makedirs(args.fixtures, exist_ok=True)
    shutil.copyfile(os.path.join(args.run, "hyper-fixture.json"), os.path.join(args.fixtures, "image-codec-hyper.json"))
    print(json.dumps({"version": version, "files": {e["file"]: e["bytes"] for e in entries}, "steps": ckpt["step"]}, indent=1))


if __name__ == "__main__":
    main()
