"""Building blocks shared by the tokenizer and the predictor.

Attribute names (q_proj, norm1, ffn.w1, rotary.inv_freq, ...) are those of the official
checkpoints; do not rename them or official weights stop loading.

Export notes (see docs in ../README.md):
  * rotary tables are built from the current length inside `forward`, never cached, so the
    ONNX graph keeps the sequence axis dynamic;
  * attention is written out (no fused SDPA: torch 1.13 has none, and the explicit form
    exports to plain MatMul/Softmax that ONNX Runtime reproduces to ~1e-6);
  * the causal mask is computed from positions, which also supports a KV cache offset.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


class FeedForward(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x), no biases."""

    def __init__(self, d_model: int, ff_dim: int, ffn_dropout_p: float = 0.0):
        super().__init__()
        self.w1 = nn.Linear(d_model, ff_dim, bias=False)
        self.w3 = nn.Linear(d_model, ff_dim, bias=False)
        self.w2 = nn.Linear(ff_dim, d_model, bias=False)
        self.ffn_dropout = nn.Dropout(ffn_dropout_p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn_dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class RotaryPositionalEmbedding(nn.Module):
    """RoPE with base 10000, rotate-half convention.

    `inv_freq` stays a persistent buffer only because the official state dicts contain it.
    The cos/sin tables are recomputed from `positions` on every call: a cached table would be
    frozen into an exported graph as a constant of one length.
    """

    def __init__(self, dim: int):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq)

    def rotate(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        # x: [B, H, L, hd]; positions: [L] float
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos()[None, None, :, :]
        sin = emb.sin()[None, None, :, :]
        x1, x2 = x.chunk(2, dim=-1)
        rotated = torch.cat((-x2, x1), dim=-1)
        return x * cos + rotated * sin


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: Optional[torch.Tensor],
            dropout_p: float, training: bool) -> torch.Tensor:
    """Scaled dot-product attention. allowed: bool [Lq, Lk] (True = may attend) or None."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if training and dropout_p > 0:
        weights = F.dropout(weights, p=dropout_p, training=True)
    return torch.matmul(weights, v)


def causal_allowed(q_len, k_len, device) -> torch.Tensor:
    """Bottom-right aligned causal mask: query i sits at key position k_len - q_len + i.

    With a KV cache (k_len = past + new) this is exactly "attend to everything up to me".
    """
    q_pos = torch.arange(q_len, device=device) + (k_len - q_len)
    k_pos = torch.arange(k_len, device=device)
    return k_pos[None, :] <= q_pos[:, None]


class MultiHeadAttentionWithRoPE(nn.Module):
    """Causal self-attention with rotary positions and an optional KV cache."""

    def __init__(self, d_model: int, n_heads: int, attn_dropout_p: float = 0.0, resid_dropout_p: float = 0.0):
        super().__init__()
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.rotary = RotaryPositionalEmbedding(self.head_dim)
        self.attn_dropout_p = attn_dropout_p
        self.resid_dropout = nn.Dropout(resid_dropout_p)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, past_k: Optional[torch.Tensor] = None,
                past_v: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: [B, N, d]; past_k/v: [B, H, P, hd] (already rotated) or None.

        Returns (output [B, N, d], keys [B, H, P+N, hd], values [B, H, P+N, hd]).
        """
        b, n, _ = x.shape
        q = self._split(self.q_proj(x))
        k = self._split(self.k_proj(x))
        v = self._split(self.v_proj(x))
        past_len = 0 if past_k is None else past_k.shape[2]
        # Positions continue after the cache, so a cached step equals the same position in a
        # full recompute of the (non-sliding) window.
        positions = torch.arange(n, device=x.device).to(q.dtype) + past_len
        q = self.rotary.rotate(q, positions)
        k = self.rotary.rotate(k, positions)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        allowed = causal_allowed(n, k.shape[2], x.device)
        out = _attend(q, k, v, allowed, self.attn_dropout_p, self.training)
        out = out.transpose(1, 2).reshape(b, n, self.d_model)
        return self.resid_dropout(self.out_proj(out)), k, v


class MultiHeadCrossAttentionWithRoPE(nn.Module):
    """Cross-attention of the s2 head (query: s1 embedding, key/value: trunk output).

    Semantics follow the official model in eval mode, for every mode:
      * no rotary rotation. Upstream rotates with a table built for the *query* length; at
        inference the query has length 1, so the rotation is the identity for q and for
        every key. Training with RoPE (as upstream does) would teach relative offsets that
        inference never shows, so we train exactly as we infer. `rotary` is kept only so the
        official state dict (which stores rotary.inv_freq) loads strictly.
      * a bottom-right causal mask: query i (aligned to the last positions) sees keys up to
        its own position. For one query this is "all keys", which is what eval mode does
        upstream; upstream's *train* mode would instead attend only to key 0 (the `.eval()`
        pitfall), and we never reproduce that.
    """

    def __init__(self, d_model: int, n_heads: int, attn_dropout_p: float = 0.0, resid_dropout: float = 0.0):
        super().__init__()
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.rotary = RotaryPositionalEmbedding(self.head_dim)
        self.attn_dropout_p = attn_dropout_p
        self.resid_dropout = nn.Dropout(resid_dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        b, lq, _ = query.shape
        q = self._split(self.q_proj(query))
        k = self._split(self.k_proj(key))
        v = self._split(self.v_proj(value))
        allowed = None if lq == 1 else causal_allowed(lq, k.shape[2], query.device)
        out = _attend(q, k, v, allowed, self.attn_dropout_p, self.training)
        out = out.transpose(1, 2).reshape(b, lq, self.d_model)
        return self.resid_dropout(self.out_proj(out))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm1 x), then + ffn(norm2 x)."""

    def __init__(self, d_model: int, n_heads: int, ff_dim: int = 1024, ffn_dropout_p: float = 0.0,
                 attn_dropout_p: float = 0.0, resid_dropout_p: float = 0.0):
        super().__init__()
        self.norm1 = RMSNorm(d_model)
        self.self_attn = MultiHeadAttentionWithRoPE(d_model, n_heads, attn_dropout_p, resid_dropout_p)
        self.norm2 = RMSNorm(d_model)
        self.ffn = FeedForward(d_model, ff_dim, ffn_dropout_p)

    def forward(self, x: torch.Tensor, past_k: Optional[torch.Tensor] = None,
                past_v: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        attn, k, v = self.self_attn(self.norm1(x), past_k, past_v)
        x = x + attn
        x = x + self.ffn(self.norm2(x))
        return x, k, v


class HierarchicalEmbedding(nn.Module):
    """fusion_proj([emb_s1(s1) * sqrt(d), emb_s2(s2) * sqrt(d)])."""

    def __init__(self, s1_bits: int, s2_bits: int, d_model: int):
        super().__init__()
        self.s1_bits = s1_bits
        self.s2_bits = s2_bits
        self.d_model = d_model
        self.emb_s1 = nn.Embedding(2 ** s1_bits, d_model)
        self.emb_s2 = nn.Embedding(2 ** s2_bits, d_model)
        self.fusion_proj = nn.Linear(2 * d_model, d_model)
        nn.init.normal_(self.emb_s1.weight, mean=0.0, std=d_model ** -0.5)
        nn.init.normal_(self.emb_s2.weight, mean=0.0, std=d_model ** -0.5)

    def forward(self, s1_ids: torch.Tensor, s2_ids: torch.Tensor) -> torch.Tensor:
        scale = math.sqrt(self.d_model)
        return self.fusion_proj(torch.cat([self.emb_s1(s1_ids) * scale, self.emb_s2(s2_ids) * scale], dim=-1))


class FixedEmbedding(nn.Module):
    """Sinusoidal, frozen table (used only when learn_te is false)."""

    def __init__(self, c_in: int, d_model: int):
        super().__init__()
        w = torch.zeros(c_in, d_model)
        position = torch.arange(0, c_in).float().unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model))
        w[:, 0::2] = torch.sin(position * div_term)
        w[:, 1::2] = torch.cos(position * div_term)
        self.emb = nn.Embedding(c_in, d_model)
        self.emb.weight = nn.Parameter(w, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.emb(x).detach()


# Column order of the time stamp tensor, and the table size of each column.
STAMP_COLUMNS = ("minute", "hour", "weekday", "day", "month")
STAMP_SIZES = (60, 24, 7, 32, 13)


class TemporalEmbedding(nn.Module):
    """Sum of minute/hour/weekday/day/month embeddings; stamp[..., i] follows STAMP_COLUMNS."""

    def __init__(self, d_model: int, learn_te: bool):
        super().__init__()
        make = nn.Embedding if learn_te else FixedEmbedding
        self.minute_embed = make(60, d_model)
        self.hour_embed = make(24, d_model)
        self.weekday_embed = make(7, d_model)
        self.day_embed = make(32, d_model)
        self.month_embed = make(13, d_model)

    def forward(self, stamp: torch.Tensor) -> torch.Tensor:
        stamp = stamp.long()
        return (self.minute_embed(stamp[:, :, 0]) + self.hour_embed(stamp[:, :, 1])
                + self.weekday_embed(stamp[:, :, 2]) + self.day_embed(stamp[:, :, 3])
                + self.month_embed(stamp[:, :, 4]))


class DependencyAwareLayer(nn.Module):
    """s2 conditioning: norm(hidden + cross_attn(query=emb_s1(s1), key=value=hidden))."""

    def __init__(self, d_model: int, n_heads: int = 4, attn_dropout_p: float = 0.0, resid_dropout: float = 0.0):
        super().__init__()
        self.cross_attn = MultiHeadCrossAttentionWithRoPE(d_model, n_heads, attn_dropout_p, resid_dropout)
        self.norm = RMSNorm(d_model)

    def forward(self, hidden: torch.Tensor, sibling: torch.Tensor) -> torch.Tensor:
        """hidden: [B, L, d]; sibling: [B, Lq, d] aligned to the last Lq positions."""
        attn = self.cross_attn(sibling, hidden, hidden)
        lq = sibling.shape[1]
        return self.norm(hidden[:, hidden.shape[1] - lq:] + attn)


class DualHead(nn.Module):
    def __init__(self, s1_bits: int, s2_bits: int, d_model: int):
        super().__init__()
        self.vocab_s1 = 2 ** s1_bits
        self.vocab_s2 = 2 ** s2_bits
        self.proj_s1 = nn.Linear(d_model, self.vocab_s1)
        self.proj_s2 = nn.Linear(d_model, self.vocab_s2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_s1(x)

    def cond_forward(self, x2: torch.Tensor) -> torch.Tensor:
        return self.proj_s2(x2)
