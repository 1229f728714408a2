"""The upstream `.eval()` pitfall: models loaded from safetensors stay in train mode, so
dropout is on and the s2 cross-attention (is_causal=self.training with one query) looks only at
position 0. Our inference and export must behave as eval mode whatever the caller left set."""

import math
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnx
import torch

from kronos.export import export_graphs
from kronos.inference import Sampling, generate

from .helpers import tiny_models


class EvalModeTest(unittest.TestCase):
    def test_single_query_cross_attention_sees_every_position_in_any_mode(self):
        _, model = tiny_models()  # dep_layer has no dropout, so train and eval must agree
        ca = model.dep_layer.cross_attn
        g = torch.Generator().manual_seed(0)
        ctx = torch.randn(2, 9, model.d_model, generator=g)
        q = torch.randn(2, 1, model.d_model, generator=g)
        ca.eval()
        out_eval = ca(q, ctx, ctx)
        ca.train()
        out_train = ca(q, ctx, ctx)
        ca.eval()
        torch.testing.assert_close(out_train, out_eval)

        # Reference: plain attention over all 9 keys (what upstream does in eval mode) ...
        def attend(keys):
            h, hd = ca.n_heads, ca.head_dim
            qq = ca.q_proj(q).view(2, 1, h, hd).transpose(1, 2)
            kk = ca.k_proj(keys).view(2, -1, h, hd).transpose(1, 2)
            vv = ca.v_proj(keys).view(2, -1, h, hd).transpose(1, 2)
            w = torch.softmax(qq @ kk.transpose(-1, -2) / math.sqrt(hd), -1)
            return ca.out_proj((w @ vv).transpose(1, 2).reshape(2, 1, -1))

        torch.testing.assert_close(out_eval, attend(ctx), atol=1e-6, rtol=1e-5)
        # ... and not the train-mode bug (attending to key 0 only).
        self.assertFalse(torch.allclose(out_eval, attend(ctx[:, :1]), atol=1e-4))

    def test_generate_forces_eval_and_restores_the_callers_mode(self):
        tok, model = tiny_models(ffn_dropout_p=0.5, resid_dropout_p=0.5, attn_dropout_p=0.5, token_dropout_p=0.5)
        g = torch.Generator().manual_seed(1)
        x = torch.randn(1, 12, 6, generator=g)
        st = torch.stack([torch.randint(0, m, (1, 18), generator=g) for m in (60, 24, 7, 32, 13)], dim=-1)
        ref = generate(tok, model, x, st[:, :12], st[:, 12:], 6, 32, Sampling(greedy=True))
        tok.train()
        model.train()
        for _ in range(3):
            out = generate(tok, model, x, st[:, :12], st[:, 12:], 6, 32, Sampling(greedy=True))
            np.testing.assert_array_equal(out.s1, ref.s1)
            np.testing.assert_array_equal(out.s2, ref.s2)
        self.assertTrue(model.training and tok.training)
        # Sanity: in train mode the raw model really is stochastic (dropout on).
        s1 = torch.from_numpy(ref.s1[:, :12])
        s2 = torch.from_numpy(ref.s2[:, :12])
        a, _, _ = model.trunk(s1, s2, st[:, :12])
        b, _, _ = model.trunk(s1, s2, st[:, :12])
        self.assertFalse(torch.allclose(a, b))

    def test_export_from_train_mode_gives_an_eval_graph(self):
        tok, model = tiny_models(ffn_dropout_p=0.3, resid_dropout_p=0.3, attn_dropout_p=0.3, token_dropout_p=0.3)
        tok.train()
        model.train()
        with tempfile.TemporaryDirectory() as d:
            files = export_graphs(tok, model, Path(d))
            for f in files.values():
                ops = {n.op_type for n in onnx.load(str(Path(d) / f)).graph.node}
                self.assertNotIn("Dropout", ops, f)
                self.assertNotIn("RandomUniformLike", ops, f)
        self.assertTrue(model.training and tok.training, "export must restore the caller's mode")


if __name__ == "__main__":
    unittest.main()
