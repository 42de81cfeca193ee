#!/usr/bin/env python3
"""Smaller weights for an exported ONNX model, the graph otherwise unchanged: what tool 2's decoder
costs over the wire in fp16 or int8 (issue 16 asks for at most 4 MB).

  /usr/bin/python3 packages/aic/training/compress_weights.py --in packages/aic/models/image-codec-synthesis.onnx \
      --out .auralink/aic-weights/image-codec-synthesis-fp16.onnx --weights fp16

--weights fp16: every float initializer of at least --min-elements values is stored as float16
  and turned back into float32 by a Cast node (onnxruntime folds it when the session loads: the
  model runs in float32 as before, from weights rounded to float16).
--weights int8: every Conv weight of at least --min-elements values is stored as int8, symmetric,
  one scale per output channel (the largest magnitude / 127), and turned back into float32 by a
  DequantizeLinear node (axis 0); biases and other initializers stay float32. Weight-only: the
  activations stay float32.

Prints a JSON line: bytes before and after, and how many initializers were converted. Needs the
onnx Python package (Debian's python3-onnx).
"""
import argparse
import json
import os
import sys

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper, TensorProto
except ImportError:
    sys.exit("compress_weights: needs the onnx Python package (Debian: python3-onnx); run it with /usr/bin/python3")


def consumers(graph):
    """initializer name -> [(node, input index)] of the nodes that read it."""
    out = {}
    for node in graph.node:
        for i, name in enumerate(node.input):
            out.setdefault(name, []).append((node, i))
    return out


def compress(model, mode, min_elements):
    graph = model.graph
    readers = consumers(graph)
    keep, added, converted = [], [], 0
    for init in graph.initializer:
        a = numpy_helper.to_array(init)
        big = a.dtype == np.float32 and a.size >= min_elements
        conv_weight = a.ndim == 4 and all(n.op_type == "Conv" and i == 1 for n, i in readers.get(init.name, []))
        if not big or (mode == "int8" and not conv_weight):
            keep.append(init)
            continue
        converted += 1
        if mode == "fp16":
            stored = numpy_helper.from_array(a.astype(np.float16), f"{init.name}__fp16")
            keep.append(stored)
            added.append(helper.make_node("Cast", [stored.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__cast"))
            continue
        peak = np.abs(a.reshape(a.shape[0], -1)).max(axis=1)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.round(a / scale[:, None, None, None]), -127, 127).astype(np.int8)
        keep += [numpy_helper.from_array(q, f"{init.name}__q"),
                 numpy_helper.from_array(scale, f"{init.name}__scale"),
                 numpy_helper.from_array(np.zeros(a.shape[0], np.int8), f"{init.name}__zero")]
        added.append(helper.make_node("DequantizeLinear", [f"{init.name}__q", f"{init.name}__scale", f"{init.name}__zero"], [init.name], axis=0,
                                      name=f"{init.name}__dequantize"))
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = added + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return converted


def compress_file(path, mode, min_elements=1024):
    """Rewrites the ONNX file at `path` with `mode` weights in place; returns how many initializers were converted."""
    model = onnx.load(path)
    converted = compress(model, mode, min_elements)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return converted


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--weights", choices=("fp16", "int8"), required=True)
    ap.add_argument("--min-elements", type=int, default=1024, help="smaller initializers stay float32 (default 1024)")
    args = ap.parse_args()
    model = onnx.load(args.src)
    converted = compress(model, args.weights, args.min_elements)
    if converted == 0:
        sys.exit(f"compress_weights: {args.src} has no initializer to convert to {args.weights}")
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(model, args.out)
    print(json.dumps({"in": os.path.basename(args.src), "out": os.path.basename(args.out), "weights": args.weights,
                      "bytesBefore": os.path.getsize(args.src), "bytesAfter": os.path.getsize(args.out), "converted": converted}))


if __name__ == "__main__":
    main()
