import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ActorHost,
  type ActorStatus,
  applyPlan,
  type Bus,
  type CandleFamily,
  deletePlan,
  parsePlan,
  type SeriesKey,
  storedCandles,
  streamOf,
  subject,
  timeframeMs,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { chooseReplayData, OkxSimulator, type OkxSimulatorOptions, type SimCandle, syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * Test support for the market-data pipeline: the OKX simulator as the venue (manual clock, so a
 * 5,000-bar replay takes a second, not days), a host running the feed (and the validator) with the
 * okx adapter plugin, real 1m candles from the data directory when present.
 */
export const MIN = 60_000;
const REPO = resolve(import.meta.dirname, '../../..');
export const DIRS = {
  okx: resolve(REPO, 'plugins/okx'),
  feed: resolve(REPO, 'actors/feed'),
  validator: resolve(REPO, 'actors/validator'),
} as const;

/** KOKEX_DATA_DIR, else the shared data beside the checkout (development and CI have it there). */
export function testDataDir(): string | undefined {
  const dir = process.env.KOKEX_DATA_DIR ?? resolve(REPO, '../shared/data');
  return existsSync(dir) ? dir : undefined;
}

let realMinutes: Promise<SimCandle[] | undefined> | undefined;

/** `count` real OKX BTC-USDT-SWAP minutes from the data directory, else synthetic ones (said once). */
export async function minuteBars(count: number): Promise<{ bars: SimCandle[]; real: boolean }> {
  realMinutes ??= (async () => {
    const dir = testDataDir();
    if (!dir) return undefined;
    // The simulator's own choice of replay data, without its fallback to the bundled dataset.
    let skipped = false;
    const data = await chooseReplayData({ inst: 'BTC-USDT-SWAP', dataDir: dir, env: {}, onSkip: () => (skipped = true) }).catch(() => undefined);
    return skipped ? undefined : data?.bars;
  })();
  const real = await realMinutes;
  if (real && real.length >= count) return { bars: real.slice(0, count), real: true };
  console.warn(`[market-data tests] no data directory with okx_BTC-USDT-SWAP_1m (KOKEX_DATA_DIR); replaying ${count} synthetic bars`);
  return { bars: syntheticCandles({ count, seed: 7 }), real: false };
}

export interface PipelineOptions {
  bus: Bus;
  /** Spot instrument the simulator serves; every test takes its own, so series never mix. */
  inst: string;
  bars: SimCandle[];
  /** Bars of history before the replay starts. */
  historyBars: number;
  /** The plan's `data.window`. Default: the history bars exactly. */
  window?: string;
  faults?: OkxSimulatorOptions['faults'];
  withValidator?: boolean;
  contextTimeframes?: string[];
  /** The plan's `data.scanEvery`. Default 2s. */
  scanEvery?: string;
  port?: number;
}

/** The feed's status detail, typed for tests. */
export interface FeedDetail {
  series: Array<{
    id: string;
    state: string;
    lastCatchUp?: unknown;
    published: number;
    duplicates: number;
    fetched: number;
  }>;
  venues: Array<{
    state: string;
    problems?: Record<string, string>;
    resubscribes: number;
    lastResubscribedAt?: number;
    lastCaughtUpAt?: number;
  }>;
  errors: Record<string, number>;
}

export interface Pipeline {
  sim: OkxSimulator;
  host: ActorHost;
  key: SeriesKey;
  startAt: number;
  plan: string;
  /** Where the feed's bars end up: MD_CANDLES (`candle`) through the validator, else the raw inbox (`rawCandle`). */
  family: CandleFamily;
  feed(): ActorStatus;
  feedDetail(): FeedDetail;
  validator(): ActorStatus | undefined;
  /** Steps the simulator `n` bars in small chunks, yielding between them as a live venue would. */
  replay(n: number, chunk?: number): Promise<void>;
  /** Resolves when the series holds `count` messages (in `family`). */
  stored(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function adapterSettings(port: number) {
  return {
    okx: {
      simPort: port,
      ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200, requestTimeoutMs: 2000, pingIntervalMs: 5000, pongTimeoutMs: 2000 },
      http: { retryDelayMs: 20, maxRetries: 4, timeoutMs: 3000 },
    },
  };
}

export function testPlan(name: string, inst: string, window: string, scanEvery: string, timeframe = '1m') {
  return parsePlan(
    [
      'apiVersion: kokex/v1',
      'kind: Plan',
      `metadata: { name: ${name} }`,
      'spec:',
      '  venue: { name: okx, mode: sim }',
      `  instrument: ${inst}`,
      `  timeframe: ${timeframe}`,
      `  data: { window: ${window}, scanEvery: ${scanEvery} }`,
      '  risk: { maxNotional: 100, maxPositionNotional: 100, maxDailyLoss: 10 }',
    ].join('\n'),
    `${name}.yaml`,
  );
}

/** Messages stored on the series' subject: validated bars by default, the raw inbox with `rawCandle`. */
export async function subjectCount(bus: Bus, key: SeriesKey, family: CandleFamily = 'candle'): Promise<number> {
  const s = subject(family, key);
  const info = await bus.jsm.streams.info(streamOf(s) as string, { subjects_filter: s });
  return info.state.subjects?.[s] ?? 0;
}

export async function startPipeline(o: PipelineOptions): Promise<Pipeline> {
  const first = o.bars[0]?.ts ?? 0;
  const startAt = first + o.historyBars * MIN;
  const sim = new OkxSimulator({ data: o.bars, startAt, instId: o.inst, faults: o.faults, seed: 11, idleTimeoutMs: 0 });
  const address = await sim.start({ port: o.port ?? 0 });
  const adapters = adapterSettings(address.port);
  const contextTimeframes = o.contextTimeframes ?? [];
  const host = new ActorHost({
    bus: o.bus,
    log: captureLogger('error').log,
    config: {
      feed: { adapters, contextTimeframes, retryMs: 100, firstPushWaitMs: 2000 },
      validator: { adapters, contextTimeframes, retryMs: 100, gapGraceMs: 250 },
    },
  });
  await host.loadPlugin(DIRS.okx);
  await host.loadPlugin(DIRS.feed);
  if (o.withValidator !== false) await host.loadPlugin(DIRS.validator);
  const plan = o.inst.toLowerCase();
  await applyPlan(o.bus, testPlan(plan, o.inst, o.window ?? `${o.historyBars}m`, o.scanEvery ?? '2s'));
  await host.start();
  const status = (kind: string) =>
    host
      .instances()
      .find((i) => i.kind === kind)
      ?.status();
  const feed = () => status('feed') as ActorStatus;
  const key = { venue: 'okx', inst: o.inst, tf: '1m' };
  const family: CandleFamily = o.withValidator === false ? 'rawCandle' : 'candle';
  // Replay only once the feed subscribed and caught up, so the venue's "now" at start is startAt.
  const feedDetail = () => feed().detail as unknown as FeedDetail;
  await eventually(() => {
    const { series } = feedDetail();
    return series.length > 0 && series.every((s) => s.state === 'live' && s.lastCatchUp !== undefined);
  }, 15_000);
  return {
    sim,
    host,
    key,
    startAt,
    plan,
    family,
    feed,
    feedDetail,
    validator: () => status('validator'),
    async replay(n, chunk = 50) {
      for (let done = 0; done < n; done += chunk) {
        sim.stepBars(Math.min(chunk, n - done));
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async stored(count, timeoutMs = 30_000) {
      await eventually(async () => (await subjectCount(o.bus, key, family)) >= count, timeoutMs, 100);
    },
    async stop() {
      await host.stop();
      await sim.stop();
      await deletePlan(o.bus, plan);
    },
  };
}

/** Stored bars of the series (validated ones unless `family` says raw): asserts nothing, returns what a gap/duplicate check needs. */
export async function seriesShape(bus: Bus, key: SeriesKey, family: CandleFamily = 'candle') {
  const candles = await storedCandles(bus, key, family);
  const ts = candles.map((c) => c.ts);
  const gaps = ts.filter((t, i) => i > 0 && t - (ts[i - 1] as number) !== timeframeMs(key.tf)).length;
  return {
    candles,
    count: candles.length,
    messages: await subjectCount(bus, key, family),
    unique: new Set(ts).size,
    gaps,
    first: ts[0],
    last: ts.at(-1),
  };
}

/**
 * One nats-server for the file, one pipeline per test (stopped after it, with `cleanup` run
 * after that): the hooks every pipeline suite needs.
 */
export function pipelineSuite(cleanup: (bus: Bus) => Promise<void> = async () => undefined) {
  let nats: TestNats | undefined;
  let current: Pipeline | undefined;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterEach(async () => {
    await current?.stop();
    current = undefined;
    if (nats) await cleanup(nats.bus);
  });
  afterAll(async () => {
    await nats?.stop();
  });
  return {
    get bus(): Bus {
      if (!nats) throw new Error('pipelineSuite: nats-server not started yet');
      return nats.bus;
    },
    /** Registers the test's pipeline for the clean-up. */
    use(pipeline: Pipeline): Pipeline {
      current = pipeline;
      return pipeline;
    },
  };
}
