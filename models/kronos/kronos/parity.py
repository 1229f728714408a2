"""Reference fixtures for the ONNX Runtime parity check (parity/check.mjs).

Writes, into one directory:
  manifest.json   graphs, test cases, greedy loops, tolerance
  *.bin           tensors, little-endian raw (float32, float64 or int64), shapes in the manifest
  onnx/*.onnx     the graphs under test (freshly exported, or copied from --run's export)

Cases:
  * every graph at several batch sizes and lengths (KV graph at several cache lengths);
  * preprocessing (raw candles -> normalized features and stamps), so the JS side of the
    runtime can be checked against the Python definition;
  * greedy autoregressive loops: full recompute with a sliding window, and the KV-cache path;
    the Node side must produce identical tokens.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from .config import PredictorConfig, TokenizerConfig
from .data import features, normalize, time_stamps
from .export import GRAPH_FILES, S1Graph, S1KVGraph, S2Graph, EncodeGraph, DecodeGraph, export_graphs
from .inference import Sampling, eval_mode, generate
from .modules import STAMP_SIZES
from .predictor import Kronos
from .tokenizer import KronosTokenizer

TOLERANCE = 1e-4


class _Writer:
    def __init__(self, out: Path):
        self.out = out
        self.n = 0

    def tensor(self, arr) -> Dict:
        if isinstance(arr, torch.Tensor):
            arr = arr.detach().cpu().numpy()
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float32:
            dtype = "float32"
        elif arr.dtype == np.float64:
            dtype = "float64"
        elif arr.dtype in (np.int64, np.int32):
            arr, dtype = arr.astype("<i8"), "int64"
        else:
            raise TypeError(f"unsupported dtype {arr.dtype}")
        self.n += 1
        name = f"t{self.n:04d}.bin"
        (self.out / name).write_bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        return {"dtype": dtype, "shape": list(arr.shape), "file": name}


def _random_tokens(g: torch.Generator, pred: PredictorConfig, b: int, n: int):
    s1 = torch.randint(0, 2 ** pred.s1_bits, (b, n), generator=g)
    s2 = torch.randint(0, 2 ** pred.s2_bits, (b, n), generator=g)
    stamp = torch.stack([torch.randint(0, m, (b, n), generator=g) for m in STAMP_SIZES], dim=-1)
    return s1, s2, stamp


def _series(g: np.random.Generator, b: int, n: int):
    """Random-walk candles with realistic magnitudes (prices ~ 3e4, volumes ~ 1e2)."""
    ts0 = 1_700_000_000_000 + 3_600_000 * np.arange(n, dtype=np.int64)
    out = []
    for _ in range(b):
        close = 30000 * np.exp(np.cumsum(g.normal(0, 0.01, n)))
        open_ = np.concatenate([[close[0]], close[:-1]])
        high = np.maximum(open_, close) * (1 + np.abs(g.normal(0, 0.003, n)))
        low = np.minimum(open_, close) * (1 - np.abs(g.normal(0, 0.003, n)))
        vol = np.abs(g.normal(100, 30, n))
        out.append(np.stack([open_, high, low, close, vol], axis=1))
    return ts0, np.stack(out)


def write_fixtures(out: Path, tokenizer: Optional[KronosTokenizer] = None, model: Optional[Kronos] = None,
                   onnx_dir: Optional[Path] = None, seed: int = 0) -> Dict:
    """Export (or copy) the graphs and write reference inputs/outputs. Returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    if tokenizer is None or model is None:
        from .config import resolve_predictor_config, resolve_tokenizer_config
        tokenizer = KronosTokenizer(resolve_tokenizer_config("tokenizer-tiny"))
        model = Kronos(resolve_predictor_config("tiny"))
    tokenizer.eval()
    model.eval()
    gdir = out / "onnx"
    if onnx_dir is not None:
        gdir.mkdir(parents=True, exist_ok=True)
        for f in GRAPH_FILES.values():
            shutil.copyfile(onnx_dir / f, gdir / f)
    else:
        export_graphs(tokenizer, model, gdir)
    w = _Writer(out)
    tok_cfg: TokenizerConfig = tokenizer.config
    pred: PredictorConfig = model.config
    g = torch.Generator().manual_seed(seed + 1)
    rng = np.random.default_rng(seed + 2)
    cases = []

    def case(graph, wrapper, inputs: Dict[str, torch.Tensor], output_names, exact=()):
        with eval_mode(wrapper):
            outs = wrapper(*inputs.values())
        if isinstance(outs, torch.Tensor):
            outs = (outs,)
        cases.append({
            "graph": graph,
            "label": ", ".join(f"{k}{list(v.shape)}" for k, v in inputs.items()),
            "inputs": {k: w.tensor(v) for k, v in inputs.items()},
            "outputs": {k: w.tensor(v) for k, v in zip(output_names, outs)},
            "exact": list(exact),
        })

    enc, dec = EncodeGraph(tokenizer), DecodeGraph(tokenizer)
    s1g, kvg, s2g = S1Graph(model), S1KVGraph(model), S2Graph(model)
    for b, t in ((1, 1), (1, 16), (2, 37), (3, 64), (4, 128)):
        if t >= 2:
            _, raw = _series(rng, b, t)
            x, _, _ = normalize(features(raw.reshape(-1, 5)).reshape(b, t, 6), t)
        else:
            x = np.clip(rng.normal(0, 1, (b, 1, 6)), -5, 5).astype(np.float32)
        case("tokenizer_encode", enc, {"x": torch.from_numpy(x)}, ["s1", "s2"], exact=("s1", "s2"))
        s1, s2, stamp = _random_tokens(g, pred, b, t)
        case("tokenizer_decode", dec, {"s1": s1, "s2": s2}, ["x"])
        case("predictor_s1", s1g, {"s1": s1, "s2": s2, "stamp": stamp},
             ["s1_logits", "ctx", "present_k", "present_v"])
        ctx = torch.randn(b, t, pred.d_model, generator=g)
        case("predictor_s2", s2g, {"ctx": ctx, "s1": s1[:, -1]}, ["s2_logits"])
    nl, h, hd = pred.n_layers, pred.n_heads, pred.d_model // pred.n_heads
    for b, n, p in ((1, 1, 1), (2, 1, 15), (3, 4, 20), (2, 1, 100)):
        s1, s2, stamp = _random_tokens(g, pred, b, n)
        # A real cache, not noise: run the prefix through the full graph first.
        p1, p2, pst = _random_tokens(g, pred, b, p)
        with eval_mode(model):
            _, pk, pv = model.trunk(p1, p2, pst)
        case("predictor_s1_kv", kvg, {"s1": s1, "s2": s2, "stamp": stamp, "past_k": pk, "past_v": pv},
             ["s1_logits", "ctx", "present_k", "present_v"])

    # Preprocessing reference (float64 in, float32 normalized out).
    ts0, raw = _series(rng, 1, 48)
    x, mean, std = normalize(features(raw[0]), 48)
    preprocess = {"ts": w.tensor(ts0), "ohlcv": w.tensor(raw[0]), "x": w.tensor(x), "mean": w.tensor(mean),
                  "std": w.tensor(std), "stamp": w.tensor(time_stamps(ts0))}

    loops = []
    for name, b, t, pred_len, max_ctx, kv in (("greedy_sliding_full", 2, 20, 12, 24, False),
                                              ("greedy_kv_cache", 2, 20, 12, 64, True),
                                              ("greedy_full_no_slide", 3, 10, 6, 64, False)):
        ts_all, raw = _series(rng, b, t + pred_len)
        feats = features(raw.reshape(-1, 5)).reshape(b, t + pred_len, 6)
        x, _, _ = normalize(feats[:, :t], t)
        stamps = np.broadcast_to(time_stamps(ts_all), (b, t + pred_len, 5)).copy()
        gen = generate(tokenizer, model, torch.from_numpy(x), torch.from_numpy(stamps[:, :t]),
                       torch.from_numpy(stamps[:, t:]), pred_len, max_ctx, Sampling(greedy=True),
                       use_kv_cache=kv)
        loops.append({"name": name, "max_context": max_ctx, "pred_len": pred_len, "use_kv_cache": kv,
                      "x": w.tensor(x), "stamp": w.tensor(stamps), "s1": w.tensor(gen.s1), "s2": w.tensor(gen.s2),
                      "decoded": w.tensor(gen.decoded)})

    manifest = {
        "format": "kokex-kronos-parity/1",
        "tolerance": TOLERANCE,
        "graphs": {k: f"onnx/{v}" for k, v in GRAPH_FILES.items()},
        "config": {"tokenizer": tok_cfg.to_dict(), "predictor": pred.to_dict()},
        "cases": cases,
        "preprocess": preprocess,
        "loops": loops,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
