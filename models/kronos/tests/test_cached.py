"""The step functions of the in-place KV cache equal the full recompute (PyTorch, eval mode)."""

import unittest

import torch

from kronos import cached
from kronos.modules import STAMP_SIZES

from .helpers import tiny_models


def _tokens(g, cfg, b, n):
    s1 = torch.randint(0, 2 ** cfg.s1_bits, (b, n), generator=g)
    s2 = torch.randint(0, 2 ** cfg.s2_bits, (b, n), generator=g)
    stamp = torch.stack([torch.randint(0, m, (b, n), generator=g) for m in STAMP_SIZES], dim=-1)
    return s1, s2, stamp


class CachedStepTest(unittest.TestCase):
    def setUp(self):
        self.tok, self.model = tiny_models(seed=7)
        self.g = torch.Generator().manual_seed(1)

    def _close(self, a, b, tol=1e-5):
        self.assertEqual(a.shape, b.shape)
        self.assertLess((a - b).abs().max().item(), tol)

    def test_trunk_and_s2_steps_equal_the_full_window(self):
        m, cfg = self.model, self.model.config
        nl = cfg.n_layers
        for groups, per_group, t, generated, capacity in ((1, 3, 9, 0, 4), (2, 2, 5, 3, 6), (3, 1, 1, 4, 4)):
            b = groups * per_group
            hist1, hist2, hist_st = _tokens(self.g, cfg, groups, t)
            gen1, gen2, gen_st = _tokens(self.g, cfg, b, generated + 1)
            rows = torch.arange(b) // per_group
            full1 = torch.cat([hist1[rows], gen1], 1)
            full2 = torch.cat([hist2[rows], gen2], 1)
            full_st = torch.cat([hist_st[rows], gen_st], 1)
            with torch.no_grad():
                want_ctx, _, _ = m.trunk(full1, full2, full_st)
                # Prefill the history once per series, then feed the generated tokens one at a time.
                ctx_h, hk, hv = m.trunk(hist1, hist2, hist_st)
                ck_h, cv_h = cached.cross_kv(m, ctx_h)
                hd = cfg.d_model // cfg.n_heads
                gk = [torch.zeros(b, cfg.n_heads, capacity, hd) for _ in range(nl)]
                gv = [torch.zeros(b, cfg.n_heads, capacity, hd) for _ in range(nl)]
                g2k = torch.zeros(b, 4, capacity + 1, cfg.d_model // 4)
                g2v = torch.zeros_like(g2k)
                for j in range(generated + 1):
                    out = cached.trunk_step(m, gen1[:, j:j + 1], gen2[:, j:j + 1], gen_st[:, j:j + 1],
                                            torch.tensor([j]), list(hk), list(hv), gk, gv)
                    logits1, ctx_last, nk, nv, ck, cv = out
                    self._close(ctx_last, want_ctx[:, t + j])
                    self._close(logits1, m.s1_logits(want_ctx[:, t + j]))
                    for i in range(nl):
                        if j < capacity:
                            gk[i][:, :, j] = nk[i][:, :, 0]
                            gv[i][:, :, j] = nv[i][:, :, 0]
                    # Garbage in unwritten slots must not leak in (they are masked).
                    for i in range(nl):
                        gk[i][:, :, j + 1:] = 1e3
                    g2k[:, :, j], g2v[:, :, j] = ck[:, :, 0], cv[:, :, 0]
                    chosen = torch.randint(0, 2 ** cfg.s1_bits, (b,), generator=self.g)
                    got2 = cached.s2_step(m, ctx_last, chosen, torch.tensor([j + 1]), ck_h, cv_h, g2k, g2v)
                    want2 = m.s2_logits(want_ctx[:, :t + j + 1], chosen[:, None])[:, -1]
                    self._close(got2, want2)

    def test_decode_tail_equals_the_full_decode(self):
        tok = self.tok
        for groups, per_group, t, n in ((1, 4, 10, 6), (2, 3, 1, 5)):
            b = groups * per_group
            rows = torch.arange(b) // per_group
            h1 = torch.randint(0, 2 ** tok.s1_bits, (groups, t), generator=self.g)
            h2 = torch.randint(0, 2 ** tok.s2_bits, (groups, t), generator=self.g)
            t1 = torch.randint(0, 2 ** tok.s1_bits, (b, n), generator=self.g)
            t2 = torch.randint(0, 2 ** tok.s2_bits, (b, n), generator=self.g)
            with torch.no_grad():
                want = tok.decode(torch.cat([h1[rows], t1], 1), torch.cat([h2[rows], t2], 1))[:, t:]
                x_h, pk, pv = cached.decode_with_keys(tok, h1, h2)
                self._close(x_h, tok.decode(h1, h2))
                got = cached.decode_tail(tok, t1, t2, list(pk), list(pv))
            self._close(got, want)


if __name__ == "__main__":
    unittest.main()
