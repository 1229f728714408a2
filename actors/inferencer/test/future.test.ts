import { ActorHost, applyPlan, ForecastContract, Streams, subject } from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, hourlyCandles, INFERENCER_DIR, publishCandles, testPlan } from './support.js';

/**
 * Issue 12 finding 1, the stored forged candle, as the inferencer meets it: when the server has no
 * per-actor users anyone can store a bar on `kokex.md.candle.…`. A bar dated 2036 used to move the
 * series' market clock (a replay's: the newest close it saw) to 2036 for good: the model, registered
 * at the replay's time with a 7-day maxAge, had expired "in 2036", and no later candle got a
 * forecast until the inferencer restarted. Times in the future are refused: a candle closing (or
 * speaking for a time) after the wall clock is skipped (counted, a warning), the clock stays where it was.
 */
const START = Date.UTC(2026, 0, 1);
const INST = 'FUT-USDT-SWAP';
const FORGED = Date.UTC(2036, 0, 1);
let nats: TestNats;
let host: ActorHost;

async function forecasts() {
  const out: Array<{ asOf: number }> = [];
  const info = await nats.bus.jsm.streams.info(Streams.forecasts);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await nats.bus.jsm.streams.getMessage(Streams.forecasts, { seq }).catch(() => null);
    if (m?.subject === subject('forecast', { inst: INST, tf: '1H' })) out.push(ForecastContract.decode(m.data).data);
  }
  return out;
}

beforeAll(async () => {
  nats = await startTestNats();
  await applyPlan(nats.bus, await testPlan('future-btc', INST, '1H'));
  await publishCandles(nats.bus, hourlyCandles(INST, START, 60));
  host = new ActorHost({ bus: nats.bus, log: captureLogger('error').log, config: { inferencer: { batchWindowMs: 50 } } });
  await host.loadPlugin(INFERENCER_DIR);
  await host.start();
});
afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

describe('inferencer: times in the future are refused', () => {
  it('a stored candle dated 2036 gets no forecast and does not stop the next real candle from getting one', async () => {
    const [forged] = hourlyCandles(INST, START, 1, 60).map((c) => ({ ...c, ts: FORGED }));
    await publishCandles(nats.bus, [forged as NonNullable<typeof forged>]);
    await publishCandles(nats.bus, hourlyCandles(INST, START, 1, 60));
    await eventually(async () => (await forecasts()).some((f) => f.asOf === START + 60 * HOUR), 30_000);
    expect((await forecasts()).filter((f) => f.asOf >= FORGED)).toEqual([]);
  }, 60_000);
});
