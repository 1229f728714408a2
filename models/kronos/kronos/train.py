"""Two-stage training on candle windows.

Stage 1 (tokenizer): reconstruction of normalized windows through BSQ, loss
  (MSE(coarse) + MSE(full) + bsq_loss) / 2.
Stage 2 (predictor): next-token cross-entropy on (s1, s2) from the frozen tokenizer.

Protocol on stdout: one JSON object per line, nothing else.
  step lines:  {"stage","epoch","step","loss","rate","eta_s", "total_steps","lr","samples_per_s"}
               rate = optimizer steps per second; eta_s = seconds left in the stage at the
               current rate (an upper bound: early stopping or --max-minutes may end it sooner)
  event lines: {"stage","event":"val"|"stage_done"|"done"|"start", ...}
Human-readable logs go to stderr.

Layout of --out:
  config.json        model configs, window sizes, data window, training arguments
  tokenizer.pt       best tokenizer state dict (by validation loss)
  predictor.pt       best predictor state dict
  metrics.json       per-stage results
  checkpoints/       {stage}_last.pt with optimizer, scheduler and RNG state for --resume
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np
import torch

from .config import MODEL_SPECS, resolve_predictor_config, resolve_tokenizer_config
from .data import MultiWindowSet, WindowSet, describe_source, load_csv, parse_time, resolve_csv, split_holdout
from .predictor import Kronos
from .tokenizer import KronosTokenizer

STAGES = ("tokenizer", "predictor")


def emit(obj: Dict) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    print(f"[kronos] {msg}", file=sys.stderr, flush=True)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was requested but torch.cuda.is_available() is false; "
                           "use --device cpu or install a CUDA build of torch")
    return torch.device(name)


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", required=True, action="append",
                   help="candle CSV (gz or plain, header ts,open,high,low,close,volume); "
                   "a bare file name is looked up in $KOKEX_DATA_DIR (default ../shared/data). Repeat for "
                   "several files (--csv A --csv B): each is split on its own and no window crosses files")
    p.add_argument("--test-from", default=None, metavar="TIME",
                   help="held-out test period: rows at or after this time (ISO date, UTC, or Unix ms) are dropped "
                        "from every file before the train/validation split, so neither training nor validation "
                        "(early stopping, settings) ever sees them")
    p.add_argument("--out", required=True, help="run directory (created); holds weights, checkpoints, metrics")
    p.add_argument("--model", default="tiny", choices=sorted(MODEL_SPECS),
                   help="model size: predictor config with its tokenizer and max context")
    p.add_argument("--lookback", type=int, default=None,
                   help="bars whose statistics normalize a window (default: max_context - horizon)")
    p.add_argument("--horizon", type=int, default=32, help="bars after the lookback in each training window")
    p.add_argument("--holdout-months", type=float, default=None, help="validate on the last N months")
    p.add_argument("--holdout-frac", type=float, default=None, help="validate on the last fraction (default 0.1)")
    p.add_argument("--stages", default="tokenizer,predictor", help="comma list among tokenizer,predictor")
    p.add_argument("--epochs", type=int, default=10, help="max epochs per stage (early stopping may end sooner)")
    p.add_argument("--tokenizer-epochs", type=int, default=None)
    p.add_argument("--predictor-epochs", type=int, default=None)
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--tokenizer-lr", type=float, default=2e-3)
    p.add_argument("--predictor-lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=3, help="epochs without validation improvement before stopping")
    p.add_argument("--val-windows", type=int, default=256, help="validation windows (evenly spaced)")
    p.add_argument("--mix", choices=["rows", "equal"], default="rows",
                   help="with several --csv files, how training draws windows: rows (uniform over all "
                        "windows, a file weighs by its bar count) or equal (each file equally often)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock cap per stage")
    p.add_argument("--tokenizer-minutes", type=float, default=None, help="wall-clock cap of stage 1 (default --max-minutes)")
    p.add_argument("--predictor-minutes", type=float, default=None, help="wall-clock cap of stage 2 (default --max-minutes)")
    p.add_argument("--lr-schedule", choices=["steps", "time"], default="steps",
                   help="steps: one-cycle over epochs x steps-per-epoch; time: the same one-cycle shape over the "
                        "stage's wall-clock cap (needs a cap), so a loaded machine still ends at the low learning "
                        "rate; not bit-reproducible on resume")
    p.add_argument("--s2-condition", choices=["teacher", "sampled"], default="teacher",
                   help="s1 the s2 head sees in training: the true next s1 (teacher) or one sampled "
                        "from the model (upstream default)")
    p.add_argument("--seed", type=int, default=100)
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:N")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--resume", action="store_true", help="continue from checkpoints/ in --out")
    p.add_argument("--export", default=None, metavar="DIR", help="export ONNX graphs and card to DIR when done")


def one_cycle_lr(max_lr: float, frac: float, pct_start: float = 0.05, div_factor: float = 10.0,
                 final_div_factor: float = 100.0) -> float:
    """torch's OneCycleLR (cosine) as a function of the fraction of the run done, in [0, 1]."""
    frac = min(max(frac, 0.0), 1.0)
    start, low = max_lr / div_factor, max_lr / div_factor / final_div_factor

    def cos(a, b, t):
        return b + (a - b) / 2.0 * (math.cos(math.pi * t) + 1)

    if frac < pct_start:
        return cos(start, max_lr, frac / pct_start)
    return cos(max_lr, low, (frac - pct_start) / (1 - pct_start))


class StageRunner:
    """Epoch loop with validation, early stopping, checkpoints and JSON progress."""

    def __init__(self, stage: str, module: torch.nn.Module, out: Path, args, device: torch.device,
                 lr: float, epochs: int, clip_norm: float):
        self.stage = stage
        self.module = module
        self.out = out
        self.args = args
        self.device = device
        self.epochs = epochs
        self.total_steps = epochs * args.steps_per_epoch
        self.ckpt_path = out / "checkpoints" / f"{stage}_last.pt"
        self.best_path = out / f"{stage}.pt"
        self.clip_norm = clip_norm
        params = [p for p in module.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=lr, weight_decay=args.weight_decay, betas=(0.9, 0.95))
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=lr, total_steps=self.total_steps, pct_start=0.05, div_factor=10,
            final_div_factor=100)
        self.max_lr = lr
        self.rng = np.random.default_rng(args.seed + (0 if stage == "tokenizer" else 1))
        self.epoch = 0
        self.step = 0
        self.best_val = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.history = []
        self.finished = False
        self.reason = None
        self.elapsed = 0.0

    def state(self) -> Dict:
        return {
            "stage": self.stage, "model": self.module.state_dict(), "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(), "epoch": self.epoch, "step": self.step,
            "best_val": self.best_val, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
            "history": self.history, "finished": self.finished, "elapsed": self.elapsed, "reason": self.reason,
            "np_rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "total_steps": self.total_steps,
        }

    def load(self, ckpt: Dict) -> None:
        if ckpt.get("total_steps") != self.total_steps:
            raise ValueError(f"checkpoint {self.ckpt_path} was made for {ckpt.get('total_steps')} steps, this run "
                             f"plans {self.total_steps}; resume with the same --epochs/--steps-per-epoch")
        self.module.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.sched.load_state_dict(ckpt["scheduler"])
        self.epoch, self.step = ckpt["epoch"], ckpt["step"]
        self.best_val, self.best_epoch, self.bad_epochs = ckpt["best_val"], ckpt["best_epoch"], ckpt["bad_epochs"]
        self.history, self.finished, self.elapsed = ckpt["history"], ckpt["finished"], ckpt.get("elapsed", 0.0)
        self.reason = ckpt.get("reason")
        self.rng.bit_generator.state = ckpt["np_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        if ckpt.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])

    def save(self) -> None:
        self.ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.ckpt_path.with_suffix(".tmp")
        torch.save(self.state(), tmp)
        tmp.replace(self.ckpt_path)

    def run(self, train_step: Callable[[np.ndarray], tuple], validate: Callable[[], Dict[str, float]],
            sample: Callable[[np.random.Generator, int], np.ndarray]) -> Dict:
        args = self.args
        if self.finished:
            log(f"{self.stage}: already finished in {self.ckpt_path}, skipping")
            return self.summary(self.reason or "finished")
        minutes = getattr(args, f"{self.stage}_minutes", None)
        minutes = args.max_minutes if minutes is None else minutes
        deadline = None if minutes is None else minutes * 60.0
        by_time = getattr(args, "lr_schedule", "steps") == "time"
        if by_time and deadline is None:
            raise ValueError("--lr-schedule time needs --max-minutes (or --tokenizer-minutes/--predictor-minutes)")
        reason = "max_epochs"
        t_start = time.time() - self.elapsed
        step_times = []
        while self.epoch < self.epochs:
            self.module.train()
            epoch_losses = []
            for _ in range(args.steps_per_epoch):
                t0 = time.time()
                starts = sample(self.rng, args.batch_size)
                loss, metrics = train_step(starts)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.clip_norm)
                if by_time:
                    lr_now = one_cycle_lr(self.max_lr, (time.time() - t_start) / deadline)
                    for g in self.opt.param_groups:
                        g["lr"] = lr_now
                self.opt.step()
                if not by_time:
                    self.sched.step()
                self.step += 1
                dt = time.time() - t0
                step_times.append(dt)
                recent = step_times[-50:]
                rate = len(recent) / max(sum(recent), 1e-9)
                remaining = (self.total_steps - self.step) / rate
                if deadline is not None:
                    remaining = max(0.0, min(remaining, deadline - (time.time() - t_start)))
                lv = float(loss.detach())
                epoch_losses.append(lv)
                msg = {"stage": self.stage, "epoch": self.epoch + 1, "step": self.step, "loss": round(lv, 6),
                       "rate": round(rate, 4), "eta_s": round(remaining, 1), "total_steps": self.total_steps,
                       "lr": float(f"{self.opt.param_groups[0]['lr']:.3g}"),
                       "samples_per_s": round(rate * args.batch_size, 1)}
                msg.update({k: round(float(v), 5) for k, v in metrics.items()})
                emit(msg)
                if deadline is not None and time.time() - t_start > deadline:
                    break
            self.epoch += 1
            val = validate()
            self.elapsed = time.time() - t_start
            improved = val["val_loss"] < self.best_val - 1e-6
            if improved:
                self.best_val, self.best_epoch, self.bad_epochs = val["val_loss"], self.epoch, 0
                torch.save(self.module.state_dict(), self.best_path)
            else:
                self.bad_epochs += 1
            rec = {"epoch": self.epoch, "step": self.step, "train_loss": float(np.mean(epoch_losses)),
                   **{k: float(v) for k, v in val.items()}, "elapsed_s": round(self.elapsed, 1)}
            self.history.append(rec)
            emit({"stage": self.stage, "event": "val", **rec, "best": improved})
            log(f"{self.stage} epoch {self.epoch}: train {rec['train_loss']:.4f} val {val['val_loss']:.4f}"
                f"{' (best)' if improved else ''}")
            stop = False
            if self.bad_epochs >= args.patience:
                reason, stop = "early_stopping", True
            elif deadline is not None and time.time() - t_start > deadline:
                reason, stop = "max_minutes", True
            if stop or self.epoch >= self.epochs:
                self.finished, self.reason = True, reason
            self.save()
            if stop:
                break
        if not self.finished:
            self.finished, self.reason = True, reason
            self.save()
        return self.summary(self.reason)

    def summary(self, reason: str) -> Dict:
        best = next((h for h in self.history if h["epoch"] == self.best_epoch), {})
        return {"stopped": reason, "epochs": self.epoch, "steps": self.step, "best_epoch": self.best_epoch,
                "best_val_loss": self.best_val, "best": best, "train_seconds": round(self.elapsed, 1),
                "history": self.history}


def _batch_tensors(ws: WindowSet, starts: np.ndarray, device: torch.device):
    b = ws.batch(starts)
    return torch.from_numpy(b["x"]).to(device), torch.from_numpy(b["stamp"]).to(device)


def train(args) -> Dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    for s in stages:
        if s not in STAGES:
            raise ValueError(f"--stages: unknown stage '{s}'; use tokenizer and/or predictor")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    spec = MODEL_SPECS[args.model]
    tok_cfg = resolve_tokenizer_config(spec.tokenizer)
    pred_cfg = resolve_predictor_config(spec.predictor)
    max_context = spec.max_context
    horizon = args.horizon
    lookback = args.lookback if args.lookback is not None else max_context - horizon
    window = lookback + horizon
    if lookback < 2 or horizon < 1:
        raise ValueError("--lookback must be >= 2 and --horizon >= 1")
    if window - 1 > max_context:
        raise ValueError(f"--lookback + --horizon - 1 = {window - 1} exceeds the model's max_context {max_context}")

    csvs = args.csv if isinstance(args.csv, list) else [args.csv]
    test_from = parse_time(args.test_from) if args.test_from is not None else None
    train_sets, val_sets, sources = [], [], []
    for name in csvs:
        csv_path = resolve_csv(name)
        full = load_csv(csv_path)
        candles = full
        if test_from is not None:
            keep = int(np.searchsorted(full.ts, test_from, side="left"))
            candles = full.slice(0, keep)
        split = split_holdout(candles, args.holdout_months, args.holdout_frac)
        train_c, val_c = candles.slice(0, split), candles.slice(split, len(candles))
        if len(train_c) < window or len(val_c) < window:
            raise ValueError(f"{csv_path.name}: the split leaves {len(train_c)} training and {len(val_c)} validation "
                             f"rows; each needs at least one window of {window}; change the holdout, --test-from "
                             f"or the window")
        train_sets.append(WindowSet(train_c, window, lookback))
        val_sets.append(WindowSet(val_c, window, lookback))
        src = describe_source(csv_path.name)
        info = {
            "source": csv_path.name, "venue": src["venue"], "instrument": src["instrument"],
            "timeframe": src["timeframe"], "bar_ms": full.bar_ms, "rows": len(full),
            "first_ts": int(full.ts[0]), "last_ts": int(full.ts[-1]),
            "train": {"rows": len(train_c), "first_ts": int(train_c.ts[0]), "last_ts": int(train_c.ts[-1])},
            "validation": {"rows": len(val_c), "first_ts": int(val_c.ts[0]), "last_ts": int(val_c.ts[-1])},
        }
        if test_from is not None:
            info["test"] = {"rows": len(full) - len(candles), "from_ts": test_from,
                            "note": "held out: never read by training or validation"}
        sources.append(info)
    if len(train_sets) == 1:
        train_ws, val_ws = train_sets[0], val_sets[0]
    else:
        train_ws, val_ws = MultiWindowSet(train_sets), MultiWindowSet(val_sets)
    val_starts = val_ws.eval_starts(args.val_windows)
    mix = getattr(args, "mix", "rows")
    # `rows` (the default) is the draw of earlier runs, so their RNG sequences are unchanged.
    def sample(rng, size):
        return train_ws.sample_starts(rng, size, mix)
    if len(val_sets) == 1:
        sources[0]["validation"]["windows"] = int(len(val_starts))
    else:
        for i, info in enumerate(sources):
            lo, hi = val_ws.offsets[i], val_ws.offsets[i + 1]
            info["validation"]["windows"] = int(((val_starts >= lo) & (val_starts < hi)).sum())
    if len(sources) == 1:
        data_info = dict(sources[0])
    else:
        data_info = {
            "source": " + ".join(s["source"] for s in sources),
            "venue": "+".join(sorted({str(s["venue"]) for s in sources})),
            "instrument": "+".join(sorted({str(s["instrument"]) for s in sources})),
            "timeframe": "+".join(str(s["timeframe"]) for s in sources),
            "bar_ms": None, "rows": sum(s["rows"] for s in sources),
            "first_ts": min(s["first_ts"] for s in sources), "last_ts": max(s["last_ts"] for s in sources),
            "train": {"rows": sum(s["train"]["rows"] for s in sources)},
            "validation": {"rows": sum(s["validation"]["rows"] for s in sources), "windows": int(len(val_starts))},
            "sources": sources,
        }
    data_info.update({"mix": mix if len(train_sets) > 1 else None,
                      "holdout_months": args.holdout_months, "holdout_frac": args.holdout_frac,
                      "test_from_ts": test_from})
    n_train_rows = sum(s["train"]["rows"] for s in sources)
    n_val_rows = sum(s["validation"]["rows"] for s in sources)

    run_config = {
        "format": "kokex-kronos-run/1",
        "model": args.model,
        "tokenizer": tok_cfg.to_dict(),
        "predictor": pred_cfg.to_dict(),
        "max_context": max_context, "lookback": lookback, "horizon": horizon, "clip": train_ws.clip,
        "data": data_info,
        "training": {k: v for k, v in vars(args).items() if k not in ("func",)},
        "command": "python3 -m kronos " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith(
            ("__main__.py", "kronos")) else None,
        "device": str(device), "torch": torch.__version__,
    }
    cfg_path = out / "config.json"
    if args.resume and cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        for key in ("tokenizer", "predictor", "lookback", "horizon", "max_context"):
            if old.get(key) != run_config[key]:
                raise ValueError(f"--resume: {cfg_path} has a different {key}; use a fresh --out or the same settings")
    cfg_path.write_text(json.dumps(run_config, indent=2) + "\n")
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if (args.resume and metrics_path.exists()) else {}
    emit({"stage": "setup", "event": "start", "device": str(device), "train_rows": n_train_rows,
          "val_rows": n_val_rows, "window": window, "lookback": lookback, "stages": stages,
          "files": len(sources), "train_windows": train_ws.n_starts})
    log(f"device {device}; {data_info['source']}: {n_train_rows} train rows, {n_val_rows} validation rows; "
        f"window {window} (lookback {lookback})")

    tokenizer = KronosTokenizer(tok_cfg).to(device)

    if "tokenizer" in stages:
        epochs = args.tokenizer_epochs or args.epochs
        runner = StageRunner("tokenizer", tokenizer, out, args, device, args.tokenizer_lr, epochs, clip_norm=2.0)
        if args.resume and runner.ckpt_path.exists():
            runner.load(torch.load(runner.ckpt_path, map_location=device))
            log(f"tokenizer: resumed at epoch {runner.epoch}, step {runner.step}")

        def tok_step(starts):
            x, _ = _batch_tensors(train_ws, starts, device)
            loss, m, _ = tokenizer.training_loss(x)
            return loss, {"mse": m["mse_full"], "bsq": m["bsq"]}

        def tok_val():
            tokenizer.eval()
            tot = {"loss": 0.0, "mse_full": 0.0, "mse_coarse": 0.0, "bsq": 0.0}
            n = 0
            used1, used2 = set(), set()
            with torch.no_grad():
                for chunk in np.array_split(val_starts, max(1, math.ceil(len(val_starts) / 64))):
                    x, _ = _batch_tensors(val_ws, chunk, device)
                    loss, m, ids = tokenizer.training_loss(x)
                    k = len(chunk)
                    tot["loss"] += float(loss) * k
                    for key in ("mse_full", "mse_coarse", "bsq"):
                        tot[key] += float(m[key]) * k
                    n += k
                    used1.update(ids[0].flatten().tolist())
                    used2.update(ids[1].flatten().tolist())
            tokenizer.train()
            return {"val_loss": tot["loss"] / n, "val_mse_full": tot["mse_full"] / n,
                    "val_mse_coarse": tot["mse_coarse"] / n, "val_bsq": tot["bsq"] / n,
                    "s1_codes_used": len(used1) / 2 ** tok_cfg.s1_bits,
                    "s2_codes_used": len(used2) / 2 ** tok_cfg.s2_bits}

        metrics["tokenizer"] = runner.run(tok_step, tok_val, sample)
        emit({"stage": "tokenizer", "event": "stage_done", **{k: v for k, v in metrics["tokenizer"].items()
                                                              if k != "history"}})
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")

    if "predictor" in stages:
        tok_path = out / "tokenizer.pt"
        if not tok_path.exists():
            raise FileNotFoundError(f"{tok_path} is missing: stage 2 needs the stage-1 tokenizer; run with "
                                    f"--stages tokenizer,predictor (or copy a tokenizer.pt into --out)")
        tokenizer.load_state_dict(torch.load(tok_path, map_location=device))
        tokenizer.eval()
        for p in tokenizer.parameters():
            p.requires_grad_(False)
        model = Kronos(pred_cfg).to(device)
        epochs = args.predictor_epochs or args.epochs
        runner = StageRunner("predictor", model, out, args, device, args.predictor_lr, epochs, clip_norm=3.0)
        if args.resume and runner.ckpt_path.exists():
            runner.load(torch.load(runner.ckpt_path, map_location=device))
            log(f"predictor: resumed at epoch {runner.epoch}, step {runner.step}")
        sample_s1 = args.s2_condition == "sampled"

        def tokens(ws, starts):
            x, stamp = _batch_tensors(ws, starts, device)
            with torch.no_grad():
                s1, s2 = tokenizer.encode(x)
            return s1, s2, stamp

        def pred_step(starts):
            s1, s2, stamp = tokens(train_ws, starts)
            loss, m = model.training_loss(s1, s2, stamp, sample_s1=sample_s1)
            return loss, m

        def pred_val():
            model.eval()
            tot = {"loss": 0.0, "ce_s1": 0.0, "ce_s2": 0.0, "acc_s1": 0.0}
            n = 0
            with torch.no_grad():
                for chunk in np.array_split(val_starts, max(1, math.ceil(len(val_starts) / 64))):
                    s1, s2, stamp = tokens(val_ws, chunk)
                    # Teacher-forced s2 keeps validation deterministic and measures the
                    # factorization p(s1) p(s2 | s1) that inference samples from.
                    loss, m = model.training_loss(s1, s2, stamp, sample_s1=False)
                    k = len(chunk)
                    tot["loss"] += float(loss) * k
                    for key in ("ce_s1", "ce_s2", "acc_s1"):
                        tot[key] += float(m[key]) * k
                    n += k
            model.train()
            return {"val_loss": tot["loss"] / n, "val_ce_s1": tot["ce_s1"] / n, "val_ce_s2": tot["ce_s2"] / n,
                    "val_acc_s1": tot["acc_s1"] / n}

        metrics["predictor"] = runner.run(pred_step, pred_val, sample)
        metrics["predictor"]["uniform_ce"] = math.log(2 ** pred_cfg.s1_bits)
        emit({"stage": "predictor", "event": "stage_done", **{k: v for k, v in metrics["predictor"].items()
                                                              if k != "history"}})
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")

    metrics["wall_seconds"] = round(time.time() - started, 1)
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    result = {"out": str(out), "wall_seconds": metrics["wall_seconds"], "metrics": {k: {kk: vv for kk, vv in v.items() if kk != "history"}
                                           for k, v in metrics.items() if isinstance(v, dict)}}
    if args.export:
        from .export import export_run
        card = export_run(out, Path(args.export))
        result["export"] = {"dir": args.export, "version": card["version"]}
    emit({"stage": "all", "event": "done", **result})
    return result
