"""Candles in, normalized training windows out.

CSV format (gzip or plain): header `ts,open,high,low,close,volume`, `ts` the bar open time
in Unix milliseconds UTC, rows ascending. Data files never live in this repository: they are
read from a data directory (env KOKEX_DATA_DIR, default `<repo>/../shared/data`).

Normalization (the leak fix): each window is z-scored with the mean and population std of
its *lookback* rows only, then clipped to +/-clip. The bars to be predicted never influence
the statistics, so training sees exactly what inference can compute.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

HEADER = ["ts", "open", "high", "low", "close", "volume"]
FEATURES = ["open", "high", "low", "close", "volume", "amount"]
NORM_EPS = 1e-5
DEFAULT_CLIP = 5.0

REPO_ROOT = Path(__file__).resolve().parents[3]


def data_dir() -> Path:
    """The candle directory: $KOKEX_DATA_DIR, else ../shared/data beside the repository."""
    env = os.environ.get("KOKEX_DATA_DIR")
    if env:
        p = Path(env)
        return p if p.is_absolute() else (REPO_ROOT / p).resolve()
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


def resolve_csv(path_or_name: str) -> Path:
    """An existing path as given, else a file name inside the data directory."""
    p = Path(path_or_name)
    if p.exists():
        return p
    candidate = data_dir() / path_or_name
    if candidate.exists():
        return candidate
    raise FileNotFoundError(
        f"candle CSV '{path_or_name}' not found (looked at {p.resolve()} and {candidate}); "
        f"pass an existing path with --csv or set KOKEX_DATA_DIR to the directory that holds it")


@dataclass
class Candles:
    ts: np.ndarray  # int64 [N], ms UTC
    ohlcv: np.ndarray  # float64 [N, 5]
    source: str

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def slice(self, start: int, stop: int) -> "Candles":
        return Candles(self.ts[start:stop], self.ohlcv[start:stop], self.source)

    @property
    def bar_ms(self) -> int:
        """Most common spacing between bars (the timeframe), robust to exchange gaps."""
        if len(self) < 2:
            return 0
        diffs = np.diff(self.ts)
        values, counts = np.unique(diffs, return_counts=True)
        return int(values[np.argmax(counts)])


def load_csv(path) -> Candles:
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as f:
            text = f.read()
    except OSError as e:
        raise ValueError(f"cannot read candle CSV {path}: {e}; expected a gzip or plain CSV file") from e
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValueError(f"candle CSV {path} is empty; expected header {','.join(HEADER)}") from None
    if header[: len(HEADER)] != HEADER:
        raise ValueError(f"candle CSV {path} has header {','.join(header)}; expected {','.join(HEADER)} "
                         f"(ts in Unix milliseconds UTC)")
    rows = [r for r in reader if r]
    if not rows:
        raise ValueError(f"candle CSV {path} has a header but no rows")
    try:
        arr = np.array([[float(v) for v in r[: len(HEADER)]] for r in rows], dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"candle CSV {path}: non-numeric value ({e}); every column must be a number") from e
    ts = arr[:, 0].astype(np.int64)
    ohlcv = arr[:, 1:6]
    if not np.all(np.isfinite(ohlcv)):
        raise ValueError(f"candle CSV {path} contains NaN or infinite prices/volumes; clean the file first")
    if np.any(np.diff(ts) <= 0):
        bad = int(np.argmax(np.diff(ts) <= 0)) + 2
        raise ValueError(f"candle CSV {path}: timestamps must be strictly ascending (row {bad} breaks this)")
    if ts[0] < 10 ** 11:
        raise ValueError(f"candle CSV {path}: ts {ts[0]} looks like seconds; the format wants milliseconds")
    return Candles(ts=ts, ohlcv=ohlcv, source=path.name)


def features(ohlcv: np.ndarray) -> np.ndarray:
    """[N, 5] open..volume -> [N, 6] with amount = volume * mean(open, high, low, close).

    Our candles carry no quote volume; upstream fills `amount` the same way when it is missing.
    """
    amount = ohlcv[:, 4:5] * ohlcv[:, 0:4].mean(axis=1, keepdims=True)
    return np.concatenate([ohlcv, amount], axis=1)


def time_stamps(ts_ms: np.ndarray) -> np.ndarray:
    """ms UTC [N] -> int64 [N, 5]: minute, hour, weekday (Mon=0), day of month, month (1-12)."""
    ts_ms = np.asarray(ts_ms, dtype=np.int64)
    minutes_total = ts_ms // 60_000
    minute = minutes_total % 60
    hour = (minutes_total // 60) % 24
    days = ts_ms // 86_400_000
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    d64 = ts_ms.astype("datetime64[ms]")
    month_start = d64.astype("datetime64[M]")
    day = (d64.astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    month = month_start.astype(np.int64) % 12 + 1
    return np.stack([minute, hour, weekday, day, month], axis=1).astype(np.int64)


def lookback_stats(window: np.ndarray, lookback: int) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and population std over the first `lookback` rows. window: [..., W, 6]."""
    if lookback < 2 or lookback > window.shape[-2]:
        raise ValueError(f"lookback {lookback} must be in 2..{window.shape[-2]} (the window length)")
    past = window[..., :lookback, :]
    return past.mean(axis=-2), past.std(axis=-2)


def normalize(window: np.ndarray, lookback: int, clip: float = DEFAULT_CLIP
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalize [..., W, 6] with lookback-only statistics. Returns (float32 x, mean, std).

    Denormalize with x * (std + 1e-5) + mean.
    """
    window = np.asarray(window, dtype=np.float64)
    mean, std = lookback_stats(window, lookback)
    x = (window - mean[..., None, :]) / (std[..., None, :] + NORM_EPS)
    return np.clip(x, -clip, clip).astype(np.float32), mean, std


def denormalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64) * (std[..., None, :] + NORM_EPS) + mean[..., None, :]


_MONTH_MS = 30.436875 * 86_400_000  # mean Gregorian month


def split_holdout(candles: Candles, holdout_months: Optional[float] = None,
                  holdout_frac: Optional[float] = None) -> int:
    """Index of the first validation row: the last N months (by time) or the last fraction."""
    n = len(candles)
    if holdout_months is not None and holdout_frac is not None:
        raise ValueError("give either --holdout-months or --holdout-frac, not both")
    if holdout_months is not None:
        if holdout_months <= 0:
            raise ValueError("--holdout-months must be > 0")
        cutoff = candles.ts[-1] - int(holdout_months * _MONTH_MS)
        idx = int(np.searchsorted(candles.ts, cutoff, side="right"))
    else:
        frac = 0.1 if holdout_frac is None else holdout_frac
        if not 0 < frac < 1:
            raise ValueError("--holdout-frac must be between 0 and 1")
        idx = int(round(n * (1 - frac)))
    return max(0, min(n, idx))


class WindowSet:
    """Fixed-length windows over one contiguous series, normalized on demand.

    Windows for training lie entirely before the holdout; validation windows lie entirely
    inside it, so no validation bar is ever seen in training.
    """

    def __init__(self, candles: Candles, window: int, lookback: int, clip: float = DEFAULT_CLIP):
        if window > len(candles):
            raise ValueError(f"{candles.source}: {len(candles)} rows are fewer than one window of {window}; "
                             f"use a longer file or a smaller --lookback/--horizon")
        self.window = window
        self.lookback = lookback
        self.clip = clip
        self.feats = features(candles.ohlcv)
        self.stamps = time_stamps(candles.ts)
        self.n_starts = len(candles) - window + 1

    def batch(self, starts: np.ndarray) -> Dict[str, np.ndarray]:
        idx = np.asarray(starts)[:, None] + np.arange(self.window)[None, :]
        x, mean, std = normalize(self.feats[idx], self.lookback, self.clip)
        return {"x": x, "stamp": self.stamps[idx], "mean": mean, "std": std}

    def sample_starts(self, rng: np.random.Generator, size: int, mix: str = "rows") -> np.ndarray:
        """Training draws, uniform over the windows (one file: every mix is the same draw)."""
        return rng.integers(0, self.n_starts, size=size)

    def eval_starts(self, max_windows: int) -> np.ndarray:
        """Evenly spaced, deterministic windows for validation."""
        count = min(self.n_starts, max_windows)
        return np.unique(np.linspace(0, self.n_starts - 1, count).round().astype(np.int64))


class MultiWindowSet:
    """Windows over several series (files) behind one index space; no window crosses a file.

    Global window index i maps to file f and local start i - offset[f], so uniform sampling
    over the index weights each file by its number of windows. Per-window normalization makes
    prices of different instruments and timeframes comparable.
    """

    def __init__(self, sets):
        if not sets:
            raise ValueError("MultiWindowSet needs at least one WindowSet")
        self.sets = list(sets)
        self.window = self.sets[0].window
        self.lookback = self.sets[0].lookback
        self.clip = self.sets[0].clip
        for ws in self.sets:
            if (ws.window, ws.lookback) != (self.window, self.lookback):
                raise ValueError("every WindowSet of a MultiWindowSet needs the same window and lookback")
        counts = np.array([ws.n_starts for ws in self.sets], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.n_starts = int(self.offsets[-1])

    def locate(self, starts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(file index, local start) for global window indices."""
        starts = np.asarray(starts, dtype=np.int64)
        if starts.size and (starts.min() < 0 or starts.max() >= self.n_starts):
            raise IndexError(f"window index out of range 0..{self.n_starts - 1}")
        f = np.searchsorted(self.offsets, starts, side="right") - 1
        return f, starts - self.offsets[f]

    def batch(self, starts: np.ndarray) -> Dict[str, np.ndarray]:
        starts = np.asarray(starts, dtype=np.int64)
        files, local = self.locate(starts)
        parts = {}
        for f in np.unique(files):
            sel = np.nonzero(files == f)[0]
            parts[int(f)] = (sel, self.sets[int(f)].batch(local[sel]))
        out = {}
        for key in ("x", "stamp", "mean", "std"):
            first = next(iter(parts.values()))[1][key]
            arr = np.empty((len(starts),) + first.shape[1:], dtype=first.dtype)
            for sel, b in parts.values():
                arr[sel] = b[key]
            out[key] = arr
        return out

    def sample_starts(self, rng: np.random.Generator, size: int, mix: str = "rows") -> np.ndarray:
        """Training draws as global indices. `rows`: uniform over every window, so a file weighs by
        its bar count (a 5m file outweighs a 1h file of the same span twelve times). `equal`: a file
        uniformly, then a window uniformly inside it, so every file weighs the same."""
        if mix == "rows":
            return rng.integers(0, self.n_starts, size=size)
        if mix != "equal":
            raise ValueError(f"unknown mix {mix!r}: rows or equal")
        files = rng.integers(0, len(self.sets), size=size)
        counts = np.diff(self.offsets)
        local = np.minimum((rng.random(size) * counts[files]).astype(np.int64), counts[files] - 1)
        return self.offsets[files] + local

    def eval_starts(self, max_windows: int) -> np.ndarray:
        """Evenly spaced windows in each file (about max_windows / files each), as global indices."""
        per = max(1, -(-max_windows // len(self.sets)))
        return np.concatenate([ws.eval_starts(per) + self.offsets[i] for i, ws in enumerate(self.sets)])


def parse_time(value) -> int:
    """Unix ms from an int-like string (ms) or an ISO date/time (UTC when no zone is given)."""
    import datetime as _dt
    s = str(value).strip()
    if re.fullmatch(r"\d{11,}", s):
        return int(s)
    try:
        t = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{value}' is neither Unix milliseconds nor an ISO date such as 2025-12-01") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return int(t.timestamp() * 1000)


_NAME_RE = re.compile(r"^(?P<venue>[a-z0-9]+)_(?P<inst>[A-Za-z0-9-]+)_(?P<tf>\d+[smhdwM])_")


def describe_source(name: str) -> Dict[str, Optional[str]]:
    """Best-effort venue/instrument/timeframe from names like binance_BTCUSDT_1h_2021-06_....csv.gz."""
    m = _NAME_RE.match(Path(name).name)
    if not m:
        return {"venue": None, "instrument": None, "timeframe": None}
    return {"venue": m.group("venue"), "instrument": m.group("inst"), "timeframe": m.group("tf")}
