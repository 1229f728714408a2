import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from kronos import train as train_mod
from kronos.__main__ import build_parser, main as cli

from .helpers import SKIP_REAL, real_data_path, write_csv

STEP_KEYS = {"stage", "epoch", "step", "loss", "rate", "eta_s"}


def _args(csv, out, *extra):
    return build_parser().parse_args([
        "train", "--csv", str(csv), "--out", str(out), "--lookback", "24", "--horizon", "8",
        "--holdout-frac", "0.3", "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "4",
        "--val-windows", "8", "--seed", "3", *extra])


def _run(args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        result = train_mod.train(args)
    return result, [json.loads(line) for line in buf.getvalue().splitlines()]


class TrainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        cls.csv = write_csv(cls.dir / "synthetic_TEST_1h_x.csv.gz", 600, seed=11)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_two_stages_progress_protocol_and_export(self):
        out = self.dir / "run_a"
        result, lines = _run(_args(self.csv, out, "--export", str(out / "onnx")))
        steps = [l for l in lines if "event" not in l]
        self.assertEqual({l["stage"] for l in steps}, {"tokenizer", "predictor"})
        for l in steps:
            self.assertTrue(STEP_KEYS <= set(l), l)
        self.assertEqual([l["step"] for l in steps if l["stage"] == "predictor"], [1, 2, 3, 4])
        vals = [l for l in lines if l.get("event") == "val"]
        self.assertEqual(len(vals), 4)
        self.assertEqual(lines[-1]["event"], "done")
        for f in ("config.json", "metrics.json", "tokenizer.pt", "predictor.pt", "onnx/card.json",
                  "onnx/predictor_s1_kv.onnx"):
            self.assertTrue((out / f).exists(), f)
        card = json.loads((out / "onnx" / "card.json").read_text())
        self.assertEqual(card["version"], result["export"]["version"])
        self.assertEqual(card["data"]["rows"], 600)
        self.assertLess(card["data"]["train"]["last_ts"], card["data"]["validation"]["first_ts"])
        self.assertIn("best_val_loss", card["metrics"]["predictor"])

    def test_resume_after_a_crash_reproduces_an_uninterrupted_run(self):
        ref = self.dir / "ref"
        _run(_args(self.csv, ref))
        crashed = self.dir / "crashed"
        original = train_mod.StageRunner.save
        calls = {"n": 0}

        def crash_after_first_save(runner):
            original(runner)
            calls["n"] += 1
            if calls["n"] == 1:
                raise KeyboardInterrupt("simulated crash after the first checkpoint")

        with mock.patch.object(train_mod.StageRunner, "save", crash_after_first_save):
            with self.assertRaises(KeyboardInterrupt):
                _run(_args(self.csv, crashed))
        _, lines = _run(_args(self.csv, crashed, "--resume"))
        tok_steps = [l["step"] for l in lines if l.get("stage") == "tokenizer" and "event" not in l]
        self.assertEqual(tok_steps, [3, 4], "resume must continue after the checkpointed epoch")
        for f in ("tokenizer.pt", "predictor.pt"):
            a, b = torch.load(ref / f), torch.load(crashed / f)
            for k in a:
                torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"{f}:{k}")
        # A finished run resumes to a no-op.
        _, lines = _run(_args(self.csv, crashed, "--resume"))
        self.assertFalse([l for l in lines if "event" not in l])

    def test_early_stopping_on_flat_validation(self):
        out = self.dir / "flat"
        result, lines = _run(_args(self.csv, out, "--stages", "tokenizer", "--tokenizer-lr", "0", "--epochs", "5",
                                   "--patience", "1"))
        m = result["metrics"]["tokenizer"]
        self.assertEqual(m["stopped"], "early_stopping")
        self.assertEqual(m["epochs"], 2)

    def test_clear_cli_errors(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = cli(["train", "--csv", "does_not_exist.csv.gz", "--out", str(self.dir / "x")])
        self.assertEqual(rc, 2)
        self.assertIn("KOKEX_DATA_DIR", err.getvalue())
        if not torch.cuda.is_available():
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = cli(["train", "--csv", str(self.csv), "--out", str(self.dir / "y"), "--device", "cuda"])
            self.assertEqual(rc, 2)
            self.assertIn("--device cpu", err.getvalue())
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = cli(["train", "--csv", str(self.csv), "--out", str(self.dir / "z"), "--lookback", "200",
                      "--horizon", "8"])
        self.assertEqual(rc, 2)
        self.assertIn("max_context", err.getvalue())

    def test_several_files_with_a_held_out_test_period(self):
        # Two files of different bar sizes; the bars from a common time (the last 30 h) are the
        # test period: no training or validation bar may lie there, and no window crosses files.
        csv_b = write_csv(self.dir / "synthetic_OTHER_5m_x.csv.gz", 900, seed=12, bar_ms=300_000,
                          start_ms=1_700_000_000_000 + 600 * 3_600_000 - 900 * 300_000)
        test_from = 1_700_000_000_000 + 570 * 3_600_000
        out = self.dir / "multi"
        args = build_parser().parse_args([
            "train", "--csv", str(self.csv), "--csv", str(csv_b), "--out", str(out), "--lookback", "24",
            "--horizon", "8", "--holdout-frac", "0.3", "--test-from", str(test_from), "--epochs", "1",
            "--steps-per-epoch", "3", "--batch-size", "16", "--val-windows", "8", "--seed", "3",
            "--mix", "equal", "--export", str(out / "onnx")])
        seen = []
        original = train_mod._batch_tensors

        def spy(ws, starts, device):
            b = ws.batch(starts)
            seen.append(b["stamp"])
            return original(ws, starts, device)

        with mock.patch.object(train_mod, "_batch_tensors", spy):
            result, lines = _run(args)
        cfg = json.loads((out / "config.json").read_text())
        srcs = cfg["data"]["sources"]
        self.assertEqual(cfg["data"]["mix"], "equal")
        self.assertEqual([s["source"] for s in srcs], [self.csv.name, csv_b.name])
        for s in srcs:
            self.assertLess(s["train"]["last_ts"], s["validation"]["first_ts"])
            self.assertLess(s["validation"]["last_ts"], test_from, "validation must precede the test period")
            self.assertGreater(s["test"]["rows"], 0)
        self.assertEqual(srcs[0]["test"]["rows"], 30)
        self.assertEqual(srcs[1]["test"]["rows"], 360)
        self.assertGreater(srcs[0]["validation"]["windows"], 0)
        self.assertGreater(srcs[1]["validation"]["windows"], 0)
        card = json.loads((out / "onnx" / "card.json").read_text())
        self.assertEqual(card["data"]["test_from_ts"], test_from)
        self.assertEqual(len(card["data"]["sources"]), 2)
        # Every window read (training and validation) has evenly spaced stamps: one file, one bar size.
        self.assertTrue(seen)
        for stamps in seen:
            minutes = stamps[..., 1] * 60 + stamps[..., 0]
            steps = np.diff(minutes, axis=1) % (24 * 60)
            for row in steps:
                self.assertEqual(len(set(row.tolist())), 1, "a window crossed from one file into the other")

    def test_time_schedule_follows_the_one_cycle_shape(self):
        lr = 2e-3
        self.assertAlmostEqual(train_mod.one_cycle_lr(lr, 0.0), lr / 10)
        self.assertAlmostEqual(train_mod.one_cycle_lr(lr, 0.05), lr)
        self.assertAlmostEqual(train_mod.one_cycle_lr(lr, 1.0), lr / 1000)
        self.assertAlmostEqual(train_mod.one_cycle_lr(lr, 7.0), lr / 1000, msg="past the cap it stays at the floor")
        # Same curve as torch's OneCycleLR (cosine) at the same fraction of the run, within one step.
        total = 400
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.05,
                                                    div_factor=10, final_div_factor=100)
        for i in range(total):
            got = train_mod.one_cycle_lr(lr, i / (total - 1))
            self.assertLess(abs(got - sched.get_last_lr()[0]), 0.05 * lr, f"step {i}")
            opt.step()
            sched.step()

    def test_time_schedule_needs_a_cap_and_stops_at_it(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = cli(["train", "--csv", str(self.csv), "--out", str(self.dir / "t0"), "--lookback", "24",
                      "--horizon", "8", "--holdout-frac", "0.3", "--lr-schedule", "time"])
        self.assertEqual(rc, 2)
        self.assertIn("--max-minutes", err.getvalue())
        clock = {"t": 1000.0}

        def fake_time():  # every call advances the clock by one second
            clock["t"] += 1.0
            return clock["t"]

        out = self.dir / "timed"
        with mock.patch.object(train_mod.time, "time", fake_time):
            result, lines = _run(_args(self.csv, out, "--stages", "tokenizer", "--lr-schedule", "time",
                                       "--tokenizer-minutes", "1", "--epochs", "1000", "--patience", "1000"))
        m = result["metrics"]["tokenizer"]
        self.assertEqual(m["stopped"], "max_minutes")
        lrs = [l["lr"] for l in lines if l.get("stage") == "tokenizer" and "event" not in l]
        self.assertLess(len(lrs), 60)
        self.assertLess(lrs[-1], lrs[len(lrs) // 3], "the learning rate anneals as the cap approaches")

    def test_multi_window_set_maps_global_indices_to_files(self):
        from kronos.data import MultiWindowSet, WindowSet, load_csv
        a = WindowSet(load_csv(self.csv), 32, 24)
        b_csv = write_csv(self.dir / "synthetic_B_1h_x.csv.gz", 50, seed=5, start_ms=1_800_000_000_000)
        b = WindowSet(load_csv(b_csv), 32, 24)
        m = MultiWindowSet([a, b])
        self.assertEqual(m.n_starts, a.n_starts + b.n_starts)
        idx = np.array([0, a.n_starts - 1, a.n_starts, m.n_starts - 1, 3])
        got = m.batch(idx)
        np.testing.assert_array_equal(got["x"][0], a.batch(np.array([0]))["x"][0])
        np.testing.assert_array_equal(got["x"][1], a.batch(np.array([a.n_starts - 1]))["x"][0])
        np.testing.assert_array_equal(got["x"][2], b.batch(np.array([0]))["x"][0])
        np.testing.assert_array_equal(got["x"][3], b.batch(np.array([b.n_starts - 1]))["x"][0])
        np.testing.assert_array_equal(got["stamp"][4], a.batch(np.array([3]))["stamp"][0])
        with self.assertRaises(IndexError):
            m.batch(np.array([m.n_starts]))
        ev = m.eval_starts(8)
        self.assertTrue(((ev >= 0) & (ev < a.n_starts)).any() and (ev >= a.n_starts).any())

    def test_equal_mix_draws_each_file_equally_often_whatever_its_size(self):
        from kronos.data import MultiWindowSet, WindowSet, load_csv
        big = WindowSet(load_csv(write_csv(self.dir / "synthetic_BIG_5m_x.csv.gz", 400, seed=6)), 32, 24)
        small = WindowSet(load_csv(write_csv(self.dir / "synthetic_SMALL_1h_x.csv.gz", 60, seed=7,
                                             start_ms=1_800_000_000_000)), 32, 24)
        m = MultiWindowSet([big, small])
        rng = np.random.default_rng(0)
        by_rows = m.sample_starts(rng, 20_000, "rows")
        equal = m.sample_starts(rng, 20_000, "equal")
        share = lambda starts: float((starts >= big.n_starts).mean())
        self.assertAlmostEqual(share(by_rows), small.n_starts / m.n_starts, delta=0.02)
        self.assertAlmostEqual(share(equal), 0.5, delta=0.02)
        # Every draw is a valid window, and the small file's windows are all reached.
        self.assertTrue(((equal >= 0) & (equal < m.n_starts)).all())
        self.assertEqual(len(np.unique(equal[equal >= big.n_starts])), small.n_starts)
        with self.assertRaises(ValueError):
            m.sample_starts(rng, 4, "by-volume")

    def test_a_few_steps_on_the_real_candles(self):
        p = real_data_path()
        if p is None:
            self.skipTest(SKIP_REAL)
        out = self.dir / "real"
        args = build_parser().parse_args([
            "train", "--csv", str(p), "--out", str(out), "--lookback", "24", "--horizon", "8",
            "--holdout-months", "3", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4",
            "--val-windows", "8"])
        result, _ = _run(args)
        self.assertTrue((out / "predictor.pt").exists())
        cfg = json.loads((out / "config.json").read_text())
        self.assertEqual(cfg["data"]["instrument"], "BTCUSDT")
        self.assertGreater(cfg["data"]["validation"]["first_ts"], cfg["data"]["train"]["last_ts"])


if __name__ == "__main__":
    unittest.main()
