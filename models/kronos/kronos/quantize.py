"""Optional int8: dynamic quantization of an export's predictor graphs (Python side, onnx only).

What ONNX Runtime's `quantize_dynamic` does, written with the `onnx` package (the onnxruntime
Python wheel is not among Debian's packages): every MatMul (and Gemm) whose weight is a constant
becomes DynamicQuantizeLinear (activations to uint8, one scale per run) + MatMulInteger against
the weight quantized to int8 symmetrically per output column, then Cast and one Mul by
activation scale × column scales (+ the bias for a Gemm). Only the weights change; attention
between activations stays float32.

`quantize_export(src, out)` writes a copy of an export whose predictor_s1 and predictor_s1_kv
graphs (the trunk, where the time goes) are quantized; the card records it under
`quantization` and gets a new version. Off by default: docs/forecasting.md gives its measured
speed and accuracy against float32.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .export import GRAPH_FILES, content_hash

QUANTIZED_GRAPHS = ("predictor_s1", "predictor_s1_kv")


def _quantize_weight(w: np.ndarray):
    """int8 per output column (last axis), symmetric: w ≈ q * scale."""
    scale = np.abs(w).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def quantize_model(model: onnx.ModelProto, min_size: int = 4096) -> int:
    """Rewrites `model` in place; returns how many MatMul/Gemm nodes were quantized."""
    g = model.graph
    inits: Dict[str, onnx.TensorProto] = {i.name: i for i in g.initializer}
    new_nodes = []
    count = 0
    for node in g.node:
        weight_name = node.input[1] if len(node.input) > 1 else None
        w_init = inits.get(weight_name) if weight_name else None
        ok = node.op_type in ("MatMul", "Gemm") and w_init is not None and len(w_init.dims) == 2
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if ok and node.op_type == "Gemm":
            ok = attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 and not attrs.get("transA", 0)
        if not ok or int(np.prod(w_init.dims)) < min_size:
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(w_init).astype(np.float32)
        if node.op_type == "Gemm" and attrs.get("transB", 0):
            w = w.T
        q, scale = _quantize_weight(w)
        base = f"{node.name or node.output[0]}_q"
        g.initializer.extend([
            numpy_helper.from_array(q, f"{base}_w"),
            numpy_helper.from_array(scale, f"{base}_w_scale"),
            numpy_helper.from_array(np.zeros(q.shape[1], dtype=np.int8), f"{base}_w_zp"),
        ])
        x = node.input[0]
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [f"{base}_x", f"{base}_x_scale", f"{base}_x_zp"], name=f"{base}_dql"),
            helper.make_node("MatMulInteger", [f"{base}_x", f"{base}_w", f"{base}_x_zp", f"{base}_w_zp"], [f"{base}_i32"],
                             name=f"{base}_mmi"),
            helper.make_node("Cast", [f"{base}_i32"], [f"{base}_f"], to=TensorProto.FLOAT, name=f"{base}_cast"),
            helper.make_node("Mul", [f"{base}_x_scale", f"{base}_w_scale"], [f"{base}_scale"], name=f"{base}_s"),
        ]
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
            new_nodes += [
                helper.make_node("Mul", [f"{base}_f", f"{base}_scale"], [f"{base}_y"], name=f"{base}_mul"),
                helper.make_node("Add", [f"{base}_y", node.input[2]], [node.output[0]], name=f"{base}_bias"),
            ]
        else:
            new_nodes.append(helper.make_node("Mul", [f"{base}_f", f"{base}_scale"], [node.output[0]], name=f"{base}_mul"))
        count += 1
    del g.node[:]
    g.node.extend(new_nodes)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(model)
    return count


def quantize_export(src: Path, out: Path, graphs: Iterable[str] = QUANTIZED_GRAPHS, min_size: int = 4096) -> Dict:
    """Copies the export in `src` to `out` with `graphs` quantized; returns the new card."""
    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    card = json.loads((src / "card.json").read_text())
    report = {}
    for name, file in GRAPH_FILES.items():
        if name in graphs:
            m = onnx.load(str(src / file))
            report[name] = quantize_model(m, min_size)
            onnx.save(m, str(out / file))
        else:
            shutil.copyfile(src / file, out / file)
    for extra in ("config.json", "tokenizer.pt", "predictor.pt"):
        if (src / extra).exists():
            shutil.copyfile(src / extra, out / extra)
    card["version"] = content_hash(out, GRAPH_FILES)
    card["name"] = f"{card['name']}-int8"
    card["quantization"] = {"kind": "int8-dynamic", "weights": "int8 symmetric per output column",
                            "activations": "uint8 per run (DynamicQuantizeLinear)", "graphs": report}
    card["files"] = {f: (out / f).stat().st_size for f in sorted(GRAPH_FILES.values())}
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card
