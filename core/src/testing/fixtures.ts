import type { Forecast } from '../contracts/forecast.js';
import type { ApprovedOrder, OrderVerdict } from '../contracts/orders.js';

/**
 * A tradeable 1m forecast for okx BTC-USDT-SWAP (three steps, skill that beats the baselines) for
 * tests and benchmarks; `fields` override.
 */
export function sampleForecast(fields: Partial<Forecast> & { reason?: string } = {}): Forecast {
  const { reason, ...rest } = fields;
  const tradeable = rest.tradeable ?? true;
  const horizon = 3;
  const closes = [100, 101, 102];
  return {
    venue: 'okx',
    inst: 'BTC-USDT-SWAP',
    tf: '1m',
    asOf: 1_700_000_000_000,
    lastClose: 100,
    horizon,
    steps: [1_700_000_060_000, 1_700_000_120_000, 1_700_000_180_000],
    mean: { close: closes, high: closes.map((c) => c + 1), low: closes.map((c) => c - 1) },
    median: { close: closes },
    quantiles: {
      levels: [0.1, 0.9],
      close: [closes.map((c) => c - 2), closes.map((c) => c + 2)],
      high: [closes, closes],
      low: [closes, closes],
    },
    pUp: 0.7,
    pUpRaw: 0.68,
    pVolExpand: 0.4,
    expectedMaxAdverse: { long: 0.01, short: 0.012 },
    model: { name: 'kronos', version: 'v1' },
    settings: { paths: 8, lookback: 64, temperature: 1, topK: 0, topP: 0.9, seed: 1, executionProvider: 'cpu' },
    computeMs: 12,
    skill: {
      scored: 150,
      window: 500,
      model: { crps: 0.8 },
      baselines: { persistence: { crps: 1 } },
      tradeable,
      reason: reason ?? (tradeable ? 'beats persistence and random-walk on crps' : 'only 10 of 100 forecasts scored'),
    },
    tradeable,
    ...rest,
  };
}

/** The risk guard's approving verdict for `order`, as it stores it beside the approval; `fields` override. */
export function approvingVerdict(order: ApprovedOrder, fields: Partial<OrderVerdict> = {}): OrderVerdict {
  return {
    plan: order.plan,
    inst: order.inst,
    clientOrderId: order.clientOrderId,
    side: order.side,
    decision: 'approve',
    reason: 'OK',
    rule: 'all',
    message: 'approved',
    size: order.size,
    ...(order.price !== undefined ? { price: order.price } : {}),
    ...fields,
  };
}
