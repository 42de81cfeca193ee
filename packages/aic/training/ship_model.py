#!/usr/bin/python3
"""Copies a trained model into the package: the ONNX file into packages/aic/models/ with its entry
in models/manifest.json (size, SHA-256, version, what training recorded), and the checkpoint into
training/checkpoints/ so a later session can continue it (train_enhancer.py --resume-from).

  /usr/bin/python3 packages/aic/training/ship_model.py --run .auralink/aic-runs/enhancer-x2
  /usr/bin/python3 packages/aic/training/ship_model.py --run .auralink/aic-runs/enhancer-x1.5
  /usr/bin/python3 packages/aic/training/ship_model.py --run .auralink/aic-runs/enhancer-x2-fast --variant fast \
      [--onnx .auralink/aic-quant/enhancer-x2-fast-int8.onnx]   (then quantize_enhancer.py's <onnx>.json goes in too)

--variant marks the entry (createEnhancer({ variant }) picks it; without it the entry is the
'standard' one for its scale). --onnx ships another ONNX file made from the run's model (an int8
quantisation of it by quantize_enhancer.py) instead of the run's own export; its facts
(<file>.json beside it) go into the entry's "quantization".

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
    ap.add_argument("--variant", choices=("standard", "fast"), help="the entry's variant (default: none written, i.e. standard)")
    ap.add_argument("--onnx", help="ship this ONNX file (made from the run's model, e.g. quantised) instead of the run's export")
    args = ap.parse_args()

    summary = last_summary(os.path.join(args.run, "log.jsonl"), "ship_model")
    # a run continued with --resume: its first session's --init-from and the seconds of every session
    sessions = [json.loads(line)["summary"] for line in open(os.path.join(args.run, "log.jsonl")) if '"summary"' in line]
    sessions = [x for x in sessions if not x.get("smoke")]
    if "initFrom" not in summary and sessions and "initFrom" in sessions[0]:
        summary = summary | {"initFrom": sessions[0]["initFrom"]}
    summary = summary | {"trainingSeconds": round(sum(x.get("seconds", 0) for x in sessions), 1), "sessions": len(sessions)}
    if summary.get("smoke"):
        sys.exit("ship_model: the run is a --smoke run; only full runs ship")
    name = summary["name"]
    onnx_path = args.onnx or os.path.join(args.run, f"{name}.onnx")
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    quantization = None
    if args.onnx:
        facts = f"{args.onnx}.json"
        if not os.path.exists(facts):
            sys.exit(f"ship_model: {facts} is missing: --onnx ships a file that quantize_enhancer.py made, with its facts beside it")
        quantization = json.load(open(facts))
        if quantization.get("fromSha256") != hashlib.sha256(open(os.path.join(args.run, f"{name}.onnx"), "rb").read()).hexdigest():
            sys.exit(f"ship_model: {args.onnx} was not made from {os.path.join(args.run, name + '.onnx')} (fromSha256 differs)")
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
    } | ({"variant": args.variant} if args.variant else {}) | {
        "training": {k: summary[k] for k in ("steps", "torch", "parameters", "valPsnr", "valPsnrBicubic", "valFrames", "initFrom",
                                             "trainingSeconds", "sessions") if k in summary}
                    | {"config": config},
    } | ({"quantization": {k: v for k, v in quantization.items() if k != "bytes"}} if quantization else {})
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
