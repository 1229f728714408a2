"""Official-format checkpoints built from upstream's layout (random weights) load strictly and run."""

import json
import tempfile
import unittest
from pathlib import Path

import torch

from kronos.config import resolve_predictor_config, resolve_tokenizer_config
from kronos.load_official import load_official_predictor, load_official_tokenizer, read_safetensors
from kronos.official_shapes import (RELEASED, official_predictor_shapes, official_tokenizer_shapes, parameter_count,
                                    write_random_official)
from kronos.predictor import Kronos
from kronos.tokenizer import KronosTokenizer

# Published parameter totals (README of shiyu-coder/Kronos; Tokenizer-base as logged in upstream #81).
PUBLISHED = {"mini": 4_108_032, "small": 24_741_376, "base": 102_310_592}
TOKENIZER_PUBLISHED = 3_958_042


class OfficialShapesTest(unittest.TestCase):
    def test_layouts_have_the_published_parameter_totals(self):
        for model, total in PUBLISHED.items():
            self.assertEqual(parameter_count(official_predictor_shapes(resolve_predictor_config(model))), total, model)
            tok = RELEASED[model][0]
            self.assertEqual(parameter_count(official_tokenizer_shapes(resolve_tokenizer_config(tok))),
                             TOKENIZER_PUBLISHED, tok)

    def test_our_modules_have_exactly_the_official_names_and_shapes(self):
        for model in ("mini", "small"):
            ours = {k: tuple(v.shape) for k, v in Kronos(resolve_predictor_config(model)).state_dict().items()}
            self.assertEqual(ours, dict(official_predictor_shapes(resolve_predictor_config(model))), model)
        for tok in ("tokenizer-2k", "tokenizer-base"):
            ours = {k: tuple(v.shape) for k, v in KronosTokenizer(resolve_tokenizer_config(tok)).state_dict().items()}
            self.assertEqual(ours, dict(official_tokenizer_shapes(resolve_tokenizer_config(tok))), tok)

    def test_a_random_mini_checkpoint_loads_strictly_and_runs(self):
        with tempfile.TemporaryDirectory() as d:
            tok_dir, pred_dir, context = write_random_official(Path(d), "mini", seed=3)
            self.assertEqual((tok_dir.name, pred_dir.name, context), ("Kronos-Tokenizer-2k", "Kronos-mini", 2048))
            self.assertEqual(json.loads((pred_dir / "config.json").read_text())["n_layers"], 4)
            sd = read_safetensors(pred_dir / "model.safetensors")
            self.assertEqual(len(sd), len(official_predictor_shapes(resolve_predictor_config("mini"))))
            tok, model = load_official_tokenizer(tok_dir), load_official_predictor(pred_dir)
            torch.testing.assert_close(model.state_dict()["head.proj_s1.weight"], sd["head.proj_s1.weight"])
            x = torch.randn(2, 20, 6)
            s1, s2 = tok.encode(x)
            with torch.no_grad():
                ctx, _, _ = model.trunk(s1, s2, torch.zeros(2, 20, 5, dtype=torch.long))
                logits = model.s1_logits(ctx[:, -1])
            self.assertEqual(tuple(logits.shape), (2, 1024))
            self.assertTrue(torch.isfinite(logits).all())


if __name__ == "__main__":
    unittest.main()
