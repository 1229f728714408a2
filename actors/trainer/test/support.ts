import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type Bus,
  type Candle,
  CandleContract,
  candleMessageId,
  type ModelProgress,
  ModelProgressContract,
  type Plan,
  parsePlan,
  subject,
} from '@kokex/core';

/** Shared by the trainer's test files: synthetic candles, test plans, and whether real training can run here. */

export const TRAINER_DIR = fileURLToPath(new URL('..', import.meta.url));
export const PYTHON = '/usr/bin/python3';
export const HOUR = 3_600_000;
/** Candles of the tests start here; the simulated clocks sit after them. */
export const CANDLES_START = Date.UTC(2026, 0, 1);

/** True when /usr/bin/python3 can import what training needs; the Python-backed tests skip otherwise. */
export const CAN_TRAIN = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' }).status === 0;
export const SKIP_TRAINING_REASON = `skipped: ${PYTHON} cannot import torch, onnx and numpy (apt-get install -y python3-torch python3-onnx python3-numpy)`;

/** The smallest training that still runs both stages and exports (see models/kronos/tests/test_train.py). */
export const TINY_TRAINING = { stepsPerEpoch: 2, batchSize: 4, valWindows: 4, lookback: 24, horizon: 8, epochs: 1, threads: 1 };

/** A deterministic random walk of closed bars. */
export function syntheticCandles(
  inst: string,
  count: number,
  options: { venue?: string; tf?: string; start?: number; seed?: number } = {},
): Candle[] {
  const venue = options.venue ?? 'okx';
  const tf = options.tf ?? '1H';
  // Seeded by the instrument by default: two series with the same prices would train to the very
  // same model (training is deterministic), and share its content-hash version.
  let state = options.seed ?? [...inst].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 2_147_483_648, 7);
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const out: Candle[] = [];
  let close = 30_000;
  for (let i = 0; i < count; i++) {
    const open = close;
    close = Math.round(open * (1 + (random() - 0.5) * 0.02) * 100) / 100;
    const high = Math.round(Math.max(open, close) * (1 + random() * 0.003) * 100) / 100;
    const low = Math.round(Math.min(open, close) * (1 - random() * 0.003) * 100) / 100;
    const ts = (options.start ?? CANDLES_START) + i * HOUR;
    out.push({ venue, inst, tf, ts, open, high, low, close, volume: Math.round(random() * 10_000) / 100, confirmed: true });
  }
  return out;
}

export async function publishCandles(bus: Bus, candles: readonly Candle[], idSuffix = ''): Promise<void> {
  for (let i = 0; i < candles.length; i += 100) {
    await Promise.all(
      candles.slice(i, i + 100).map((c) =>
        bus.publish(CandleContract, subject('candle', c), c, {
          id: `${candleMessageId(c.venue, c.inst, c.tf, c.ts)}${idSuffix}`,
          source: 'test',
        }),
      ),
    );
  }
}

/** A plan training `inst` on 1H; `schedule` defaults to one that never fires in a test. */
export function testPlan(name: string, inst: string, schedule = '0 0 1 JAN *'): Plan {
  const text = `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { mode: paper }
  instrument: ${inst}
  timeframe: 1H
  data: { window: 30d }
  model:
    maxAge: 7d
    retrain: { schedule: "${schedule}", validationFraction: 0.3, epochs: { tokenizer: 1, predictor: 1 } }
  risk: { maxNotional: 500, maxPositionNotional: 2000, maxDailyLoss: 100 }
`;
  return parsePlan(text, `${name}.yaml`);
}

/** Collects every `model.progress` message passing on core NATS. */
export function collectProgress(bus: Bus): { messages: ModelProgress[]; stop(): void } {
  const messages: ModelProgress[] = [];
  const sub = bus.nc.subscribe('kokex.model.progress.>', {
    callback: (_err, msg) => {
      messages.push(ModelProgressContract.decode(msg.data).data);
    },
  });
  return { messages, stop: () => sub.unsubscribe() };
}
