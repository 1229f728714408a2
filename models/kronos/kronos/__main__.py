"""Command line: python3 -m kronos {train,export,import-official,random-official,quantize,parity-fixtures,forecast} ...

Run from models/kronos (or with PYTHONPATH=models/kronos) using Debian's /usr/bin/python3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_train(args) -> int:
    from .train import train
    train(args)
    return 0


def _cmd_export(args) -> int:
    from .export import export_run
    card = export_run(Path(args.run), Path(args.out))
    print(json.dumps({"out": args.out, "version": card["version"], "files": card["files"]}))
    return 0


def _cmd_import(args) -> int:
    from .load_official import import_official
    out, card = import_official(args.tokenizer, args.predictor, args.out, args.max_context, args.name,
                                None if args.no_export else Path(args.export or Path(args.out) / "onnx"))
    print(json.dumps({"run": str(out), "version": card["version"] if card else None}))
    return 0


def _cmd_random_official(args) -> int:
    """Official-format checkpoints (exact names and shapes, random weights), imported and exported."""
    from .load_official import import_official
    from .official_shapes import write_random_official
    out = Path(args.out)
    tok_dir, pred_dir, context = write_random_official(out / "hub", args.model, args.seed)
    run, card = import_official(tok_dir, pred_dir, out / "run", context, f"kronos-{args.model}-random",
                                out / "onnx")
    print(json.dumps({"tokenizer": str(tok_dir), "predictor": str(pred_dir), "run": str(run),
                      "onnx": str(out / "onnx"), "max_context": context, "version": card["version"] if card else None}))
    return 0


def _cmd_quantize(args) -> int:
    from .quantize import quantize_export
    card = quantize_export(Path(args.onnx), Path(args.out))
    print(json.dumps({"out": args.out, "version": card["version"], "quantization": card["quantization"],
                      "files": card["files"]}))
    return 0


def _cmd_parity(args) -> int:
    from .parity import write_fixtures
    tokenizer = model = onnx_dir = None
    if args.run:
        from .export import load_run
        tokenizer, model, _ = load_run(Path(args.run))
        onnx_dir = Path(args.onnx) if args.onnx else None
    m = write_fixtures(Path(args.out), tokenizer, model, onnx_dir, seed=args.seed)
    print(json.dumps({"out": args.out, "cases": len(m["cases"]), "loops": len(m["loops"])}))
    return 0


def _cmd_forecast(args) -> int:
    import numpy as np

    from .data import load_csv, resolve_csv
    from .export import load_run
    from .inference import Sampling, forecast

    tokenizer, model, cfg = load_run(Path(args.run))
    candles = load_csv(resolve_csv(args.csv))
    lookback = args.lookback or cfg.get("lookback") or cfg["max_context"] - args.pred_len
    end = len(candles) if args.end is None else args.end
    c = candles.slice(max(0, end - lookback), end)
    res = forecast(tokenizer, model, c.ts, c.ohlcv, args.pred_len, candles.bar_ms, cfg["max_context"],
                   Sampling(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k),
                   sample_count=args.samples, seed=args.seed)
    close = res["paths"][:, :, 3]
    print(json.dumps({"ts": res["ts"].tolist(), "close_mean": np.round(res["mean"][:, 3], 4).tolist(),
                      "p_up": float((close[:, -1] > c.ohlcv[-1, 3]).mean()), "last_close": float(c.ohlcv[-1, 3])}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m kronos", description="Kronos training, export and import")
    sub = p.add_subparsers(dest="cmd", required=True)

    from .train import add_train_args
    t = sub.add_parser("train", help="two-stage training on a candle CSV (JSON progress on stdout)")
    add_train_args(t)
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("export", help="export a run directory to ONNX graphs + card.json")
    e.add_argument("--run", required=True, help="directory written by train or import-official")
    e.add_argument("--out", required=True, help="output directory for the .onnx files, card.json and weights")
    e.set_defaults(func=_cmd_export)

    i = sub.add_parser("import-official", help="load official checkpoints from local directories")
    i.add_argument("--tokenizer", required=True, help="directory with config.json + model.safetensors of a tokenizer")
    i.add_argument("--predictor", required=True, help="directory with config.json + model.safetensors of a predictor")
    i.add_argument("--out", required=True, help="run directory to write (state dicts + config.json)")
    i.add_argument("--max-context", type=int, default=512, help="512 for small/base, 2048 for mini")
    i.add_argument("--name", default=None)
    i.add_argument("--export", default=None, help="ONNX output directory (default OUT/onnx)")
    i.add_argument("--no-export", action="store_true", help="only convert, do not export ONNX")
    i.set_defaults(func=_cmd_import)

    r = sub.add_parser("random-official", help="official-format Kronos checkpoints with random weights "
                       "(the hub is unreachable), imported and exported: OUT/hub, OUT/run, OUT/onnx")
    r.add_argument("--model", required=True, choices=["mini", "small", "base"])
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=_cmd_random_official)

    q = sub.add_parser("quantize", help="copy an export with its predictor trunk graphs int8-quantized (dynamic)")
    q.add_argument("--onnx", required=True, help="an export directory (card.json + graphs)")
    q.add_argument("--out", required=True)
    q.set_defaults(func=_cmd_quantize)

    f = sub.add_parser("parity-fixtures", help="write reference inputs/outputs for parity/check.mjs")
    f.add_argument("--out", required=True)
    f.add_argument("--run", default=None, help="use this run's weights (default: tiny random weights)")
    f.add_argument("--onnx", default=None, help="with --run: check these already exported graphs instead of re-exporting")
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=_cmd_parity)

    fc = sub.add_parser("forecast", help="forecast the bars after a CSV's end with a run's weights (PyTorch)")
    fc.add_argument("--run", required=True)
    fc.add_argument("--csv", required=True)
    fc.add_argument("--pred-len", type=int, default=24)
    fc.add_argument("--lookback", type=int, default=None)
    fc.add_argument("--end", type=int, default=None, help="row index to forecast from (default: the end)")
    fc.add_argument("--samples", type=int, default=8)
    fc.add_argument("--temperature", type=float, default=1.0)
    fc.add_argument("--top-p", type=float, default=0.9)
    fc.add_argument("--top-k", type=int, default=0)
    fc.add_argument("--seed", type=int, default=0)
    fc.set_defaults(func=_cmd_forecast)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"kronos {args.cmd}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
