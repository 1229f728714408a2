"""Load official Kronos checkpoints from a local directory (no network, no extra packages).

A Hugging Face model directory (e.g. a download of NeoQuasar/Kronos-small) holds
`config.json` and `model.safetensors` (or `pytorch_model.bin`). We parse safetensors
ourselves (8-byte little-endian header length, JSON header, raw little-endian data) because
the `safetensors` package is not available here.

Parameter names match ours one to one. The integer/rotary buffers (`*.rotary.inv_freq`,
`tokenizer.bsq.basis`, `tokenizer.bsq.group_basis`) are deterministic constants: when a file
carries them we check them, when it lacks them we keep ours.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from .config import PredictorConfig, TokenizerConfig
from .predictor import Kronos
from .tokenizer import KronosTokenizer

_ST_DTYPES = {
    "F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path: Path) -> Dict[str, torch.Tensor]:
    raw = Path(path).read_bytes()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file; the download may be truncated "
                         f"(a Git LFS pointer instead of the weights?)")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out: Dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        buf = raw[base + start: base + end]
        if dtype == "BF16":
            # bfloat16 is the top half of a float32.
            u16 = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        elif dtype in _ST_DTYPES:
            arr = np.frombuffer(buf, dtype=np.dtype(_ST_DTYPES[dtype]).newbyteorder("<"))
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        out[name] = torch.from_numpy(arr.reshape(shape).copy())
    return out


def write_safetensors(path: Path, tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> None:
    """Minimal writer (used by the tests to build official-format files)."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64", torch.int32: "I32"}
    header: Dict = {"__metadata__": metadata or {}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


def _weights_file(d: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin", "model.pt", "model.pth"):
        if (d / name).exists():
            return d / name
    found = sorted(p.name for p in d.glob("*.safetensors"))
    if len(found) == 1:
        return d / found[0]
    raise FileNotFoundError(f"{d}: no weights found; expected model.safetensors or pytorch_model.bin "
                            f"(download the Hugging Face repository into this directory)")


def read_state_dict(path: Path) -> Dict[str, torch.Tensor]:
    path = Path(path)
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: expected a state dict (name -> tensor), got {type(sd).__name__}")
    return sd


_CONSTANT_SUFFIXES = (".rotary.inv_freq", "bsq.basis", "bsq.group_basis")


def load_into(module: torch.nn.Module, sd: Dict[str, torch.Tensor], source: str) -> None:
    """Strict on parameters, tolerant on constant buffers; clear error listing the mismatch."""
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    own = module.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith(_CONSTANT_SUFFIXES)]
    unexpected = [k for k in sd if k not in own]
    shape_bad = [f"{k}: file {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
                 for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shape_bad:
        raise ValueError(
            f"{source} does not match the configured architecture:\n"
            f"  missing: {missing[:8]}{' ...' if len(missing) > 8 else ''}\n"
            f"  unexpected: {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}\n"
            f"  shape mismatches: {shape_bad[:8]}\n"
            f"  check that config.json belongs to these weights (tokenizer vs predictor, size)")
    for k in own:
        if k.endswith(_CONSTANT_SUFFIXES) and k in sd:
            if not torch.allclose(sd[k].to(own[k].dtype), own[k], rtol=1e-5, atol=1e-6):
                raise ValueError(f"{source}: constant buffer {k} differs from the architecture's; "
                                 f"these weights were made by a different model definition")
    merged = {k: (sd[k].to(own[k].dtype) if k in sd else own[k]) for k in own}
    module.load_state_dict(merged, strict=True)


def _read_config(d: Path) -> Dict:
    p = d / "config.json"
    if not p.exists():
        raise FileNotFoundError(f"{p} not found; an official checkpoint directory has config.json next to the weights")
    return json.loads(p.read_text())


def load_official_tokenizer(d) -> KronosTokenizer:
    d = Path(d)
    cfg = TokenizerConfig.from_dict(_read_config(d), str(d / "config.json"))
    tok = KronosTokenizer(cfg)
    wf = _weights_file(d)
    load_into(tok, read_state_dict(wf), str(wf))
    return tok.eval()


def load_official_predictor(d) -> Kronos:
    d = Path(d)
    cfg = PredictorConfig.from_dict(_read_config(d), str(d / "config.json"))
    model = Kronos(cfg)
    wf = _weights_file(d)
    load_into(model, read_state_dict(wf), str(wf))
    return model.eval()


def import_official(tokenizer_dir, predictor_dir, out_dir, max_context: int, name: Optional[str] = None,
                    export_dir: Optional[Path] = None) -> Tuple[Path, Optional[Dict]]:
    """Convert official checkpoints into our run layout (and optionally export ONNX + card)."""
    tok = load_official_tokenizer(tokenizer_dir)
    model = load_official_predictor(predictor_dir)
    if tok.s1_bits != model.s1_bits or tok.s2_bits != model.s2_bits:
        raise ValueError(f"tokenizer bits ({tok.s1_bits}/{tok.s2_bits}) and predictor bits "
                         f"({model.s1_bits}/{model.s2_bits}) differ: pair each predictor with its own tokenizer")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(tok.state_dict(), out / "tokenizer.pt")
    torch.save(model.state_dict(), out / "predictor.pt")
    cfg = {
        "format": "kokex-kronos-run/1",
        "name": name or f"official-{Path(predictor_dir).name}",
        "model": "official",
        "tokenizer": tok.config.to_dict(),
        "predictor": model.config.to_dict(),
        "max_context": max_context, "lookback": None, "horizon": None,
        "official": {"tokenizer_dir": str(Path(tokenizer_dir).resolve()),
                     "predictor_dir": str(Path(predictor_dir).resolve())},
    }
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    card = None
    if export_dir is not None:
        from .export import export_run
        card = export_run(out, Path(export_dir))
    return out, card
