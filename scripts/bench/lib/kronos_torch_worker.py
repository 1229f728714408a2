"""PyTorch reference loop for the forecast benchmark, as a worker the bench interleaves with its runs.

Protocol: one JSON object per line on stdin, one per line on stdout.
  {"cmd": "info"}                                   -> torch version, threads, BLAS, a 2048^2 matmul GFLOP/s
  {"cmd": "time", "run": DIR, "lookback", "horizon", "paths", "reps"}
                                                    -> {"times": [ms, ...]} of kronos.inference.generate
The loop is upstream's (models/kronos `generate`: paths replicated along the batch, full window
recomputed at every step, eval mode, top-p 0.9). The bench starts it with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from the environment (set on some machines for old OpenBLAS builds,
they pin a slow kernel), and reports which BLAS library torch ran.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from kronos.data import features, normalize, time_stamps
from kronos.export import load_run
from kronos.inference import Sampling, generate

torch.set_num_threads(os.cpu_count() or 1)
_models = {}


def _model(run):
    if run not in _models:
        _models[run] = load_run(Path(run))
    return _models[run]


def _blas() -> str:
    for lib in ("/usr/lib/x86_64-linux-gnu/libblas.so.3", "/usr/lib/aarch64-linux-gnu/libblas.so.3"):
        if os.path.exists(lib):
            return os.path.realpath(lib)
    return "unknown"


def info():
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - t)
    cfg = torch.__config__.show()
    blas_info = next((p.split("=")[1] for p in cfg.replace(",", " ").split() if p.startswith("BLAS_INFO=")), "?")
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas_info": blas_info, "libblas": _blas(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "matmul_gflops": 2 * 2048 ** 3 / best / 1e9}


def timed(c):
    tok, model, cfg = _model(c["run"])
    t_len, p = c["lookback"], c["horizon"]
    g = np.random.default_rng(1)
    close = 30000 * np.exp(np.cumsum(g.normal(0, 0.01, t_len)))
    ohlcv = np.stack([close, close * 1.002, close * 0.998, close, 100 + 30 * g.random(t_len)], 1)
    ts = 1767225600000 + 3600000 * np.arange(t_len + p)
    x, _, _ = normalize(features(ohlcv), t_len)
    times = []
    for _ in range(c["reps"]):
        t = time.perf_counter()
        generate(tok, model, torch.from_numpy(x)[None], torch.from_numpy(time_stamps(ts[:t_len]))[None],
                 torch.from_numpy(time_stamps(ts[t_len:]))[None], p, cfg["max_context"],
                 Sampling(temperature=1.0, top_p=0.9), sample_count=c["paths"], use_kv_cache=False,
                 generator=torch.Generator().manual_seed(1))
        times.append((time.perf_counter() - t) * 1000)
    return {"times": times}


for line in sys.stdin:
    req = json.loads(line)
    try:
        out = info() if req["cmd"] == "info" else timed(req)
    except Exception as err:  # reported to the bench, which prints it and goes on without PyTorch rows
        out = {"error": f"{type(err).__name__}: {err}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
