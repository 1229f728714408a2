import json
import tempfile
import unittest
from pathlib import Path

import onnx
import torch

from kronos.export import GRAPH_FILES, OPSET, content_hash, export_graphs, graph_specs, write_card

from .helpers import tiny_models


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        cls.tok, cls.model = tiny_models(seed=3)
        cls.files = export_graphs(cls.tok, cls.model, cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_graphs_have_the_documented_interface(self):
        specs = graph_specs(self.tok.config, self.model.config)
        for name, spec in specs.items():
            m = onnx.load(str(self.dir / self.files[name]))
            onnx.checker.check_model(m)
            self.assertEqual(m.opset_import[0].version, OPSET)
            ins = {i.name: _dims(i) for i in m.graph.input}
            outs = {o.name: _dims(o) for o in m.graph.output}
            self.assertEqual(list(ins), [i["name"] for i in spec["inputs"]], name)
            self.assertEqual(list(outs), [o["name"] for o in spec["outputs"]], name)
            for io, dims in list(zip(spec["inputs"], ins.values())) + list(zip(spec["outputs"], outs.values())):
                for want, got in zip(io["shape"], dims):
                    if isinstance(want, int):
                        # The exporter may leave a fixed axis symbolic; a number must be right.
                        if isinstance(got, int):
                            self.assertEqual(got, want, f"{name}.{io['name']}")
                    else:
                        self.assertIsInstance(got, str, f"{name}.{io['name']} axis {want} must stay dynamic")

    def test_no_bitwise_and_or_frozen_rope(self):
        for f in self.files.values():
            ops = {n.op_type for n in onnx.load(str(self.dir / f)).graph.node}
            self.assertNotIn("BitwiseAnd", ops)
        ops = {n.op_type for n in onnx.load(str(self.dir / self.files["predictor_s1"])).graph.node}
        self.assertIn("Range", ops, "RoPE positions must be computed from the input length")

    def test_card_and_content_hash(self):
        card = write_card(self.dir, self.files, self.tok.config, self.model.config, 64, 48, 16, "test",
                          data={"source": "x.csv.gz", "rows": 10, "first_ts": 1_700_000_000_000,
                                "last_ts": 1_700_003_600_000}, metrics={"predictor": {"best_val_loss": 1.0}})
        on_disk = json.loads((self.dir / "card.json").read_text())
        self.assertEqual(on_disk["version"], card["version"])
        self.assertEqual(card["version"], content_hash(self.dir, self.files))
        for key in ("config", "data", "metrics", "created", "graphs", "preprocessing"):
            self.assertIn(key, card)
        self.assertEqual(card["data"]["first"], "2023-11-14T22:13:20Z")
        self.assertEqual(set(card["graphs"]), set(GRAPH_FILES))

    def test_export_is_deterministic(self):
        with tempfile.TemporaryDirectory() as d:
            files = export_graphs(self.tok, self.model, Path(d))
            self.assertEqual(content_hash(Path(d), files), content_hash(self.dir, self.files))
            # and a weight change changes the version
            with torch.no_grad():
                self.model.head.proj_s1.bias[0] += 1.0
            try:
                files = export_graphs(self.tok, self.model, Path(d))
                self.assertNotEqual(content_hash(Path(d), files), content_hash(self.dir, self.files))
            finally:
                with torch.no_grad():
                    self.model.head.proj_s1.bias[0] -= 1.0


if __name__ == "__main__":
    unittest.main()
