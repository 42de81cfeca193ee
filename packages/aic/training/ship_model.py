#!/usr/bin/python3
"""Copies a trained model into the package: the ONNX file into packages/aic/models/ with its entry
in models/manifest.json (size, SHA-256, version, what training recorded), and the checkpoint into
training/checkpoints/ so a later session can continue it (train_enhancer.py --resume-from).

  /usr/bin/python3 packages/aic/training/ship_model.py --run .auralink/aic-runs/enhancer-x2
  /usr/bin/python3 packages/aic/training/ship_model.py --run .auralink/aic-runs/enhancer-x1.5

The version goes up by one whenever the shipped bytes change; it travels in AIC metadata
(protos/aic.proto), so a receiver knows which model restored a frame.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from runlog import last_summary  # noqa: E402

MAX_ONNX_BYTES = 2 * 1024 * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a run folder of train_enhancer.py (log.jsonl, checkpoint.pt, <name>.onnx)")
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--checkpoints", default=os.path.join(HERE, "checkpoints"))
    args = ap.parse_args()

    summary = last_summary(os.path.join(args.run, "log.jsonl"), "ship_model")
    if summary.get("smoke"):
        sys.exit("ship_model: the run is a --smoke run; only full runs ship")
    name = summary["name"]
    onnx_path = os.path.join(args.run, f"{name}.onnx")
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    for path in (onnx_path, ckpt_path):
        if not os.path.exists(path):
            sys.exit(f"ship_model: {path} is missing")
    data = open(onnx_path, "rb").read()
    if len(data) > MAX_ONNX_BYTES:
        sys.exit(f"ship_model: {onnx_path} is {len(data)} bytes, over the {MAX_ONNX_BYTES}-byte limit")
    import onnx  # python3-onnx: the same check the training smoke test makes
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model)
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if len(inputs) != 1 or len(outputs) != 1:
        sys.exit(f"ship_model: expected one input and one output, got {inputs} and {outputs}")
    import torch
    import inspect
    legacy = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    config = torch.load(ckpt_path, map_location="cpu", **legacy)["config"]

    os.makedirs(args.models, exist_ok=True)
    manifest_path = os.path.join(args.models, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {"models": []}
    sha = hashlib.sha256(data).hexdigest()
    old = next((m for m in manifest["models"] if m["name"] == name), None)
    version = 1 if old is None else old["version"] + (0 if old["sha256"] == sha else 1)
    entry = {
        "name": name, "file": f"{name}.onnx", "tool": "enhance", "scale": config["scale"], "version": version,
        "sha256": sha, "bytes": len(data), "input": inputs[0], "output": outputs[0], "opset": model.opset_import[0].version,
        "training": {k: summary[k] for k in ("steps", "torch", "parameters", "valPsnr", "valPsnrBicubic", "valFrames", "initFrom") if k in summary}
                    | {"config": config},
    }
    manifest["models"] = [m for m in manifest["models"] if m["name"] != name] + [entry]
    manifest["models"].sort(key=lambda m: m["name"])
    with open(os.path.join(args.models, entry["file"]), "wb") as f:
        f.write(data)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.makedirs(args.checkpoints, exist_ok=True)
    shutil.copyfile(ckpt_path, os.path.join(args.checkpoints, f"{name}.pt"))
    print(json.dumps(entry, indent=1))


if __name__ == "__main__":
    main()
