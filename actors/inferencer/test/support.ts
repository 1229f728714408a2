import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bus, barClose, type Candle, CandleContract, candleMessageId, type Plan, parsePlan, subject } from '@kokex/core';

export const INFERENCER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_PLAN = resolve(INFERENCER_DIR, '../../plans/demo.yaml');
export const HOUR = 3_600_000;

/** The demo plan, moved to another series and shrunk so a test forecasts in milliseconds. */
export async function testPlan(
  name: string,
  inst: string,
  tf: string,
  forecast: Record<string, unknown> = {},
  risk: Record<string, unknown> = {},
): Promise<Plan> {
  const plan = parsePlan(await readFile(DEMO_PLAN, 'utf8'), DEMO_PLAN);
  return {
    ...plan,
    metadata: { ...plan.metadata, name },
    spec: {
      ...plan.spec,
      instrument: inst,
      timeframe: tf,
      risk: { ...plan.spec.risk, ...risk },
      forecast: {
        ...plan.spec.forecast,
        lookback: 48,
        horizon: 4,
        paths: 8,
        seed: 7,
        skillGate: { ...plan.spec.forecast.skillGate, window: 50, minScored: 3 },
        calibration: { ...plan.spec.forecast.calibration, minSamples: 2 },
        ...forecast,
      },
    },
  } as Plan;
}

/** Hourly closed candles: a deterministic wobble with a drift, as the feed would store them. */
export function hourlyCandles(inst: string, start: number, count: number, from = 0): Candle[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const open = 30_000 * (1 + 0.02 * Math.sin(i / 5) + 0.0005 * i);
    const close = 30_000 * (1 + 0.02 * Math.sin((i + 1) / 5) + 0.0005 * (i + 1));
    return {
      venue: 'okx',
      inst,
      tf: '1H',
      ts: start + i * HOUR,
      open,
      high: Math.max(open, close) * 1.002,
      low: Math.min(open, close) * 0.998,
      close,
      volume: 100 + 20 * Math.cos(i / 3),
      confirmed: true,
    };
  });
}

export async function publishCandles(bus: Bus, candles: readonly Candle[]): Promise<Array<{ id: string; correlationId: string }>> {
  const out = [];
  for (const c of candles) {
    const r = await bus.publish(CandleContract, subject('candle', c), c, {
      id: candleMessageId(c.venue, c.inst, c.tf, c.ts),
      source: 'test-feed',
      // As the validator stamps a candle: it speaks for its close.
      eventTime: barClose(c.ts, c.tf),
    });
    out.push({ id: r.envelope.id, correlationId: r.envelope.correlationId });
  }
  return out;
}
