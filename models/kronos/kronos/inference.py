"""Autoregressive inference in PyTorch: the reference that the ONNX runtime must reproduce.

The loop follows upstream `auto_regressive_inference`:
  encode the whole lookback once; for each step take the last min(L, max_context) tokens and
  the stamps of the same bars, predict s1 at the last position, then s2 given that s1; append;
  finally decode the last min(T+P, max_context) tokens and keep the last P rows.
With use_kv_cache=True (only while the window does not slide) the trunk runs on the new
token alone with cached keys/values; RoPE positions continue at the cache length, so the
result equals the full recompute.

The models are always run in eval mode (the upstream `.eval()` pitfall): `eval_mode`
switches them and restores the caller's flags afterwards.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import torch
import torch.nn as nn

from .data import DEFAULT_CLIP, denormalize, features, normalize, time_stamps
from .predictor import Kronos
from .tokenizer import KronosTokenizer


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    flags = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        with torch.no_grad():
            yield
    finally:
        for m, f in zip(modules, flags):
            m.train(f)


@dataclass
class Sampling:
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.9
    greedy: bool = False

    def pick(self, logits: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        """logits [B, V] -> ids [B]. Greedy is argmax (the only mode comparable across runtimes)."""
        if self.greedy or self.top_k == 1:
            return logits.argmax(dim=-1)
        logits = logits / self.temperature
        if self.top_k > 0:
            # As upstream: with top_k set, top_p is ignored.
            kth = torch.topk(logits, min(self.top_k, logits.shape[-1]), dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        elif self.top_p < 1.0:
            sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
            cum = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1)
            drop = cum > self.top_p
            # Shift right so the first token that crosses p (and always the top-1) stays.
            drop[..., 1:] = drop[..., :-1].clone()
            drop[..., 0] = False
            mask = torch.zeros_like(drop).scatter(-1, order, drop)
            logits = logits.masked_fill(mask, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@dataclass
class Generation:
    s1: np.ndarray  # int64 [B', T + P] history + generated tokens (B' = B * samples)
    s2: np.ndarray
    decoded: np.ndarray  # float32 [B', P, 6] normalized predictions per sample path


def generate(tokenizer: KronosTokenizer, model: Kronos, x: torch.Tensor, x_stamp: torch.Tensor,
             y_stamp: torch.Tensor, pred_len: int, max_context: int, sampling: Sampling,
             sample_count: int = 1, use_kv_cache: bool = False, clip: float = DEFAULT_CLIP,
             generator: Optional[torch.Generator] = None) -> Generation:
    """x: normalized [B, T, 6]; x_stamp [B, T, 5]; y_stamp [B, P, 5]."""
    if pred_len < 1:
        raise ValueError("pred_len must be >= 1")
    if y_stamp.shape[1] < pred_len:
        raise ValueError(f"y_stamp has {y_stamp.shape[1]} rows but pred_len is {pred_len}")
    if pred_len > max_context:
        raise ValueError(f"pred_len {pred_len} exceeds max_context {max_context}; the final decode "
                         f"window could not hold the forecast")
    with eval_mode(tokenizer, model):
        x = torch.clamp(x, -clip, clip)
        if sample_count > 1:
            # Interleave samples along the batch as upstream does: [b0s0, b0s1, ..., b1s0, ...].
            x = x.repeat_interleave(sample_count, dim=0)
            x_stamp = x_stamp.repeat_interleave(sample_count, dim=0)
            y_stamp = y_stamp.repeat_interleave(sample_count, dim=0)
        s1, s2 = tokenizer.encode(x)
        stamps = torch.cat([x_stamp, y_stamp[:, :pred_len]], dim=1).long()
        t0 = s1.shape[1]
        past_k = past_v = None
        ctx_cache = None
        for i in range(pred_len):
            length = t0 + i
            start = max(0, length - max_context)
            if use_kv_cache and length <= max_context:
                if past_k is None:
                    ctx_cache, past_k, past_v = model.trunk(s1, s2, stamps[:, :length])
                ctx = ctx_cache
            else:
                ctx, _, _ = model.trunk(s1[:, start:length], s2[:, start:length], stamps[:, start:length])
            logits1 = model.s1_logits(ctx[:, -1])
            next1 = sampling.pick(logits1, generator)
            logits2 = model.s2_logits(ctx, next1[:, None])[:, -1]
            next2 = sampling.pick(logits2, generator)
            s1 = torch.cat([s1, next1[:, None]], dim=1)
            s2 = torch.cat([s2, next2[:, None]], dim=1)
            if use_kv_cache and past_k is not None and length + 1 <= max_context and i + 1 < pred_len:
                # Feed the token just chosen (with its bar's stamp) through the cached trunk.
                new_ctx, past_k, past_v = model.trunk(s1[:, -1:], s2[:, -1:], stamps[:, length:length + 1],
                                                      past_k, past_v)
                ctx_cache = torch.cat([ctx_cache, new_ctx], dim=1)
        total = t0 + pred_len
        start = max(0, total - max_context)
        decoded = tokenizer.decode(s1[:, start:total], s2[:, start:total])[:, -pred_len:]
    return Generation(s1.cpu().numpy(), s2.cpu().numpy(), decoded.float().cpu().numpy())


def forecast(tokenizer: KronosTokenizer, model: Kronos, ts_ms: np.ndarray, ohlcv: np.ndarray,
             pred_len: int, bar_ms: int, max_context: int, sampling: Sampling, sample_count: int = 1,
             seed: Optional[int] = None, clip: float = DEFAULT_CLIP) -> dict:
    """Raw candles of one series -> de-normalized forecast paths and their mean.

    ts_ms [T], ohlcv [T, 5]. Statistics come from the whole lookback given (pass at most
    max_context rows to match training). Future stamps are ts[-1] + k * bar_ms.
    """
    feats = features(np.asarray(ohlcv, dtype=np.float64))
    x, mean, std = normalize(feats, feats.shape[0], clip)
    future_ts = ts_ms[-1] + bar_ms * np.arange(1, pred_len + 1, dtype=np.int64)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    out = generate(tokenizer, model, torch.from_numpy(x)[None], torch.from_numpy(time_stamps(ts_ms))[None],
                   torch.from_numpy(time_stamps(future_ts))[None], pred_len, max_context, sampling,
                   sample_count=sample_count, clip=clip, generator=gen)
    paths = denormalize(out.decoded, mean[None], std[None])  # [S, P, 6]
    return {"ts": future_ts, "paths": paths, "mean": paths.mean(axis=0)}
