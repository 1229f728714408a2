"""The committed model: card consistent with its files, weights load, sizes small."""

import json
import unittest
from pathlib import Path

import numpy as np
import torch

from kronos.export import GRAPH_FILES, content_hash, load_run
from kronos.inference import Sampling, generate

SHIPPED = Path(__file__).resolve().parent.parent / "shipped"


@unittest.skipUnless((SHIPPED / "card.json").exists(), "no shipped model in models/kronos/shipped")
class ShippedModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.card = json.loads((SHIPPED / "card.json").read_text())

    def test_version_is_the_hash_of_the_graphs(self):
        self.assertEqual(self.card["version"], content_hash(SHIPPED, GRAPH_FILES))

    def test_card_has_config_data_window_and_metrics(self):
        c = self.card
        # One source, or several (each split on its own): training always ends before validation,
        # and both before the held-out test period when there is one.
        sources = c["data"].get("sources") or [c["data"]]
        self.assertTrue(all(s["source"].endswith(".csv.gz") for s in sources))
        for s in sources:
            self.assertLess(s["train"]["last_ts"], s["validation"]["first_ts"], s["source"])
            if c["data"].get("test_from_ts") is not None:
                self.assertLess(s["validation"]["last_ts"], c["data"]["test_from_ts"], s["source"])
        for stage in ("tokenizer", "predictor"):
            self.assertIn("best_val_loss", c["metrics"][stage])
        self.assertTrue(c["training"]["command"].startswith("python3 -m kronos train"))

    def test_held_out_evaluation_speaks_for_these_graphs(self):
        ev = self.card.get("evaluation")
        if ev is None:
            self.skipTest("the shipped card has no held-out evaluation (scripts/eval-model.ts --card)")
        self.assertEqual(ev["format"], "kokex-kronos-eval/1")
        self.assertTrue(ev["command"].startswith("node --import tsx --conditions=kokex-source scripts/eval-model.ts"))
        test_from = ev["testFrom"]
        if self.card["data"].get("test_from"):
            self.assertEqual(self.card["data"]["test_from"], test_from,
                             "the evaluation's test period must be the one training held out")
        self.assertTrue(any("ETHUSDT" in r["data"] for r in ev["results"]), "ETH (never trained on) is evaluated")
        for r in ev["results"]:
            self.assertGreaterEqual(r["test"]["from"], test_from)
            self.assertLess(r["calibration"]["to"], test_from, "calibration must precede the test period")
            self.assertGreater(r["test"]["origins"], 0)
            self.assertEqual(r["paths"], ev["paths"])
            for key in ("ratioRandomWalk", "ratioPersistence"):
                self.assertGreater(r["crps"][key], 0)
            for key in ("calibrated80", "calibrated90", "raw80", "raw90"):
                self.assertTrue(0 <= r["coverage"][key] <= 1)

    def test_total_size_is_small(self):
        total = sum(p.stat().st_size for p in SHIPPED.iterdir() if p.is_file())
        self.assertLess(total, 20 * 1024 * 1024)

    def test_weights_load_and_forecast(self):
        tok, model, cfg = load_run(SHIPPED)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1, 48, 6, generator=g).clamp(-3, 3)
        st = torch.zeros(1, 60, 5, dtype=torch.long)
        out = generate(tok, model, x, st[:, :48], st[:, 48:], 12, cfg["max_context"], Sampling(greedy=True))
        self.assertEqual(out.decoded.shape, (1, 12, 6))
        self.assertTrue(np.isfinite(out.decoded).all())


if __name__ == "__main__":
    unittest.main()
