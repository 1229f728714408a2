"""Kronos predictor: decoder-only transformer over (s1, s2) token pairs.

Input at position t: hierarchical embedding of (s1_t, s2_t) plus the temporal embedding of
bar t; output at t: logits for s1_{t+1}, then (given the chosen s1_{t+1}) logits for s2_{t+1}.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import PredictorConfig
from .modules import (
    DependencyAwareLayer,
    DualHead,
    HierarchicalEmbedding,
    RMSNorm,
    TemporalEmbedding,
    TransformerBlock,
)


class Kronos(nn.Module):
    def __init__(self, config: PredictorConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config
        self.s1_bits = c.s1_bits
        self.s2_bits = c.s2_bits
        self.n_layers = c.n_layers
        self.d_model = c.d_model
        self.n_heads = c.n_heads
        self.s1_vocab_size = 2 ** c.s1_bits
        self.token_drop = nn.Dropout(c.token_dropout_p)
        self.embedding = HierarchicalEmbedding(c.s1_bits, c.s2_bits, c.d_model)
        self.time_emb = TemporalEmbedding(c.d_model, c.learn_te)
        self.transformer = nn.ModuleList([
            TransformerBlock(c.d_model, c.n_heads, c.ff_dim, c.ffn_dropout_p, c.attn_dropout_p, c.resid_dropout_p)
            for _ in range(c.n_layers)
        ])
        self.norm = RMSNorm(c.d_model)
        # Upstream builds this layer without dropout arguments, i.e. always 0.
        self.dep_layer = DependencyAwareLayer(c.d_model)
        self.head = DualHead(c.s1_bits, c.s2_bits, c.d_model)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.xavier_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding) and module.weight.requires_grad:
            nn.init.normal_(module.weight, mean=0.0, std=self.d_model ** -0.5)
        elif isinstance(module, RMSNorm):
            nn.init.ones_(module.weight)

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def trunk(self, s1: torch.Tensor, s2: torch.Tensor, stamp: Optional[torch.Tensor],
              past_k: Optional[torch.Tensor] = None, past_v: Optional[torch.Tensor] = None
              ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transformer trunk.

        s1, s2: int64 [B, N]; stamp: int64 [B, N, 5] or None;
        past_k/v: [n_layers, B, H, P, hd] or None (positions continue at P).
        Returns (ctx [B, N, d] after the final norm, present_k, present_v [n_layers, B, H, P+N, hd]).
        """
        x = self.embedding(s1, s2)
        if stamp is not None:
            x = x + self.time_emb(stamp)
        x = self.token_drop(x)
        keys: List[torch.Tensor] = []
        values: List[torch.Tensor] = []
        for i, layer in enumerate(self.transformer):
            pk = None if past_k is None else past_k[i]
            pv = None if past_v is None else past_v[i]
            x, k, v = layer(x, pk, pv)
            keys.append(k)
            values.append(v)
        return self.norm(x), torch.stack(keys), torch.stack(values)

    def s1_logits(self, ctx: torch.Tensor) -> torch.Tensor:
        return self.head(ctx)

    def s2_logits(self, ctx: torch.Tensor, s1_ids: torch.Tensor) -> torch.Tensor:
        """ctx [B, L, d]; s1_ids [B, Lq] for the last Lq positions -> logits [B, Lq, V2].

        The s1 embedding is used without the sqrt(d) scale, as upstream does.
        """
        x2 = self.dep_layer(ctx, self.embedding.emb_s1(s1_ids))
        return self.head.cond_forward(x2)

    def forward(self, s1: torch.Tensor, s2: torch.Tensor, stamp: Optional[torch.Tensor] = None,
                s1_condition: Optional[torch.Tensor] = None, sample_s1: bool = False,
                generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Training pass over a whole sequence.

        The s2 head is conditioned on `s1_condition` (teacher forcing with the target s1) or,
        with sample_s1=True, on s1 sampled from the model's own s1 distribution, which is the
        upstream default meant to reduce exposure bias.
        """
        ctx, _, _ = self.trunk(s1, s2, stamp)
        logits1 = self.s1_logits(ctx)
        if sample_s1 or s1_condition is None:
            probs = F.softmax(logits1.detach().float(), dim=-1)
            cond = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator).view(s1.shape)
        else:
            cond = s1_condition
        logits2 = self.s2_logits(ctx, cond)
        return logits1, logits2

    def training_loss(self, s1: torch.Tensor, s2: torch.Tensor, stamp: Optional[torch.Tensor],
                      sample_s1: bool = False, generator: Optional[torch.Generator] = None):
        """Next-token cross-entropy, (CE_s1 + CE_s2) / 2, on a full window of tokens.

        Inputs are positions 0..W-2 with their own stamps; targets are positions 1..W-1.
        """
        in1, in2 = s1[:, :-1], s2[:, :-1]
        t1, t2 = s1[:, 1:], s2[:, 1:]
        st = None if stamp is None else stamp[:, :-1]
        logits1, logits2 = self(in1, in2, st, s1_condition=t1, sample_s1=sample_s1, generator=generator)
        ce1 = F.cross_entropy(logits1.reshape(-1, logits1.shape[-1]), t1.reshape(-1))
        ce2 = F.cross_entropy(logits2.reshape(-1, logits2.shape[-1]), t2.reshape(-1))
        loss = (ce1 + ce2) / 2
        acc1 = (logits1.argmax(-1) == t1).float().mean()
        return loss, {"ce_s1": ce1.detach(), "ce_s2": ce2.detach(), "acc_s1": acc1.detach()}
