"""int8 export: trunk MatMuls become MatMulInteger on per-column int8 weights; the card says so."""

import json
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from kronos.export import GRAPH_FILES, content_hash, export_graphs, write_card
from kronos.quantize import QUANTIZED_GRAPHS, _quantize_weight, quantize_export

from .helpers import tiny_models


class QuantizeTest(unittest.TestCase):
    def test_weights_round_trip_within_half_a_step_per_column(self):
        w = np.random.default_rng(0).normal(0, 1, (64, 48)).astype(np.float32)
        w[:, 3] = 0
        q, scale = _quantize_weight(w)
        self.assertEqual(q.dtype, np.int8)
        self.assertTrue((np.abs(q.astype(np.float32) * scale - w) <= scale / 2 + 1e-7).all())

    def test_quantized_export(self):
        tok, model = tiny_models(seed=2)
        with tempfile.TemporaryDirectory() as d:
            src, out = Path(d) / "fp32", Path(d) / "int8"
            files = export_graphs(tok, model, src)
            write_card(src, files, tok.config, model.config, 64, None, None, "t")
            card = quantize_export(src, out, min_size=256)  # the test model's weights are small
            self.assertEqual(card["quantization"]["kind"], "int8-dynamic")
            self.assertEqual(card["version"], content_hash(out, GRAPH_FILES))
            self.assertEqual(json.loads((out / "card.json").read_text())["name"], "t-int8")
            for name, file in GRAPH_FILES.items():
                m = onnx.load(str(out / file))
                ops = [n.op_type for n in m.graph.node]
                inits = {i.name for i in m.graph.initializer}
                float_weight_matmuls = [n for n in m.graph.node if n.op_type in ("MatMul", "Gemm") and n.input[1] in inits]
                if name in QUANTIZED_GRAPHS:
                    self.assertGreater(card["quantization"]["graphs"][name], 0)
                    self.assertIn("MatMulInteger", ops)
                    self.assertEqual(float_weight_matmuls, [], name)
                    int8 = [numpy_helper.to_array(i) for i in m.graph.initializer if i.name.endswith("_q_w")]
                    self.assertTrue(all(a.dtype == np.int8 for a in int8))
                else:
                    self.assertNotIn("MatMulInteger", ops)
                    self.assertEqual((out / file).read_bytes(), (src / file).read_bytes())


if __name__ == "__main__":
    unittest.main()
