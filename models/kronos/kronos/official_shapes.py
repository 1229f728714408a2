"""Official-format checkpoints with random weights, for when the Hugging Face hub is unreachable.

`official_*_shapes` lists every tensor of a released checkpoint by its upstream name and
shape, written out from upstream's module definitions (shiyu-coder/Kronos model/kronos.py and
model/module.py) and not from our modules. The parameter totals equal the published ones
(Kronos-mini 4,108,032, Kronos-small 24,741,376, Tokenizer-base 3,958,042; tested), so a file
built from these lists has the released layout. `write_random_official` writes such a file
(`model.safetensors` and the hub's `config.json`) for `import-official` to load strictly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import torch

from .config import PredictorConfig, TokenizerConfig, resolve_predictor_config, resolve_tokenizer_config
from .load_official import write_safetensors

Shape = Tuple[int, ...]

# Each released predictor with its tokenizer and context (Kronos-mini pairs with Tokenizer-2k).
RELEASED = {
    "mini": ("tokenizer-2k", 2048, "Kronos-mini", "Kronos-Tokenizer-2k"),
    "small": ("tokenizer-base", 512, "Kronos-small", "Kronos-Tokenizer-base"),
    "base": ("tokenizer-base", 512, "Kronos-base", "Kronos-Tokenizer-base"),
}


def _linear(name: str, out_f: int, in_f: int, bias: bool = True) -> List[Tuple[str, Shape]]:
    return [(f"{name}.weight", (out_f, in_f))] + ([(f"{name}.bias", (out_f,))] if bias else [])


def _block(prefix: str, d: int, heads: int, ff: int) -> List[Tuple[str, Shape]]:
    """upstream TransformerBlock: norm1, MultiHeadAttentionWithRoPE (biased projections, rotary), norm2, FeedForward."""
    out = [(f"{prefix}.norm1.weight", (d,))]
    for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
        out += _linear(f"{prefix}.self_attn.{p}", d, d)
    out.append((f"{prefix}.self_attn.rotary.inv_freq", ((d // heads) // 2,)))
    out.append((f"{prefix}.norm2.weight", (d,)))
    out += _linear(f"{prefix}.ffn.w1", ff, d, bias=False)
    out += _linear(f"{prefix}.ffn.w3", ff, d, bias=False)
    out += _linear(f"{prefix}.ffn.w2", d, ff, bias=False)
    return out


def official_predictor_shapes(c: PredictorConfig) -> List[Tuple[str, Shape]]:
    d, v1, v2 = c.d_model, 2 ** c.s1_bits, 2 ** c.s2_bits
    out = [("embedding.emb_s1.weight", (v1, d)), ("embedding.emb_s2.weight", (v2, d))]
    out += _linear("embedding.fusion_proj", d, 2 * d)
    for name, size in (("minute", 60), ("hour", 24), ("weekday", 7), ("day", 32), ("month", 13)):
        out.append((f"time_emb.{name}_embed.weight", (size, d)))
    for i in range(c.n_layers):
        out += _block(f"transformer.{i}", d, c.n_heads, c.ff_dim)
    out.append(("norm.weight", (d,)))
    for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
        out += _linear(f"dep_layer.cross_attn.{p}", d, d)
    out.append(("dep_layer.cross_attn.rotary.inv_freq", ((d // 4) // 2,)))  # DependencyAwareLayer: 4 heads
    out.append(("dep_layer.norm.weight", (d,)))
    out += _linear("head.proj_s1", v1, d)
    out += _linear("head.proj_s2", v2, d)
    return out


def official_tokenizer_shapes(c: TokenizerConfig) -> List[Tuple[str, Shape]]:
    d, bits = c.d_model, c.s1_bits + c.s2_bits
    out = _linear("embed", d, c.d_in) + _linear("head", c.d_in, d)
    for i in range(c.n_enc_layers - 1):
        out += _block(f"encoder.{i}", d, c.n_heads, c.ff_dim)
    for i in range(c.n_dec_layers - 1):
        out += _block(f"decoder.{i}", d, c.n_heads, c.ff_dim)
    out += _linear("quant_embed", bits, d) + _linear("post_quant_embed_pre", d, c.s1_bits)
    out += _linear("post_quant_embed", d, bits)
    out += [("tokenizer.bsq.basis", (bits,)), ("tokenizer.bsq.group_basis", (c.group_size,))]
    return out


_BUFFERS = (".rotary.inv_freq", "bsq.basis", "bsq.group_basis")


def parameter_count(shapes: List[Tuple[str, Shape]]) -> int:
    """Learned parameters only (the rotary and basis buffers are constants)."""
    total = 0
    for name, shape in shapes:
        if not name.endswith(_BUFFERS):
            n = 1
            for s in shape:
                n *= s
            total += n
    return total


def _random_state(shapes: List[Tuple[str, Shape]], g: torch.Generator) -> Dict[str, torch.Tensor]:
    sd: Dict[str, torch.Tensor] = {}
    for name, shape in shapes:
        if name.endswith(".rotary.inv_freq"):
            dim = shape[0] * 2
            sd[name] = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
        elif name.endswith("bsq.basis") or name.endswith("bsq.group_basis"):
            sd[name] = 2 ** torch.arange(shape[0] - 1, -1, -1)
        elif name.endswith("norm.weight") or ".norm1." in name or ".norm2." in name:
            sd[name] = torch.ones(shape)
        elif name.endswith(".bias"):
            sd[name] = torch.zeros(shape)
        else:
            fan = shape[-1] if len(shape) > 1 else shape[0]
            sd[name] = torch.randn(shape, generator=g) * (fan ** -0.5)
    return sd


def write_random_official(out: Path, model: str, seed: int = 0) -> Tuple[Path, Path, int]:
    """Writes out/<Kronos-Tokenizer-…> and out/<Kronos-…> (config.json + model.safetensors).

    Returns (tokenizer dir, predictor dir, max_context).
    """
    if model not in RELEASED:
        raise ValueError(f"unknown released model {model!r}; choose one of {sorted(RELEASED)}")
    tok_name, context, pred_dir, tok_dir = RELEASED[model]
    tc, pc = resolve_tokenizer_config(tok_name), resolve_predictor_config(model)
    g = torch.Generator().manual_seed(seed)
    dirs = []
    for sub, cfg, shapes in ((tok_dir, tc, official_tokenizer_shapes(tc)), (pred_dir, pc, official_predictor_shapes(pc))):
        d = Path(out) / sub
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
        write_safetensors(d / "model.safetensors", _random_state(shapes, g), {"format": "pt", "weights": "random"})
        dirs.append(d)
    return dirs[0], dirs[1], context
