import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Bus,
  type Candle,
  CandleContract,
  candleMessageId,
  createLogger,
  type OhlcvBar,
  parsePlan,
  Streams,
  subject,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { bundledBars, loadDirectorySeries } from '@kokex/plugin-candles';
import { OkxSimulator } from '@kokex/plugin-okx-sim';
import { machine } from './lib/report.js';

const REPO = resolve(import.meta.dirname, '../..');
const MIN = 60_000;
const HISTORY = 60;
const WANTED = Number(process.env.BENCH_CANDLES ?? 10_000);
const RECONNECTS = 5;
const MISSED_PER_RECONNECT = 100;
const log = createLogger({ level: 'error' });

async function realMinutes(): Promise<{ bars: OhlcvBar[]; origin: string }> {
  const dir = process.env.KOKEX_DATA_DIR ?? resolve(REPO, '../shared/data');
  if (existsSync(dir)) {
    const found = await loadDirectorySeries(dir, 'BTC-USDT-SWAP', '1m').catch(() => undefined);
    if (found) return { bars: found.bars, origin: found.choice.files.map((f) => f.name).join(', ') };
  }
  console.log('no data directory (KOKEX_DATA_DIR): using the bundled BTC-USD minutes');
  return { bars: await bundledBars(), origin: 'gdax-sim-test-data (bundled)' };
}

async function subjectCount(bus: Bus, key: { venue: string; inst: string; tf: string }): Promise<number> {
  const s = subject('candle', key);
  const info = await bus.jsm.streams.info(Streams.candles, { subjects_filter: s });
  return info.state.subjects?.[s] ?? 0;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('benchmark condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Raw JetStream: each candle encoded as an envelope and published with its message id, 512 in flight. */
async function rawRun(bus: Bus, bars: OhlcvBar[]): Promise<number> {
  const started = performance.now();
  let inFlight: Promise<unknown>[] = [];
  for (const b of bars) {
    const candle: Candle = { venue: 'okx', inst: 'RAW-USDT', tf: '1m', ...b, confirmed: true };
    const { bytes } = CandleContract.encode(candle, { id: candleMessageId('okx', 'RAW-USDT', '1m', b.ts) });
    inFlight.push(bus.js.publish(subject('candle', candle), bytes, { msgID: candleMessageId('okx', 'RAW-USDT', '1m', b.ts) }));
    if (inFlight.length >= 512) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  return bars.length / ((performance.now() - started) / 1000);
}

interface PipelineFigures {
  stored: number;
  validated: number;
}

async function pipelineRun(bus: Bus, bars: OhlcvBar[], replay: number) {
  const inst = 'BENCH-USDT';
  const sim = new OkxSimulator({ data: bars, startAt: (bars[0] as OhlcvBar).ts + HISTORY * MIN, instId: inst, idleTimeoutMs: 0 });
  const { port } = await sim.start({ port: 0 });
  const adapters = { okx: { simPort: port } };
  const host = new ActorHost({
    bus,
    log,
    config: { feed: { adapters, contextTimeframes: [] }, validator: { adapters, contextTimeframes: [], firstScanMs: 3_600_000 } },
  });
  for (const dir of ['plugins/okx', 'actors/feed', 'actors/validator']) await host.loadPlugin(resolve(REPO, dir));
  const window = `${HISTORY + replay + RECONNECTS * (MISSED_PER_RECONNECT + 20) + 60}m`;
  const yaml = `apiVersion: kokex/v1\nkind: Plan\nmetadata: { name: bench }\nspec:\n  venue: { name: okx, mode: sim }\n  instrument: ${inst}\n  timeframe: 1m\n  data: { window: ${window}, scanEvery: 1h }\n  risk: { maxNotional: 1, maxPositionNotional: 1, maxDailyLoss: 1 }\n`;
  await applyPlan(bus, parsePlan(yaml, 'bench.yaml'));
  await host.start();
  const key = { venue: 'okx', inst, tf: '1m' };
  const feed = () =>
    host
      .instances()
      .find((i) => i.kind === 'feed')
      ?.status().detail as { venues: Array<{ lastResubscribedAt?: number; lastCaughtUpAt?: number }> };
  const validatorLag = async () => (await bus.jsm.consumers.info(Streams.raw, 'validator')).num_pending;
  await until(async () => (await subjectCount(bus, key)) >= HISTORY);

  const started = performance.now();
  for (let done = 0; done < replay; done += 100) {
    sim.stepBars(Math.min(100, replay - done));
    await new Promise((r) => setImmediate(r));
  }
  await until(async () => (await subjectCount(bus, key)) >= HISTORY + replay);
  const storedMs = performance.now() - started;
  await until(async () => (await validatorLag()) === 0);
  const throughput: PipelineFigures = { stored: replay / (storedMs / 1000), validated: replay / ((performance.now() - started) / 1000) };

  const reconnects: Array<{ resubscribedMs: number; caughtUpMs: number }> = [];
  for (let i = 0; i < RECONNECTS; i++) {
    const before = await subjectCount(bus, key);
    const droppedAt = Date.now();
    sim.dropConnections();
    // The venue moves on while the feed is away: these bars reach it only through REST.
    sim.stepBars(MISSED_PER_RECONNECT);
    await until(() => (feed().venues[0]?.lastCaughtUpAt ?? 0) > droppedAt && (feed().venues[0]?.lastResubscribedAt ?? 0) > droppedAt);
    await until(async () => (await subjectCount(bus, key)) >= before + MISSED_PER_RECONNECT);
    const venue = feed().venues[0] as { lastResubscribedAt: number; lastCaughtUpAt: number };
    reconnects.push({ resubscribedMs: venue.lastResubscribedAt - droppedAt, caughtUpMs: venue.lastCaughtUpAt - droppedAt });
    sim.stepBars(20);
    await until(async () => (await subjectCount(bus, key)) >= before + MISSED_PER_RECONNECT + 20);
  }
  await host.stop();
  await sim.stop();
  return { throughput, reconnects };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const nats = await startTestNats();
try {
  console.log(`machine: ${machine()}`);
  const { bars, origin } = await realMinutes();
  const replay = Math.min(WANTED, bars.length - HISTORY - RECONNECTS * (MISSED_PER_RECONNECT + 20) - 10);
  console.log(`data: ${origin}, ${replay} 1m candles replayed after ${HISTORY} of history`);
  const raw = await rawRun(nats.bus, bars.slice(0, replay));
  const { throughput, reconnects } = await pipelineRun(nats.bus, bars, replay);
  console.log(
    `throughput: raw JetStream publish ${raw.toFixed(0)} candles/s; simulator → feed → stream ${throughput.stored.toFixed(0)} candles/s, → validator done ${throughput.validated.toFixed(0)} candles/s (${((throughput.validated / raw) * 100).toFixed(0)}% of raw)`,
  );
  const resub = reconnects.map((r) => r.resubscribedMs);
  const caught = reconnects.map((r) => r.caughtUpMs);
  console.log(
    `reconnect (${RECONNECTS} drops, ${MISSED_PER_RECONNECT} bars missed each, default backoff 250 ms ± 50%): resubscribed after ${median(resub)} ms median (${Math.min(...resub)}–${Math.max(...resub)}), caught up after ${median(caught)} ms median (${Math.min(...caught)}–${Math.max(...caught)})`,
  );
} finally {
  await nats.stop();
}
process.exit(0);
