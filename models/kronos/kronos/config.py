"""Model configurations.

Field names are exactly the keys of the official Hugging Face `config.json` files
(NeoQuasar/Kronos-*), so a downloaded config maps onto these dataclasses without renaming.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from typing import Any, Dict


@dataclass
class TokenizerConfig:
    d_in: int = 6
    d_model: int = 256
    n_heads: int = 4
    ff_dim: int = 512
    # Upstream builds `n - 1` blocks from these two values; we keep the same meaning so that
    # the official configs load unchanged (4 -> 3 real blocks).
    n_enc_layers: int = 4
    n_dec_layers: int = 4
    ffn_dropout_p: float = 0.0
    attn_dropout_p: float = 0.0
    resid_dropout_p: float = 0.0
    s1_bits: int = 10
    s2_bits: int = 10
    beta: float = 0.05
    gamma0: float = 1.0
    gamma: float = 1.1
    zeta: float = 0.05
    # Kept for config compatibility only: with the analytical per-sample entropy used
    # upstream (and here), the codebook entropy is computed per bit and group_size has no
    # effect on the loss.
    group_size: int = 4

    @property
    def codebook_dim(self) -> int:
        return self.s1_bits + self.s2_bits

    def validate(self) -> None:
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"tokenizer config: d_model {self.d_model} must be divisible by n_heads {self.n_heads}")
        if (self.d_model // self.n_heads) % 2 != 0:
            raise ValueError("tokenizer config: head dimension must be even for rotary embeddings")
        if self.n_enc_layers < 1 or self.n_dec_layers < 1:
            raise ValueError("tokenizer config: n_enc_layers and n_dec_layers must be >= 1 (they build n-1 blocks)")
        if not (1 <= self.s1_bits <= 16 and 1 <= self.s2_bits <= 16):
            raise ValueError("tokenizer config: s1_bits and s2_bits must be in 1..16")
        if self.d_in != 6:
            raise ValueError("tokenizer config: d_in must be 6 (open, high, low, close, volume, amount)")

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any], source: str = "config") -> "TokenizerConfig":
        return _from_dict(cls, d, source)


@dataclass
class PredictorConfig:
    s1_bits: int = 10
    s2_bits: int = 10
    n_layers: int = 8
    d_model: int = 512
    n_heads: int = 8
    ff_dim: int = 1024
    ffn_dropout_p: float = 0.0
    attn_dropout_p: float = 0.0
    resid_dropout_p: float = 0.0
    token_dropout_p: float = 0.0
    learn_te: bool = True

    def validate(self) -> None:
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"predictor config: d_model {self.d_model} must be divisible by n_heads {self.n_heads}")
        if (self.d_model // self.n_heads) % 2 != 0:
            raise ValueError("predictor config: head dimension must be even for rotary embeddings")
        # The s2 cross-attention has 4 heads hard-coded upstream.
        if self.d_model % 4 != 0 or (self.d_model // 4) % 2 != 0:
            raise ValueError("predictor config: d_model must be divisible by 8 (the s2 cross-attention uses 4 heads)")

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any], source: str = "config") -> "PredictorConfig":
        return _from_dict(cls, d, source)


def _from_dict(cls, d: Dict[str, Any], source: str):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        # Hub configs sometimes carry extra keys (e.g. library metadata); they do not change
        # the architecture, so warn instead of failing.
        print(f"[kronos] {source}: ignoring unknown config keys {unknown}", file=sys.stderr)
    cfg = cls(**{k: v for k, v in d.items() if k in names})
    cfg.validate()
    return cfg


# Released sizes. Values come from the official Hugging Face configs (tokenizer-base, small)
# and from third-party copies (mini, base, tokenizer-2k); the parameter counts below are
# checked against the README totals by the tests.
TOKENIZER_CONFIGS: Dict[str, TokenizerConfig] = {
    "tokenizer-base": TokenizerConfig(group_size=4),
    "tokenizer-2k": TokenizerConfig(group_size=5),
    # Our own: small enough to train on two CPU cores in minutes. 8+8 bits (256-way s1 and
    # s2) instead of 10+10: a few tens of thousands of bars cannot fill 1024-way classes, and
    # the output heads are a large share of the compute at this width.
    "tokenizer-tiny": TokenizerConfig(d_model=64, n_heads=4, ff_dim=128, n_enc_layers=3, n_dec_layers=3,
                                      s1_bits=8, s2_bits=8),
}

PREDICTOR_CONFIGS: Dict[str, PredictorConfig] = {
    "mini": PredictorConfig(n_layers=4, d_model=256, n_heads=4, ff_dim=512,
                            ffn_dropout_p=0.2, resid_dropout_p=0.2, attn_dropout_p=0.0, token_dropout_p=0.0),
    "small": PredictorConfig(n_layers=8, d_model=512, n_heads=8, ff_dim=1024,
                             ffn_dropout_p=0.25, resid_dropout_p=0.25, attn_dropout_p=0.1, token_dropout_p=0.1),
    "base": PredictorConfig(n_layers=12, d_model=832, n_heads=16, ff_dim=2048,
                            ffn_dropout_p=0.2, resid_dropout_p=0.2, attn_dropout_p=0.0, token_dropout_p=0.0),
    "tiny": PredictorConfig(s1_bits=8, s2_bits=8, n_layers=3, d_model=64, n_heads=4, ff_dim=192,
                            ffn_dropout_p=0.1, resid_dropout_p=0.1, attn_dropout_p=0.0, token_dropout_p=0.0),
}


@dataclass
class ModelSpec:
    """A predictor paired with its tokenizer and the context it was trained for."""

    predictor: str
    tokenizer: str
    max_context: int
    params: int = field(default=0)  # official README total, 0 when not published


MODEL_SPECS: Dict[str, ModelSpec] = {
    "mini": ModelSpec("mini", "tokenizer-2k", 2048, 4_108_032),
    "small": ModelSpec("small", "tokenizer-base", 512, 24_741_376),
    "base": ModelSpec("base", "tokenizer-base", 512, 102_310_592),
    "tiny": ModelSpec("tiny", "tokenizer-tiny", 128, 0),
}


def _block_params(d: int, ff: int) -> int:
    attn = 4 * (d * d + d)  # q, k, v, out projections with bias
    ffn = 3 * d * ff  # SwiGLU without bias
    norms = 2 * d
    return attn + ffn + norms


def tokenizer_param_count(c: TokenizerConfig) -> int:
    """Trainable parameters, computed from the config alone (no model is built)."""
    d, cb = c.d_model, c.codebook_dim
    blocks = (c.n_enc_layers - 1 + c.n_dec_layers - 1) * _block_params(d, c.ff_dim)
    linears = (c.d_in * d + d) + (d * c.d_in + c.d_in) + (d * cb + cb) + (c.s1_bits * d + d) + (cb * d + d)
    return blocks + linears


def predictor_param_count(c: PredictorConfig) -> int:
    d = c.d_model
    v1, v2 = 2 ** c.s1_bits, 2 ** c.s2_bits
    emb = v1 * d + v2 * d + (2 * d * d + d)
    temporal = (60 + 24 + 7 + 32 + 13) * d if c.learn_te else 0
    blocks = c.n_layers * _block_params(d, c.ff_dim)
    dep = 4 * (d * d + d) + d
    heads = (d * v1 + v1) + (d * v2 + v2)
    return emb + temporal + blocks + d + dep + heads


def resolve_tokenizer_config(name_or_dict) -> TokenizerConfig:
    if isinstance(name_or_dict, TokenizerConfig):
        return name_or_dict
    if isinstance(name_or_dict, dict):
        return TokenizerConfig.from_dict(name_or_dict)
    if name_or_dict not in TOKENIZER_CONFIGS:
        raise ValueError(f"unknown tokenizer config '{name_or_dict}'; choose one of {sorted(TOKENIZER_CONFIGS)}")
    return dataclasses.replace(TOKENIZER_CONFIGS[name_or_dict])


def resolve_predictor_config(name_or_dict) -> PredictorConfig:
    if isinstance(name_or_dict, PredictorConfig):
        return name_or_dict
    if isinstance(name_or_dict, dict):
        return PredictorConfig.from_dict(name_or_dict)
    if name_or_dict not in PREDICTOR_CONFIGS:
        raise ValueError(f"unknown predictor config '{name_or_dict}'; choose one of {sorted(PREDICTOR_CONFIGS)}")
    return dataclasses.replace(PREDICTOR_CONFIGS[name_or_dict])
