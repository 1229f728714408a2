"""KronosTokenizer: causal transformer autoencoder with binary spherical quantization.

x [B, T, 6] (normalized open, high, low, close, volume, amount)
  -> embed -> encoder blocks -> quant_embed (d -> s1_bits + s2_bits)
  -> L2 normalize -> sign (+1 if > 0 else -1) / sqrt(codebook_dim)
  -> bits 0..s1_bits-1 give the coarse token s1, the rest the fine token s2
     (index = sum(bit_i * 2**i), least-significant bit first)
  -> post_quant_embed -> decoder blocks -> head -> x_hat [B, T, 6]
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import TokenizerConfig
from .modules import TransformerBlock


def _binary_entropy(p: torch.Tensor) -> torch.Tensor:
    # The 1e-8 inside the log matches upstream and keeps the value finite at p = 0 or 1.
    return -(p * torch.log(p + 1e-8) + (1 - p) * torch.log(1 - p + 1e-8))


class BinarySphericalQuantizer(nn.Module):
    """Sign quantizer on the unit sphere with the BSQ training losses.

    `basis` and `group_basis` are unused integer buffers; they exist because the official
    checkpoints store them and a strict state-dict load must find them.
    """

    def __init__(self, embed_dim: int, beta: float, gamma0: float, gamma: float, zeta: float, group_size: int):
        super().__init__()
        if embed_dim % group_size != 0:
            raise ValueError(f"codebook_dim {embed_dim} must be divisible by group_size {group_size}")
        self.embed_dim = embed_dim
        self.beta = beta
        self.gamma0 = gamma0
        self.gamma = gamma
        self.zeta = zeta
        self.group_size = group_size
        self.register_buffer("basis", 2 ** torch.arange(embed_dim - 1, -1, -1))
        self.register_buffer("group_basis", 2 ** torch.arange(group_size - 1, -1, -1))

    @property
    def scale(self) -> float:
        return 1.0 / (self.embed_dim ** 0.5)

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """z: L2-normalized codes. Straight-through sign, scaled onto the unit sphere."""
        hard = torch.where(z > 0, torch.ones_like(z), -torch.ones_like(z))
        return (z + (hard - z).detach()) * self.scale

    def loss(self, z: torch.Tensor, zq: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Commitment plus entropy terms (BSQ-ViT, analytical per-sample entropy).

        Per bit i the soft probability of the +/- code is sigmoid(4 z_i / sqrt(D)). We reward
        confident bits (low per-sample entropy, weight gamma0) and balanced bit usage over
        the batch (high codebook entropy, weight gamma). Because the codebook entropy enters
        with a minus sign the total is often negative; that is expected.
        """
        commit = self.beta * torch.mean(((zq.detach() - z) ** 2).sum(dim=-1))
        p = torch.sigmoid(-4.0 * z * self.scale)
        per_sample = _binary_entropy(p).sum(dim=-1).mean()
        avg_p = p.reshape(-1, self.embed_dim).mean(dim=0)
        codebook = _binary_entropy(avg_p).sum()
        total = commit + self.zeta * (self.gamma0 * per_sample - self.gamma * codebook)
        return total, {"commit": commit.detach(), "per_sample_entropy": per_sample.detach(),
                       "codebook_entropy": codebook.detach()}


class BSQuantizer(nn.Module):
    def __init__(self, s1_bits: int, s2_bits: int, beta: float, gamma0: float, gamma: float, zeta: float,
                 group_size: int):
        super().__init__()
        self.s1_bits = s1_bits
        self.s2_bits = s2_bits
        self.codebook_dim = s1_bits + s2_bits
        self.bsq = BinarySphericalQuantizer(self.codebook_dim, beta, gamma0, gamma, zeta, group_size)


def bits_to_index(positive: torch.Tensor) -> torch.Tensor:
    """positive: bool [..., n] (bit i set when code i > 0) -> int64 index, LSB first."""
    n = positive.shape[-1]
    weights = 2 ** torch.arange(n, device=positive.device, dtype=torch.long)
    return (positive.to(torch.long) * weights).sum(dim=-1)


def index_to_signs(index: torch.Tensor, n_bits: int) -> torch.Tensor:
    """int64 index [...] -> float +/-1 [..., n_bits], LSB first.

    Written with float floor-division instead of integer bitwise AND, which the TorchScript
    ONNX exporter refuses; exact for indices below 2**24.
    """
    v = index.to(torch.float32).unsqueeze(-1)
    p = 2.0 ** torch.arange(n_bits, device=index.device, dtype=torch.float32)
    bit = torch.floor(v / p) - 2.0 * torch.floor(v / (2.0 * p))
    return bit * 2.0 - 1.0


class KronosTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config
        self.s1_bits = c.s1_bits
        self.s2_bits = c.s2_bits
        self.codebook_dim = c.codebook_dim
        self.embed = nn.Linear(c.d_in, c.d_model)
        self.head = nn.Linear(c.d_model, c.d_in)
        self.encoder = nn.ModuleList([
            TransformerBlock(c.d_model, c.n_heads, c.ff_dim, c.ffn_dropout_p, c.attn_dropout_p, c.resid_dropout_p)
            for _ in range(c.n_enc_layers - 1)
        ])
        self.decoder = nn.ModuleList([
            TransformerBlock(c.d_model, c.n_heads, c.ff_dim, c.ffn_dropout_p, c.attn_dropout_p, c.resid_dropout_p)
            for _ in range(c.n_dec_layers - 1)
        ])
        self.quant_embed = nn.Linear(c.d_model, c.codebook_dim)
        self.post_quant_embed_pre = nn.Linear(c.s1_bits, c.d_model)
        self.post_quant_embed = nn.Linear(c.codebook_dim, c.d_model)
        # Named `tokenizer` (not `quantizer`) because that is the key prefix in the checkpoints.
        self.tokenizer = BSQuantizer(c.s1_bits, c.s2_bits, c.beta, c.gamma0, c.gamma, c.zeta, c.group_size)

    # -- pieces -------------------------------------------------------------------------
    def encode_codes(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, 6] -> pre-quantization codes [B, T, codebook_dim] (not normalized)."""
        z = self.embed(x)
        for layer in self.encoder:
            z, _, _ = layer(z)
        return self.quant_embed(z)

    def decode_quantized(self, quantized: torch.Tensor) -> torch.Tensor:
        """quantized [B, T, codebook_dim] (+/- 1/sqrt(D)) -> x_hat [B, T, 6]."""
        z = self.post_quant_embed(quantized)
        for layer in self.decoder:
            z, _, _ = layer(z)
        return self.head(z)

    # -- public API ----------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x [B, T, 6] normalized -> (s1, s2), each int64 [B, T]."""
        codes = self.encode_codes(x)
        # L2 normalization never changes a sign, so the bits can be read off the raw codes.
        positive = codes > 0
        return bits_to_index(positive[..., : self.s1_bits]), bits_to_index(positive[..., self.s1_bits:])

    def indices_to_quantized(self, s1: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
        signs = torch.cat([index_to_signs(s1, self.s1_bits), index_to_signs(s2, self.s2_bits)], dim=-1)
        return signs * self.tokenizer.bsq.scale

    def decode(self, s1: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
        """(s1, s2) int64 [B, T] -> normalized x_hat [B, T, 6]."""
        return self.decode_quantized(self.indices_to_quantized(s1, s2))

    def forward(self, x: torch.Tensor):
        """Training pass. Returns ((x_hat_coarse, x_hat_full), bsq_loss, quantized, (s1, s2), metrics).

        x_hat_coarse is decoded from the s1 bits alone through post_quant_embed_pre, which
        teaches the coarse token to carry the bulk of the signal.
        """
        codes = self.encode_codes(x)
        z = F.normalize(codes, dim=-1)
        zq = self.tokenizer.bsq.quantize(z)
        bsq_loss, metrics = self.tokenizer.bsq.loss(z, zq)
        coarse = self.post_quant_embed_pre(zq[..., : self.s1_bits])
        for layer in self.decoder:
            coarse, _, _ = layer(coarse)
        x_hat_coarse = self.head(coarse)
        x_hat = self.decode_quantized(zq)
        positive = codes.detach() > 0
        ids = (bits_to_index(positive[..., : self.s1_bits]), bits_to_index(positive[..., self.s1_bits:]))
        return (x_hat_coarse, x_hat), bsq_loss, zq, ids, metrics

    def training_loss(self, x: torch.Tensor):
        """(MSE(coarse) + MSE(full) + bsq_loss) / 2, the upstream stage-1 objective."""
        (x_hat_coarse, x_hat), bsq_loss, _, ids, metrics = self(x)
        mse_coarse = F.mse_loss(x_hat_coarse, x)
        mse_full = F.mse_loss(x_hat, x)
        loss = (mse_coarse + mse_full + bsq_loss) / 2
        metrics = dict(metrics)
        metrics.update({"mse_coarse": mse_coarse.detach(), "mse_full": mse_full.detach(), "bsq": bsq_loss.detach()})
        return loss, metrics, ids
