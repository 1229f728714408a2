import json
import tempfile
import unittest
from pathlib import Path

import torch

from kronos.__main__ import main as cli
from kronos.load_official import (load_official_predictor, load_official_tokenizer, read_safetensors,
                                  write_safetensors)

from .helpers import TEST_PREDICTOR, TEST_TOKENIZER, tiny_models

# Key names as they appear in the official checkpoints (model/module.py, model/kronos.py).
OFFICIAL_TOKENIZER_KEYS = [
    "embed.weight", "embed.bias", "head.weight", "head.bias",
    "encoder.0.norm1.weight", "encoder.0.self_attn.q_proj.weight", "encoder.0.self_attn.q_proj.bias",
    "encoder.0.self_attn.out_proj.weight", "encoder.0.self_attn.rotary.inv_freq", "encoder.0.norm2.weight",
    "encoder.0.ffn.w1.weight", "encoder.0.ffn.w2.weight", "encoder.0.ffn.w3.weight",
    "decoder.1.ffn.w3.weight", "quant_embed.weight", "quant_embed.bias", "post_quant_embed_pre.weight",
    "post_quant_embed.weight", "post_quant_embed.bias", "tokenizer.bsq.basis", "tokenizer.bsq.group_basis",
]
OFFICIAL_PREDICTOR_KEYS = [
    "embedding.emb_s1.weight", "embedding.emb_s2.weight", "embedding.fusion_proj.weight",
    "embedding.fusion_proj.bias", "time_emb.minute_embed.weight", "time_emb.hour_embed.weight",
    "time_emb.weekday_embed.weight", "time_emb.day_embed.weight", "time_emb.month_embed.weight",
    "transformer.0.norm1.weight", "transformer.1.self_attn.v_proj.bias", "transformer.1.self_attn.rotary.inv_freq",
    "norm.weight", "dep_layer.cross_attn.q_proj.weight", "dep_layer.cross_attn.rotary.inv_freq",
    "dep_layer.norm.weight", "head.proj_s1.weight", "head.proj_s1.bias", "head.proj_s2.weight", "head.proj_s2.bias",
]


def _write_official(d: Path, module, cfg: dict, drop_buffers=False, fmt="safetensors"):
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(cfg))
    sd = dict(module.state_dict())
    if drop_buffers:
        sd = {k: v for k, v in sd.items() if not k.endswith(("inv_freq", "basis"))}
    if fmt == "safetensors":
        write_safetensors(d / "model.safetensors", sd, {"format": "pt"})
    else:
        torch.save(sd, d / "pytorch_model.bin")


class OfficialLoadTest(unittest.TestCase):
    def test_state_dict_names_match_the_official_checkpoints(self):
        tok, model = tiny_models()
        tk, pk = set(tok.state_dict()), set(model.state_dict())
        for k in OFFICIAL_TOKENIZER_KEYS:
            self.assertIn(k, tk)
        for k in OFFICIAL_PREDICTOR_KEYS:
            self.assertIn(k, pk)

    def test_load_from_safetensors_and_torch_bin(self):
        tok, model = tiny_models(seed=5)
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            _write_official(d / "tok", tok, TEST_TOKENIZER.to_dict() | {"extra_hub_key": 1})
            _write_official(d / "pred", model, TEST_PREDICTOR.to_dict(), drop_buffers=True, fmt="bin")
            tok2 = load_official_tokenizer(d / "tok")
            model2 = load_official_predictor(d / "pred")
            self.assertFalse(tok2.training or model2.training, "loaded models must come back in eval mode")
            x = torch.randn(2, 10, 6)
            torch.testing.assert_close(tok2.encode(x)[0], tok.encode(x)[0])
            s = torch.randint(0, 64, (2, 10))
            st = torch.zeros(2, 10, 5, dtype=torch.long)
            torch.testing.assert_close(model2.trunk(s, s, st)[0], model.trunk(s, s, st)[0])

    def test_bf16_safetensors(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "w.safetensors"
            t = torch.tensor([1.5, -2.25, 3.0])
            write_safetensors(p, {"a": t})
            raw = bytearray(p.read_bytes())
            # Rewrite as BF16 by hand: header dtype and the top halves of the float32 values.
            n = int.from_bytes(raw[:8], "little")
            header = json.loads(raw[8:8 + n])
            header["a"] = {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}
            data = b"".join(v.to_bytes(4, "little", signed=True)[2:] for v in t.view(torch.int32).tolist())
            hb = json.dumps(header).encode()
            p.write_bytes(len(hb).to_bytes(8, "little") + hb + data)
            torch.testing.assert_close(read_safetensors(p)["a"], t)

    def test_mismatched_config_is_a_clear_error(self):
        tok, model = tiny_models()
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            wrong = TEST_PREDICTOR.to_dict() | {"n_layers": 3}
            _write_official(d / "pred", model, wrong)
            with self.assertRaisesRegex(ValueError, "missing: .*transformer.2"):
                load_official_predictor(d / "pred")
            (d / "empty").mkdir()
            (d / "empty" / "config.json").write_text(json.dumps(TEST_TOKENIZER.to_dict()))
            with self.assertRaisesRegex(FileNotFoundError, "model.safetensors"):
                load_official_tokenizer(d / "empty")

    def test_import_official_command_exports_like_our_own(self):
        tok, model = tiny_models(seed=7)
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            _write_official(d / "Kronos-Tokenizer-test", tok, TEST_TOKENIZER.to_dict())
            _write_official(d / "Kronos-test", model, TEST_PREDICTOR.to_dict())
            rc = cli(["import-official", "--tokenizer", str(d / "Kronos-Tokenizer-test"), "--predictor",
                      str(d / "Kronos-test"), "--out", str(d / "run"), "--max-context", "64"])
            self.assertEqual(rc, 0)
            card = json.loads((d / "run" / "onnx" / "card.json").read_text())
            self.assertEqual(card["config"]["max_context"], 64)
            self.assertEqual(len(card["version"]), 64)
            self.assertIn("official", card)


if __name__ == "__main__":
    unittest.main()
