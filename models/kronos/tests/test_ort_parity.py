"""ONNX Runtime (via onnxruntime-node) vs PyTorch. Skips when node or the package is missing."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from kronos.parity import write_fixtures

HERE = Path(__file__).resolve().parent
CHECK = HERE.parent / "parity" / "check.mjs"
SHIPPED = HERE.parent / "shipped"


def run_check(fixture_dir: Path):
    node = shutil.which("node")
    if node is None:
        return None, "node is not on PATH"
    p = subprocess.run([node, str(CHECK), str(fixture_dir)], capture_output=True, text=True, timeout=300)
    if p.returncode == 77:
        return None, p.stdout.strip()
    return p, None


@unittest.skipIf(os.environ.get("KOKEX_SKIP_ORT_TEST") == "1", "KOKEX_SKIP_ORT_TEST=1 (test.sh runs parity itself)")
class OrtParityTest(unittest.TestCase):
    def _check(self, **kw):
        with tempfile.TemporaryDirectory() as d:
            write_fixtures(Path(d), **kw)
            p, skip = run_check(Path(d))
            if skip:
                self.skipTest(f"ONNX Runtime parity skipped: {skip}")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            report = json.loads(p.stdout.strip().splitlines()[-1])
            self.assertTrue(report["ok"])
            for loop in report["loops"].values():
                self.assertEqual(loop["s1_mismatches"] + loop["s2_mismatches"], 0)
            return report

    def test_random_tiny_model(self):
        self._check()

    def test_shipped_model(self):
        if not (SHIPPED / "card.json").exists():
            self.skipTest("no shipped model in models/kronos/shipped")
        from kronos.export import load_run
        tok, model, _ = load_run(SHIPPED)
        self._check(tokenizer=tok, model=model, onnx_dir=SHIPPED)


if __name__ == "__main__":
    unittest.main()
