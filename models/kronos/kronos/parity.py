"""Reference fixtures for the ONNX Runtime parity check (parity/check.mjs).

Writes, into one directory:
  manifest.json   graphs, test cases, greedy loops, tolerance
  *.bin           tensors, little-endian raw (float32, float64 or int64), shapes in the manifest
  onnx/*.onnx     the graphs under test (freshly exported, or copied from --run's export)

Cases:
  * every graph at several batch sizes and lengths (the cached graphs at several history lengths,
    series groupings and filled/unfilled generated slots);
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
from . import cached
from .export import (CROSS_HEADS, GRAPH_FILES, DecodeGraph, DecodeTailGraph, EncodeGraph, S1Graph, S1StepGraph,
                     S2Graph, export_graphs)
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

    enc, dec, tail = EncodeGraph(tokenizer), DecodeGraph(tokenizer), DecodeTailGraph(tokenizer)
    s1g, kvg, s2g = S1Graph(model), S1StepGraph(model), S2Graph(model)
    for b, t in ((1, 1), (1, 16), (2, 37), (3, 64), (4, 128)):
        if t >= 2:
            _, raw = _series(rng, b, t)
            x, _, _ = normalize(features(raw.reshape(-1, 5)).reshape(b, t, 6), t)
        else:
            x = np.clip(rng.normal(0, 1, (b, 1, 6)), -5, 5).astype(np.float32)
        case("tokenizer_encode", enc, {"x": torch.from_numpy(x)}, ["s1", "s2"], exact=("s1", "s2"))
        s1, s2, stamp = _random_tokens(g, pred, b, t)
        case("tokenizer_decode", dec, {"s1": s1, "s2": s2}, ["x", "present_k", "present_v"])
        case("predictor_s1", s1g, {"s1": s1, "s2": s2, "stamp": stamp},
             ["s1_logits", "ctx_last", "present_k", "present_v", "cross_k", "cross_v"])
    nl, h, hd = pred.n_layers, pred.n_heads, pred.d_model // pred.n_heads
    chd = pred.d_model // CROSS_HEADS
    # Cached graphs on real caches (a prefix through the full graphs), G series of S rows each,
    # `filled` of `slots` generated slots written and noise in the rest (it must be masked).
    for groups, per, t, n, slots, filled in ((1, 1, 1, 1, 1, 0), (1, 4, 15, 1, 6, 3), (2, 3, 20, 1, 4, 4),
                                             (3, 1, 100, 2, 8, 5)):
        b = groups * per
        p1, p2, pst = _random_tokens(g, pred, groups, t)
        with eval_mode(model):
            ctx_h, pk, pv = model.trunk(p1, p2, pst)
            ck, cv = cached.cross_kv(model, ctx_h)
        noise = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
        gen = {f"gen_{kind}_{i}": noise(b, h, slots, hd) for kind in ("k", "v") for i in range(nl)}
        s1, s2, stamp = _random_tokens(g, pred, b, n)
        inputs = {"s1": s1, "s2": s2, "stamp": stamp, "gen_len": torch.tensor([filled])}
        inputs.update({f"hist_k_{i}": pk[i] for i in range(nl)})
        inputs.update({f"hist_v_{i}": pv[i] for i in range(nl)})
        inputs.update({f"gen_k_{i}": gen[f"gen_k_{i}"] for i in range(nl)})
        inputs.update({f"gen_v_{i}": gen[f"gen_v_{i}"] for i in range(nl)})
        case("predictor_s1_kv", kvg, inputs, ["s1_logits", "ctx_last", "new_k", "new_v", "cross_k", "cross_v"])
        case("predictor_s2", s2g, {"ctx_last": noise(b, pred.d_model), "s1": s1[:, 0],
                                   "gen_len": torch.tensor([filled]), "hist_k": ck, "hist_v": cv,
                                   "gen_k": noise(b, CROSS_HEADS, slots, chd), "gen_v": noise(b, CROSS_HEADS, slots, chd)},
             ["s2_logits"])
        h1 = torch.randint(0, 2 ** tok_cfg.s1_bits, (groups, t), generator=g)
        h2 = torch.randint(0, 2 ** tok_cfg.s2_bits, (groups, t), generator=g)
        with eval_mode(tokenizer):
            _, dk, dv = cached.decode_with_keys(tokenizer, h1, h2)
        t1 = torch.randint(0, 2 ** tok_cfg.s1_bits, (b, slots), generator=g)
        t2 = torch.randint(0, 2 ** tok_cfg.s2_bits, (b, slots), generator=g)
        inputs = {"s1": t1, "s2": t2}
        inputs.update({f"hist_k_{i}": dk[i] for i in range(dk.shape[0])})
        inputs.update({f"hist_v_{i}": dv[i] for i in range(dv.shape[0])})
        case("tokenizer_decode_kv", tail, inputs, ["x"])

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
