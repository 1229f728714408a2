"""ONNX export (opset 17) of the pieces the TypeScript runtime needs, plus the model card.

Graphs, contract 2 (B rows, G series with B/G consecutive rows each, T history length, C
generated-cache slots, L/N sequence lengths; all dynamic; nl predictor layers, nd = n_dec_layers-1
tokenizer decoder layers; `*_{i}` is one input per layer):
  tokenizer_encode    x [B,T,6] f32 (normalized, clipped)        -> s1, s2 [B,T] i64
  tokenizer_decode    s1, s2 [B,T] i64                            -> x [B,T,6], present_k/v [nd,B,Ht,T,hdt]
  tokenizer_decode_kv s1, s2 [B,N]; hist_k_{i}, hist_v_{i} [G,Ht,T,hdt]
                                                                  -> x [B,N,6] (the N tokens after the T)
  predictor_s1        s1, s2 [B,L], stamp [B,L,5]                 -> s1_logits [B,V1], ctx_last [B,d],
                                                                     present_k/v [nl,B,H,L,hd], cross_k/v [B,4,L,d/4]
  predictor_s1_kv     s1, s2 [B,N], stamp [B,N,5], gen_len [1];
                      hist_k_{i}, hist_v_{i} [G,H,T,hd]; gen_k_{i}, gen_v_{i} [B,H,C,hd]
                                                                  -> s1_logits, ctx_last, new_k/v [nl,B,H,N,hd],
                                                                     cross_k/v [B,4,N,d/4]
  predictor_s2        ctx_last [B,d], s1 [B], gen_len [1]; hist_k/v [G,4,T,d/4]; gen_k/v [B,4,C,d/4]
                                                                  -> s2_logits [B,V2]

s1_logits are for the token after the last input position. predictor_s1 is the recompute step
(sliding window) and the prefill of the cached path. The runtime owns every cache: it writes
prefill's keys once per series (hist_*), each step's new_k/new_v and cross_k/v into slot gen_len
of its gen_* buffers, and never copies a cache; see kronos/cached.py for the arithmetic. The
cached path is valid only while the window does not slide (T + steps <= max_context), because a
sliding window restarts RoPE at 0 and drops the oldest token, which changes every hidden state.

Every export runs in eval mode; the wrappers are put in eval mode too, because
torch.onnx.export restores the *wrapper's* training flag onto its children afterwards.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import warnings
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.nn as nn

from . import cached
from .config import PredictorConfig, TokenizerConfig
from .data import DEFAULT_CLIP, FEATURES, NORM_EPS
from .modules import STAMP_COLUMNS, STAMP_SIZES
from .predictor import Kronos
from .tokenizer import KronosTokenizer

OPSET = 17
CARD_FORMAT = "kokex-kronos-card/1"
# 2: in-place KV cache (per-layer history and generated-slot inputs, outputs of the new position
# only), cached s2 cross-attention, tokenizer decode of the tail on the history's keys.
GRAPH_CONTRACT = 2
# The s2 head's cross-attention has 4 heads in every released model (upstream hard-codes it).
CROSS_HEADS = 4


class EncodeGraph(nn.Module):
    def __init__(self, tokenizer: KronosTokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    def forward(self, x):
        return self.tokenizer.encode(x)


class S1Graph(nn.Module):
    """Full window: the recompute step, and the prefill of the cached path."""

    def __init__(self, model: Kronos):
        super().__init__()
        self.model = model

    def forward(self, s1, s2, stamp):
        ctx, k, v = self.model.trunk(s1, s2, stamp)
        ck, cv = cached.cross_kv(self.model, ctx)
        last = ctx[:, -1]
        return self.model.s1_logits(last), last, k, v, ck, cv


class S1StepGraph(nn.Module):
    """The in-place KV step: new tokens against the runtime's history and generated caches."""

    def __init__(self, model: Kronos):
        super().__init__()
        self.model = model

    def forward(self, s1, s2, stamp, gen_len, *caches):
        nl = self.model.n_layers
        hk, hv, gk, gv = (caches[i * nl:(i + 1) * nl] for i in range(4))
        return cached.trunk_step(self.model, s1, s2, stamp, gen_len, hk, hv, gk, gv)


class S2Graph(nn.Module):
    """The s2 head on cached cross-attention keys/values: only the new position is fed."""

    def __init__(self, model: Kronos):
        super().__init__()
        self.model = model

    def forward(self, ctx_last, s1, gen_len, hist_k, hist_v, gen_k, gen_v):
        return cached.s2_step(self.model, ctx_last, s1, gen_len, hist_k, hist_v, gen_k, gen_v)


class DecodeGraph(nn.Module):
    def __init__(self, tokenizer: KronosTokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    def forward(self, s1, s2):
        return cached.decode_with_keys(self.tokenizer, s1, s2)


class DecodeTailGraph(nn.Module):
    def __init__(self, tokenizer: KronosTokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    def forward(self, s1, s2, *caches):
        nd = len(self.tokenizer.decoder)
        return cached.decode_tail(self.tokenizer, s1, s2, caches[:nd], caches[nd:])


def graph_specs(tok: TokenizerConfig, pred: PredictorConfig) -> Dict[str, Dict[str, List[Dict]]]:
    """Input/output names, dtypes and shapes (strings are dynamic axes) for each graph."""
    v1, v2, d = 2 ** pred.s1_bits, 2 ** pred.s2_bits, pred.d_model
    nl, h, hd = pred.n_layers, pred.n_heads, pred.d_model // pred.n_heads
    ch, chd = CROSS_HEADS, pred.d_model // CROSS_HEADS
    nd, th, thd = tok.n_dec_layers - 1, tok.n_heads, tok.d_model // tok.n_heads

    def t(name, dtype, shape):
        return {"name": name, "dtype": dtype, "shape": shape}

    def per_layer(kind, n, rows, heads, length, dim):
        return [t(f"{kind}_{i}", "float32", [rows, heads, length, dim]) for i in range(n)]

    kv = lambda name, length: t(name, "float32", [nl, "B", h, length, hd])  # noqa: E731
    cross = lambda name, rows, length: t(name, "float32", [rows, ch, length, chd])  # noqa: E731
    step_caches = (per_layer("hist_k", nl, "G", h, "T", hd) + per_layer("hist_v", nl, "G", h, "T", hd)
                   + per_layer("gen_k", nl, "B", h, "C", hd) + per_layer("gen_v", nl, "B", h, "C", hd))
    return {
        "tokenizer_encode": {
            "inputs": [t("x", "float32", ["B", "T", tok.d_in])],
            "outputs": [t("s1", "int64", ["B", "T"]), t("s2", "int64", ["B", "T"])],
        },
        "tokenizer_decode": {
            "inputs": [t("s1", "int64", ["B", "T"]), t("s2", "int64", ["B", "T"])],
            "outputs": [t("x", "float32", ["B", "T", tok.d_in]),
                        t("present_k", "float32", [nd, "B", th, "T", thd]),
                        t("present_v", "float32", [nd, "B", th, "T", thd])],
        },
        "tokenizer_decode_kv": {
            "inputs": [t("s1", "int64", ["B", "N"]), t("s2", "int64", ["B", "N"])]
            + per_layer("hist_k", nd, "G", th, "T", thd) + per_layer("hist_v", nd, "G", th, "T", thd),
            "outputs": [t("x", "float32", ["B", "N", tok.d_in])],
        },
        "predictor_s1": {
            "inputs": [t("s1", "int64", ["B", "L"]), t("s2", "int64", ["B", "L"]),
                       t("stamp", "int64", ["B", "L", 5])],
            "outputs": [t("s1_logits", "float32", ["B", v1]), t("ctx_last", "float32", ["B", d]),
                        kv("present_k", "L"), kv("present_v", "L"),
                        cross("cross_k", "B", "L"), cross("cross_v", "B", "L")],
        },
        "predictor_s1_kv": {
            "inputs": [t("s1", "int64", ["B", "N"]), t("s2", "int64", ["B", "N"]),
                       t("stamp", "int64", ["B", "N", 5]), t("gen_len", "int64", [1])] + step_caches,
            "outputs": [t("s1_logits", "float32", ["B", v1]), t("ctx_last", "float32", ["B", d]),
                        kv("new_k", "N"), kv("new_v", "N"),
                        cross("cross_k", "B", "N"), cross("cross_v", "B", "N")],
        },
        "predictor_s2": {
            "inputs": [t("ctx_last", "float32", ["B", d]), t("s1", "int64", ["B"]), t("gen_len", "int64", [1]),
                       cross("hist_k", "G", "T"), cross("hist_v", "G", "T"),
                       cross("gen_k", "B", "C"), cross("gen_v", "B", "C")],
            "outputs": [t("s2_logits", "float32", ["B", v2])],
        },
    }


def _dynamic_axes(spec: Dict[str, List[Dict]]) -> Dict[str, Dict[int, str]]:
    axes = {}
    for io in spec["inputs"] + spec["outputs"]:
        dyn = {i: str(s) for i, s in enumerate(io["shape"]) if isinstance(s, str)}
        if dyn:
            axes[io["name"]] = dyn
    return axes


def _example_inputs(name: str, tok: TokenizerConfig, pred: PredictorConfig):
    # Distinct sizes for every dynamic axis so the exporter cannot confuse them:
    # G 2 series, B 6 rows (3 per series), T 7 history, C 5 slots, N 2 new tokens.
    g_, b, t, c, n = 2, 6, 7, 5, 2
    g = torch.Generator().manual_seed(0)
    s1 = torch.randint(0, 2 ** pred.s1_bits, (b, t), generator=g)
    s2 = torch.randint(0, 2 ** pred.s2_bits, (b, t), generator=g)
    stamp = torch.stack([torch.randint(0, m, (b, t), generator=g) for m in STAMP_SIZES], dim=-1)
    nl, h, hd = pred.n_layers, pred.n_heads, pred.d_model // pred.n_heads
    chd = pred.d_model // CROSS_HEADS
    nd, th, thd = tok.n_dec_layers - 1, tok.n_heads, tok.d_model // tok.n_heads
    rnd = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    gen_len = torch.tensor([3], dtype=torch.long)
    if name == "tokenizer_encode":
        return (torch.randn(b, t, tok.d_in, generator=g),)
    if name == "tokenizer_decode":
        return (s1, s2)
    if name == "tokenizer_decode_kv":
        return (s1[:, :n], s2[:, :n], *[rnd(g_, th, t, thd) for _ in range(2 * nd)])
    if name == "predictor_s1":
        return (s1, s2, stamp)
    if name == "predictor_s1_kv":
        hist = [rnd(g_, h, t, hd) for _ in range(2 * nl)]
        gen = [rnd(b, h, c, hd) for _ in range(2 * nl)]
        return (s1[:, :n], s2[:, :n], stamp[:, :n], gen_len, *hist, *gen)
    if name == "predictor_s2":
        return (rnd(b, pred.d_model), s1[:, 0], gen_len, rnd(g_, CROSS_HEADS, t, chd), rnd(g_, CROSS_HEADS, t, chd),
                rnd(b, CROSS_HEADS, c, chd), rnd(b, CROSS_HEADS, c, chd))
    raise KeyError(name)


GRAPH_FILES = {
    "tokenizer_encode": "tokenizer_encode.onnx",
    "tokenizer_decode": "tokenizer_decode.onnx",
    "tokenizer_decode_kv": "tokenizer_decode_kv.onnx",
    "predictor_s1": "predictor_s1.onnx",
    "predictor_s1_kv": "predictor_s1_kv.onnx",
    "predictor_s2": "predictor_s2.onnx",
}


def export_graphs(tokenizer: KronosTokenizer, model: Kronos, out_dir: Path) -> Dict[str, str]:
    """Write the five ONNX graphs into out_dir; returns {graph: file name}."""
    import onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    tok_cfg, pred_cfg = tokenizer.config, model.config
    specs = graph_specs(tok_cfg, pred_cfg)
    wrappers = {
        "tokenizer_encode": EncodeGraph(tokenizer), "tokenizer_decode": DecodeGraph(tokenizer),
        "tokenizer_decode_kv": DecodeTailGraph(tokenizer),
        "predictor_s1": S1Graph(model), "predictor_s1_kv": S1StepGraph(model), "predictor_s2": S2Graph(model),
    }
    tokenizer = tokenizer.cpu()
    model = model.cpu()
    flags = (tokenizer.training, model.training)
    tokenizer.eval()
    model.eval()
    try:
        for name, wrapper in wrappers.items():
            wrapper.eval()
            spec = specs[name]
            path = out_dir / GRAPH_FILES[name]
            with torch.no_grad(), warnings.catch_warnings():
                # The tracer warns about Python ints taken from shapes; they stay symbolic
                # in the graph (checked by the multi-length parity test).
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    wrapper, _example_inputs(name, tok_cfg, pred_cfg), str(path),
                    input_names=[i["name"] for i in spec["inputs"]],
                    output_names=[o["name"] for o in spec["outputs"]],
                    dynamic_axes=_dynamic_axes(spec), opset_version=OPSET,
                    do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
            if wrapper.training or tokenizer.training or model.training:
                raise RuntimeError(f"export of {name} left a module in train mode")
            m = onnx.load(str(path))
            onnx.checker.check_model(m)
            ops = {n.op_type for n in m.graph.node}
            if "Dropout" in ops:
                raise RuntimeError(f"{name}: exported graph contains Dropout; the model was not in eval mode")
    finally:
        tokenizer.train(flags[0])
        model.train(flags[1])
    return dict(GRAPH_FILES)


def content_hash(out_dir: Path, files: Dict[str, str]) -> str:
    """sha256 over the ONNX files in graph-name order: name, NUL, bytes, NUL for each."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0")
        h.update((out_dir / files[name]).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _iso(ms: Optional[int]) -> Optional[str]:
    if ms is None:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).isoformat().replace("+00:00", "Z")


def write_card(out_dir: Path, files: Dict[str, str], tok_cfg: TokenizerConfig, pred_cfg: PredictorConfig,
               max_context: int, lookback: Optional[int], horizon: Optional[int], name: str,
               data: Optional[Dict] = None, metrics: Optional[Dict] = None, extra: Optional[Dict] = None) -> Dict:
    version = content_hash(out_dir, files)
    data_card = None
    if data:
        data_card = {
            "source": data.get("source"), "venue": data.get("venue"), "instrument": data.get("instrument"),
            "timeframe": data.get("timeframe"), "bar_ms": data.get("bar_ms"), "rows": data.get("rows"),
            "first_ts": data.get("first_ts"), "last_ts": data.get("last_ts"),
            "first": _iso(data.get("first_ts")), "last": _iso(data.get("last_ts")),
            "train": data.get("train"), "validation": data.get("validation"),
        }
        if data.get("test_from_ts") is not None:
            data_card["test_from_ts"] = data["test_from_ts"]
            data_card["test_from"] = _iso(data["test_from_ts"])
        if data.get("test"):
            data_card["test"] = data["test"]
        if data.get("sources"):
            data_card["sources"] = [{**src, "first": _iso(src.get("first_ts")), "last": _iso(src.get("last_ts"))}
                                    for src in data["sources"]]
    card = {
        "format": CARD_FORMAT,
        "name": name,
        "version": version,
        "version_algorithm": "sha256 over graph files sorted by graph name: name NUL bytes NUL",
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "config": {
            "tokenizer": tok_cfg.to_dict(),
            "predictor": pred_cfg.to_dict(),
            "max_context": max_context,
            "lookback": lookback,
            "horizon": horizon,
        },
        "preprocessing": {
            "features": FEATURES,
            "amount": "volume * mean(open, high, low, close) when the source has no quote volume",
            "normalization": "per window and column: (x - mean) / (std + eps) over the lookback rows only, "
                             "population std; then clip to [-clip, clip]; de-normalize x * (std + eps) + mean",
            "eps": NORM_EPS,
            "clip": DEFAULT_CLIP,
            "stamp_columns": list(STAMP_COLUMNS),
            "stamp_sizes": list(STAMP_SIZES),
            "stamp_timezone": "UTC; weekday Monday=0; day 1-31; month 1-12",
            "stamp_alignment": "input position t carries the stamp of bar t and predicts bar t+1",
        },
        "graphs": {g: {"file": files[g], **spec} for g, spec in graph_specs(tok_cfg, pred_cfg).items()},
        "opset": OPSET,
        "graph_contract": GRAPH_CONTRACT,
        "data": data_card,
        "metrics": metrics,
        "files": {f: (out_dir / f).stat().st_size for f in sorted(files.values())},
    }
    if extra:
        card.update(extra)
    (out_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def load_run(run_dir: Path):
    """Tokenizer, predictor (eval mode) and run config from a training/import directory."""
    cfg_path = run_dir / "config.json"
    if not cfg_path.exists():
        raise FileNotFoundError(f"{cfg_path} not found: pass a directory written by `train` or `import-official`")
    cfg = json.loads(cfg_path.read_text())
    tok_cfg = TokenizerConfig.from_dict(cfg["tokenizer"], str(cfg_path))
    pred_cfg = PredictorConfig.from_dict(cfg["predictor"], str(cfg_path))
    tokenizer, model = KronosTokenizer(tok_cfg), Kronos(pred_cfg)
    for module, fname in ((tokenizer, "tokenizer.pt"), (model, "predictor.pt")):
        p = run_dir / fname
        if not p.exists():
            raise FileNotFoundError(f"{p} not found: the run has not finished that stage")
        module.load_state_dict(torch.load(p, map_location="cpu"))
        module.eval()
    return tokenizer, model, cfg


def _compact_metrics(metrics: Dict) -> Dict:
    out = {}
    for stage, m in metrics.items():
        out[stage] = {k: v for k, v in m.items() if k != "history"} if isinstance(m, dict) else m
    return out


def export_run(run_dir: Path, out_dir: Path, copy_weights: bool = True) -> Dict:
    """Export a run directory's best weights to ONNX and write card.json."""
    tokenizer, model, cfg = load_run(run_dir)
    files = export_graphs(tokenizer, model, out_dir)
    metrics_path = run_dir / "metrics.json"
    metrics = _compact_metrics(json.loads(metrics_path.read_text())) if metrics_path.exists() else None
    previous = out_dir / "card.json"
    if metrics is None and previous.exists():
        # Re-exporting a shipped directory in place (no metrics.json there): keep what it measured.
        metrics = json.loads(previous.read_text()).get("metrics")
    if copy_weights and out_dir.resolve() != run_dir.resolve():
        torch.save(tokenizer.state_dict(), out_dir / "tokenizer.pt")
        torch.save(model.state_dict(), out_dir / "predictor.pt")
        (out_dir / "config.json").write_text((run_dir / "config.json").read_text())
    extra = {}
    if cfg.get("training"):
        args = {k: v for k, v in cfg["training"].items() if k not in ("out", "export", "resume", "cmd")}
        extra["training"] = {"command": cfg.get("command"), "args": args, "device": cfg.get("device"),
                             "torch": cfg.get("torch")}
    if cfg.get("official"):
        extra["official"] = cfg["official"]
    name = cfg.get("name") or f"kronos-{cfg.get('model', 'custom')}"
    if previous.exists():
        # Held-out figures (scripts/eval-model.ts --card) speak for these exact graphs: kept when
        # the re-export produced the same version, dropped otherwise.
        old_card = json.loads(previous.read_text())
        if old_card.get("evaluation") and old_card.get("version") == content_hash(out_dir, files):
            extra["evaluation"] = old_card["evaluation"]
    return write_card(out_dir, files, tokenizer.config, model.config, cfg["max_context"], cfg.get("lookback"),
                      cfg.get("horizon"), name, cfg.get("data"), metrics, extra)
