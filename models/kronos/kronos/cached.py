"""Cached decoding: the step graphs of the in-place KV cache (graph contract 2).

The runtime owns the caches and this code never copies them. Each attention reads two kinds:

  * the history `hist_*` [G, H, T, hd]: the lookback's keys and values. Prefill writes them
    once per series (G series, usually 1), and every path of that series reads the same
    memory. The batch holds B = G * S rows, S consecutive rows per series.
  * the generated positions `gen_*` [B, H, C, hd]: a buffer with C slots, of which the first
    `gen_len` are filled. The runtime writes each step's new keys and values into slot
    `gen_len` (outputs `new_k`/`new_v` hold only the new position, B*H*hd floats a layer),
    and masks the slots not yet written.

Attention is computed without concatenating caches. The scores against the history, against
the generated slots and against the new tokens are concatenated (a few floats a row), one
softmax runs over all of them, and the three value products are summed. Positions are
absolute: the new tokens sit at T + gen_len onward, so a step equals the same position of a
full recompute of the (not yet sliding) window.

In eval mode this is the same arithmetic as `Kronos.trunk` / `Kronos.s2_logits` /
`KronosTokenizer.decode`, up to float summation order (tested to 1e-5 in tests/test_cached.py).
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch

from .modules import MultiHeadAttentionWithRoPE, TransformerBlock
from .predictor import Kronos
from .tokenizer import KronosTokenizer


def _grouped(q: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
    """q [B,H,N,hd] against hist [G,H,T,hd] (rows b in series b // (B/G)) -> scores [B,H,N,T]."""
    b, h, n, hd = q.shape
    g, t = hist.shape[0], hist.shape[2]
    qg = q.reshape(g, -1, h, n, hd).permute(0, 2, 1, 3, 4).reshape(g, h, -1, hd)
    s = torch.matmul(qg, hist.transpose(-2, -1))
    return s.reshape(g, h, -1, n, t).permute(0, 2, 1, 3, 4).reshape(b, h, n, t)


def _grouped_apply(w: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
    """weights [B,H,N,T] times hist values [G,H,T,hd] -> [B,H,N,hd]."""
    b, h, n, t = w.shape
    g, hd = hist.shape[0], hist.shape[3]
    wg = w.reshape(g, -1, h, n, t).permute(0, 2, 1, 3, 4).reshape(g, h, -1, t)
    o = torch.matmul(wg, hist)
    return o.reshape(g, h, -1, n, hd).permute(0, 2, 1, 3, 4).reshape(b, h, n, hd)


def _slot_mask(capacity_of: torch.Tensor, gen_len: torch.Tensor) -> torch.Tensor:
    """True for the filled slots of a gen buffer: slot index < gen_len. capacity_of: a gen tensor."""
    slots = torch.arange(capacity_of.shape[2], device=capacity_of.device)
    return slots < gen_len.reshape(1)


def cached_attention(q: torch.Tensor, hist_k: torch.Tensor, hist_v: torch.Tensor,
                     gen_k: Optional[torch.Tensor], gen_v: Optional[torch.Tensor], gen_len: Optional[torch.Tensor],
                     new_k: Optional[torch.Tensor], new_v: Optional[torch.Tensor]) -> torch.Tensor:
    """softmax(q [hist | gen[:gen_len] | new]^T / sqrt(hd)) [hist | gen | new], without concatenating K or V.

    new_k/new_v [B,H,N,hd] are the queries' own positions, causal among themselves.
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    parts = [_grouped(q, hist_k) * scale]
    if gen_k is not None:
        s = torch.matmul(q, gen_k.transpose(-2, -1)) * scale
        parts.append(s.masked_fill(~_slot_mask(gen_k, gen_len), float("-inf")))
    if new_k is not None:
        s = torch.matmul(q, new_k.transpose(-2, -1)) * scale
        n = q.shape[2]
        ar = torch.arange(n, device=q.device)
        parts.append(s.masked_fill(~(ar[None, :] <= ar[:, None]), float("-inf")))
    w = torch.softmax(torch.cat(parts, dim=-1), dim=-1)
    t = hist_k.shape[2]
    out = _grouped_apply(w[..., :t], hist_v)
    at = t
    if gen_k is not None:
        c = gen_k.shape[2]
        out = out + torch.matmul(w[..., at:at + c], gen_v)
        at = at + c
    if new_k is not None:
        out = out + torch.matmul(w[..., at:], new_v)
    return out


def self_attention_step(attn: MultiHeadAttentionWithRoPE, x: torch.Tensor, pos0: torch.Tensor,
                        hist_k: torch.Tensor, hist_v: torch.Tensor, gen_k: Optional[torch.Tensor],
                        gen_v: Optional[torch.Tensor], gen_len: Optional[torch.Tensor]
                        ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x [B,N,d] at positions pos0..pos0+N-1 -> (out [B,N,d], its rotated keys and values [B,H,N,hd])."""
    b, n, _ = x.shape
    q = attn._split(attn.q_proj(x))
    k = attn._split(attn.k_proj(x))
    v = attn._split(attn.v_proj(x))
    positions = (torch.arange(n, device=x.device) + pos0.reshape(1)).to(q.dtype)
    q = attn.rotary.rotate(q, positions)
    k = attn.rotary.rotate(k, positions)
    out = cached_attention(q, hist_k, hist_v, gen_k, gen_v, gen_len, k, v)
    out = out.transpose(1, 2).reshape(b, n, attn.d_model)
    return attn.resid_dropout(attn.out_proj(out)), k, v


def block_step(layer: TransformerBlock, x, pos0, hist_k, hist_v, gen_k, gen_v, gen_len):
    a, k, v = self_attention_step(layer.self_attn, layer.norm1(x), pos0, hist_k, hist_v, gen_k, gen_v, gen_len)
    x = x + a
    x = x + layer.ffn(layer.norm2(x))
    return x, k, v


def cross_kv(model: Kronos, ctx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The s2 head's keys and values of trunk outputs ctx [B,L,d] -> [B,4,L,d/4] each."""
    ca = model.dep_layer.cross_attn
    return ca._split(ca.k_proj(ctx)), ca._split(ca.v_proj(ctx))


def trunk_step(model: Kronos, s1, s2, stamp, gen_len, hist_k: Sequence[torch.Tensor], hist_v: Sequence[torch.Tensor],
               gen_k: Sequence[torch.Tensor], gen_v: Sequence[torch.Tensor]):
    """New tokens [B,N] after a history of T = hist_k[0].shape[2] and gen_len generated positions.

    Returns (s1_logits [B,V1] for the token after the last, ctx_last [B,d], new_k, new_v
    [nl,B,H,N,hd], cross_k, cross_v [B,4,N,d/4] of the new positions).
    """
    x = model.embedding(s1, s2) + model.time_emb(stamp)
    x = model.token_drop(x)
    pos0 = hist_k[0].shape[2] + gen_len.reshape(1)
    keys: List[torch.Tensor] = []
    values: List[torch.Tensor] = []
    for i, layer in enumerate(model.transformer):
        x, k, v = block_step(layer, x, pos0, hist_k[i], hist_v[i], gen_k[i], gen_v[i], gen_len)
        keys.append(k)
        values.append(v)
    ctx = model.norm(x)
    ck, cv = cross_kv(model, ctx)
    last = ctx[:, -1]
    return model.s1_logits(last), last, torch.stack(keys), torch.stack(values), ck, cv


def s2_step(model: Kronos, ctx_last, s1, gen_len, hist_k, hist_v, gen_k, gen_v):
    """s2 logits [B,V2] for the chosen s1 [B] at the position whose trunk output is ctx_last [B,d].

    The cross-attention reads the cached keys/values of every position so far: the history
    (hist_*, [G,4,T,d/4]) and gen_len generated ones (gen_*, [B,4,C,d/4]); the current
    position's own entry must already be written (it is one of them).
    """
    ca = model.dep_layer.cross_attn
    query = model.embedding.emb_s1(s1[:, None])
    q = ca._split(ca.q_proj(query))
    out = cached_attention(q, hist_k, hist_v, gen_k, gen_v, gen_len, None, None)
    out = out.transpose(1, 2).reshape(q.shape[0], 1, ca.d_model)
    attn = ca.resid_dropout(ca.out_proj(out))
    x2 = model.dep_layer.norm(ctx_last[:, None] + attn)
    return model.head.cond_forward(x2)[:, 0]


def decode_tail(tokenizer: KronosTokenizer, s1, s2, hist_k: Sequence[torch.Tensor], hist_v: Sequence[torch.Tensor]):
    """Tokenizer decode of the last N tokens [B,N] of a window whose first T tokens (shared by
    each series' paths) were decoded before: hist_* [G,H,T,hd] per decoder layer -> x [B,N,6]."""
    z = tokenizer.post_quant_embed(tokenizer.indices_to_quantized(s1, s2))
    pos0 = torch.zeros(1, dtype=torch.long, device=s1.device) + hist_k[0].shape[2]
    for i, layer in enumerate(tokenizer.decoder):
        z, _, _ = block_step(layer, z, pos0, hist_k[i], hist_v[i], None, None, None)
    return tokenizer.head(z)


def decode_with_keys(tokenizer: KronosTokenizer, s1, s2):
    """Full decode that also returns each decoder layer's keys and values, stacked [nd,B,H,T,hd]."""
    z = tokenizer.post_quant_embed(tokenizer.indices_to_quantized(s1, s2))
    keys, values = [], []
    for layer in tokenizer.decoder:
        z, k, v = layer(z)
        keys.append(k)
        values.append(v)
    return tokenizer.head(z), torch.stack(keys), torch.stack(values)
