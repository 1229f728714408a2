"""Greedy PyTorch reference for the TypeScript runtime's parity test.

Run with Debian's interpreter and models/kronos on the path:
    PYTHONPATH=models/kronos /usr/bin/python3 models/kronos-runtime/test/reference.py RUN_DIR < cases.json > out.json

stdin: a JSON list of cases {name, lookback, horizon, max_context, kv, seed}. For each case a
random-walk candle series of lookback + horizon hourly bars is made (kronos.parity's recipe), and
the reference loop (kronos.inference.generate, greedy, eval mode) forecasts the last `horizon`
bars from the first `lookback`. stdout: the candles, the generated tokens and the
decoded values (normalized and de-normalized) per case.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from kronos.data import denormalize, features, normalize, time_stamps
from kronos.export import load_run
from kronos.inference import Sampling, generate
from kronos.parity import _series as random_walk_series  # the parity fixtures' candle recipe


def main() -> int:
    tokenizer, model, _ = load_run(Path(sys.argv[1]))
    torch.set_num_threads(1)
    out = []
    for case in json.load(sys.stdin):
        t, p = case["lookback"], case["horizon"]
        ts, batch = random_walk_series(np.random.default_rng(case["seed"]), 1, t + p)
        ohlcv = batch[0]
        feats = features(ohlcv[:t])
        x, mean, std = normalize(feats, t)
        gen = generate(tokenizer, model, torch.from_numpy(x)[None], torch.from_numpy(time_stamps(ts[:t]))[None],
                       torch.from_numpy(time_stamps(ts[t:]))[None], p, case["max_context"], Sampling(greedy=True),
                       use_kv_cache=case["kv"])
        paths = denormalize(gen.decoded, mean[None], std[None])
        out.append({
            "name": case["name"],
            "candles": [{"ts": int(ts[i]), "open": float(ohlcv[i, 0]), "high": float(ohlcv[i, 1]), "low": float(ohlcv[i, 2]),
                         "close": float(ohlcv[i, 3]), "volume": float(ohlcv[i, 4])} for i in range(t)],
            "future_ts": [int(v) for v in ts[t:]],
            "s1": gen.s1[0, t:].tolist(),
            "s2": gen.s2[0, t:].tolist(),
            "decoded": gen.decoded[0].reshape(-1).tolist(),
            "values": paths[0].reshape(-1).tolist(),
        })
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
