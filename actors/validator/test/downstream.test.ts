import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Candle,
  CandleContract,
  candleMessageId,
  ForecastContract,
  type Plan,
  parsePlan,
  publishRawCandles,
  RawCandleContract,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The demo's data path with a real reader behind the validator: raw bars → validator →
 * MD_CANDLES → inferencer (loaded from its folder, as a host loads it, with the shipped model).
 * The inferencer forecasts the bars the validator accepted, names them as its cause, and never
 * sees the bad copy that came first.
 */
const REPO = resolve(import.meta.dirname, '../../..');
const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 1);
const INST = 'BTC-USDT-SWAP';
const key = { venue: 'okx', inst: INST, tf: '1H' };

const hourly = (i: number): Candle => {
  const open = 30_000 * (1 + 0.02 * Math.sin(i / 5) + 0.0005 * i);
  const close = 30_000 * (1 + 0.02 * Math.sin((i + 1) / 5) + 0.0005 * (i + 1));
  return {
    ...key,
    ts: START + i * HOUR,
    open,
    high: Math.max(open, close) * 1.002,
    low: Math.min(open, close) * 0.998,
    close,
    volume: 100,
    confirmed: true,
  };
};

/** The demo plan on 1H bars, shrunk so a forecast takes milliseconds (as the inferencer's own tests do). */
async function plan(): Promise<Plan> {
  const file = resolve(REPO, 'plans/demo.yaml');
  const demo = parsePlan(await readFile(file, 'utf8'), file);
  return {
    ...demo,
    metadata: { ...demo.metadata, name: 'downstream' },
    spec: {
      ...demo.spec,
      instrument: INST,
      timeframe: '1H',
      forecast: { ...demo.spec.forecast, lookback: 48, horizon: 4, paths: 8, seed: 7 },
    },
  } as Plan;
}

let nats: TestNats;
let host: ActorHost;

beforeAll(async () => {
  nats = await startTestNats();
  await applyPlan(nats.bus, await plan());
  // History on the raw subject only: the inferencer can have it only through the validator.
  await publishRawCandles(
    nats.bus,
    Array.from({ length: 60 }, (_, i) => hourly(i)),
    { source: 'test-feed' },
  );
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    config: { validator: { contextTimeframes: [], firstScanMs: 3_600_000 }, inferencer: { batchWindowMs: 50 } },
  });
  await host.loadPlugin(resolve(REPO, 'actors/validator'));
  await host.loadPlugin(resolve(REPO, 'actors/inferencer'));
  await host.start();
}, 60_000);
afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

async function forecasts() {
  const out = [];
  const info = await nats.bus.jsm.streams.info(Streams.forecasts);
  const stream = await nats.bus.js.streams.get(Streams.forecasts);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await stream.getMessage({ seq }).catch(() => null);
    if (m?.subject === subject('forecast', { inst: INST, tf: '1H' })) out.push(ForecastContract.decode(m.data));
  }
  return out;
}

describe('raw bars → validator → inferencer', () => {
  it('stamps each raw bar with its close as its market time', async () => {
    const raw = await nats.bus.js.streams.get(Streams.raw).then((st) => st.getMessage({ last_by_subj: subject('rawCandle', key) }));
    const env = RawCandleContract.decode(raw?.data ?? new Uint8Array());
    const bar = env.data as Candle;
    expect(env.eventTime).toBe(bar.ts + HOUR);
    expect(bar.ts).toBe(START + 59 * HOUR);
  });

  it('forecasts the validated bar, caused by it, and never the bad copy published before it', async () => {
    const bad = { ...hourly(60), close: 12_345, high: 1, low: 2 };
    await nats.bus.js.publish(
      subject('rawCandle', key),
      JSON.stringify({ type: 'md.raw', v: 1, id: 'bad-60', correlationId: 'bad-60', time: Date.now(), source: 'test', data: bad }),
      { msgID: 'bad-60' },
    );
    const good = await nats.bus.publish(RawCandleContract, subject('rawCandle', key), hourly(60), {
      id: 'good-60',
      correlationId: 'feed-60',
    });
    await eventually(async () => (await forecasts()).some((f) => f.data.asOf === START + 60 * HOUR), 30_000, 200);
    const all = await forecasts();
    const f60 = all.find((f) => f.data.asOf === START + 60 * HOUR);
    expect(f60?.data.lastClose).toBe(hourly(60).close);
    // The forecast names the validated candle as its cause and keeps the raw bar's correlation.
    expect(f60).toMatchObject({
      causationId: candleMessageId('okx', INST, '1H', START + 60 * HOUR),
      correlationId: good.envelope.correlationId,
    });
    expect(all.every((f) => f.data.lastClose !== 12_345)).toBe(true);
    // Market time: the forecast speaks for its candle's close (the validator stamps every candle
    // with its close, whatever the raw envelope said), not for the wall clock it ran at.
    expect(f60?.eventTime).toBe(START + 61 * HOUR);
    const stored = await nats.bus.last(subject('candle', key), Streams.candles);
    expect(stored && CandleContract.decode(stored.data).eventTime).toBe(START + 61 * HOUR);
  }, 60_000);
});
