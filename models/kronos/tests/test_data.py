import datetime as dt
import tempfile
import unittest
from pathlib import Path

import numpy as np

from kronos.data import (WindowSet, describe_source, features, load_csv, lookback_stats, normalize, resolve_csv,
                         split_holdout, time_stamps)

from .helpers import SKIP_REAL, real_data_path, synthetic_candles, write_csv


class NormalizationTest(unittest.TestCase):
    def test_future_values_do_not_change_the_normalized_lookback(self):
        """The leak fix: statistics come from the lookback only."""
        ts, ohlcv = synthetic_candles(160, seed=1)
        window = features(ohlcv)
        lookback = 128
        x_a, mean_a, std_a = normalize(window, lookback)
        changed = window.copy()
        changed[lookback:] *= np.linspace(3.0, 50.0, 32)[:, None]  # a wild future
        changed[lookback:, 4:] += 1e6
        x_b, mean_b, std_b = normalize(changed, lookback)
        np.testing.assert_array_equal(x_a[:lookback], x_b[:lookback])
        np.testing.assert_array_equal(mean_a, mean_b)
        np.testing.assert_array_equal(std_a, std_b)
        self.assertFalse(np.array_equal(x_a[lookback:], x_b[lookback:]))

    def test_window_set_batches_are_lookback_normalized(self):
        ts, ohlcv = synthetic_candles(400, seed=2)
        from kronos.data import Candles
        c = Candles(ts, ohlcv, "x")
        ws = WindowSet(c, window=40, lookback=30)
        b1 = ws.batch(np.array([5, 100]))
        # Poison everything after the lookback of each window and rebuild: lookback rows unchanged.
        ws.feats = ws.feats.copy()
        for s in (5, 100):
            ws.feats[s + 30:s + 40] *= 10
        b2 = ws.batch(np.array([5, 100]))
        np.testing.assert_array_equal(b1["x"][:, :30], b2["x"][:, :30])
        # Lookback columns have mean ~0 and std ~1 before clipping.
        mean, std = lookback_stats(features(ohlcv[5:45]), 30)
        np.testing.assert_allclose(b1["mean"][0], mean)
        np.testing.assert_allclose(b1["x"][0, :30].mean(axis=0), 0, atol=1e-5)

    def test_clip_and_denormalize(self):
        from kronos.data import denormalize
        w = features(synthetic_candles(50, seed=3)[1])
        x, mean, std = normalize(w, 50, clip=100.0)
        np.testing.assert_allclose(denormalize(x, mean, std), w, rtol=1e-5)
        x5, _, _ = normalize(w * np.r_[np.ones(49), 1000.0][:, None], 49)
        self.assertLessEqual(np.abs(x5).max(), 5.0)

    def test_amount_is_volume_times_mean_price(self):
        o = np.array([[1.0, 3.0, 1.0, 3.0, 10.0]])
        np.testing.assert_allclose(features(o)[0, 5], 20.0)


class StampTest(unittest.TestCase):
    def test_matches_datetime(self):
        rng = np.random.default_rng(0)
        ts = np.sort(rng.integers(946_684_800_000, 4_102_444_800_000, 500)) // 60_000 * 60_000
        st = time_stamps(ts)
        for t, row in zip(ts, st):
            d = dt.datetime.fromtimestamp(int(t) / 1000, tz=dt.timezone.utc)
            self.assertEqual(list(row), [d.minute, d.hour, d.weekday(), d.day, d.month])


class CsvTest(unittest.TestCase):
    def test_gz_and_plain(self):
        with tempfile.TemporaryDirectory() as d:
            a = load_csv(write_csv(Path(d) / "a.csv.gz", 30))
            b = load_csv(write_csv(Path(d) / "b.csv", 30, gz=False))
            self.assertEqual(len(a), 30)
            np.testing.assert_array_equal(a.ts, b.ts)
            self.assertEqual(a.bar_ms, 3_600_000)

    def test_clear_errors(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "bad.csv"
            p.write_text("time,o,h,l,c,v\n1,2,3,4,5,6\n")
            with self.assertRaisesRegex(ValueError, "expected ts,open,high,low,close,volume"):
                load_csv(p)
            p.write_text("ts,open,high,low,close,volume\n1700000000000,1,1,1,1,1\n1600000000000,1,1,1,1,1\n")
            with self.assertRaisesRegex(ValueError, "strictly ascending"):
                load_csv(p)
            p.write_text("ts,open,high,low,close,volume\n1700000000,1,1,1,1,1\n")
            with self.assertRaisesRegex(ValueError, "milliseconds"):
                load_csv(p)
        with self.assertRaisesRegex(FileNotFoundError, "KOKEX_DATA_DIR"):
            resolve_csv("no_such_file.csv.gz")

    def test_holdout_split(self):
        from kronos.data import Candles
        ts, ohlcv = synthetic_candles(24 * 365, seed=0)
        c = Candles(ts, ohlcv, "x")
        i = split_holdout(c, holdout_months=3)
        days = (ts[-1] - ts[i]) / 86_400_000
        self.assertTrue(90 <= days <= 92, days)
        self.assertEqual(split_holdout(c, holdout_frac=0.25), round(len(c) * 0.75))
        with self.assertRaisesRegex(ValueError, "not both"):
            split_holdout(c, 3, 0.1)

    def test_describe_source(self):
        self.assertEqual(describe_source("binance_BTCUSDT_1h_2021-06_2026-06.csv.gz"),
                         {"venue": "binance", "instrument": "BTCUSDT", "timeframe": "1h"})
        self.assertEqual(describe_source("okx_BTC-USDT-SWAP_1m_2026-01.csv.gz")["instrument"], "BTC-USDT-SWAP")


class RealDataTest(unittest.TestCase):
    def test_real_candles_load_and_split(self):
        p = real_data_path()
        if p is None:
            self.skipTest(SKIP_REAL)
        c = load_csv(p)
        self.assertEqual(len(c), 44_283)
        self.assertEqual(c.bar_ms, 3_600_000)
        i = split_holdout(c, holdout_months=3)
        self.assertGreater(i, 40_000)
        self.assertTrue(np.all(c.ohlcv[:, 1] >= c.ohlcv[:, 2]))


if __name__ == "__main__":
    unittest.main()
