"""Shared test helpers: synthetic candles and tiny random models (no data files needed)."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import torch

from kronos.config import PredictorConfig, TokenizerConfig
from kronos.data import data_dir
from kronos.predictor import Kronos
from kronos.tokenizer import KronosTokenizer

REAL_1H = "binance_BTCUSDT_1h_2021-06_2026-06.csv.gz"

# Smaller than `tiny` so that every test stays well under a second per model.
TEST_TOKENIZER = TokenizerConfig(d_model=32, n_heads=4, ff_dim=64, n_enc_layers=3, n_dec_layers=3,
                                 s1_bits=6, s2_bits=6, group_size=4)
TEST_PREDICTOR = PredictorConfig(s1_bits=6, s2_bits=6, n_layers=2, d_model=32, n_heads=4, ff_dim=64)


def tiny_models(seed: int = 0, **pred_overrides):
    torch.manual_seed(seed)
    tok = KronosTokenizer(dataclasses.replace(TEST_TOKENIZER))
    model = Kronos(dataclasses.replace(TEST_PREDICTOR, **pred_overrides))
    return tok.eval(), model.eval()


def synthetic_candles(n: int, seed: int = 0, start_ms: int = 1_700_000_000_000, bar_ms: int = 3_600_000):
    rng = np.random.default_rng(seed)
    ts = start_ms + bar_ms * np.arange(n, dtype=np.int64)
    close = 30000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.003, n)))
    vol = np.abs(rng.normal(100, 30, n))
    return ts, np.stack([open_, high, low, close, vol], axis=1)


def write_csv(path: Path, n: int, seed: int = 0, gz: bool = True, **kw) -> Path:
    ts, ohlcv = synthetic_candles(n, seed, **kw)
    lines = ["ts,open,high,low,close,volume"]
    lines += [f"{t},{o:.2f},{h:.2f},{l:.2f},{c:.2f},{v:.5f}" for t, (o, h, l, c, v) in zip(ts, ohlcv)]
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def real_data_path():
    """The real 1h candles, or None (tests then skip with a message naming the setting)."""
    p = data_dir() / REAL_1H
    return p if p.exists() else None


SKIP_REAL = (f"real candles not found: set KOKEX_DATA_DIR to the directory holding {REAL_1H} "
             f"(default ../shared/data beside the repository)")

