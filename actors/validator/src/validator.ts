import {
  type ActorContext,
  type ActorLogic,
  AdapterPort,
  consume,
  defineActorKind,
  type MarketDataAdapter,
  parseSubject,
  Streams,
  subjectFilter,
  Tokens,
} from '@kokex/core';
import { candleProblems, type SeriesKey, seriesId } from '@kokex/plugin-candles';
import { SeriesBook } from './book.js';
import { type ValidatorConfig, validatorConfigFromPlans, validatorConfigSchema } from './config.js';
import { LooseCandleContract } from './contract.js';
import { backfill, deleteStored, quarantine, type RepairDeps, report } from './repair.js';
import { loadStored, scanSeries } from './scan.js';

interface SeriesRuntime {
  book: SeriesBook;
  gapTimer?: unknown;
  scanTimer?: unknown;
  /** The one repair (gap backfill or scan) running for this series; they never overlap. */
  work: Promise<void>;
  failures: number;
  /** Waiting for backfilled bars to come back through the consumer. */
  waiters: Set<() => void>;
  scans: number;
  lastScanAt?: number;
}

/**
 * The validator: one durable consumer on every candle subject. Each stored bar is checked (OHLC,
 * volume, grid alignment, confirmed, subject) and placed in its series' book, which spots
 * duplicates (deleted, first copy kept), late bars and gaps; a gap still open after a grace period
 * is backfilled from the venue's REST history; bad bars are quarantined on
 * `kokex.md.quality.{venue}.{inst}.{tf}`; every repair and every scan (`data.scanEvery`) ends in a
 * quality report there.
 */
export function createValidatorLogic(ctx: ActorContext<ValidatorConfig>): ActorLogic<ValidatorConfig> {
  let config = ctx.config;
  let stopped = false;
  const runtimes = new Map<string, SeriesRuntime>();
  const planSeries = () => new Map(config.series.map((s) => [seriesId(s), s]));
  let plan = planSeries();

  const deps: RepairDeps = {
    bus: ctx.bus,
    log: ctx.log,
    clock: ctx.clock,
    source: ctx.instanceId,
    async adapterFor(book) {
      const series = plan.get(book.id);
      if (!series) return undefined;
      const registry = ctx.container.resolve(Tokens.Adapters);
      return registry.resolve<MarketDataAdapter>(AdapterPort.exchange, series.venue, {
        ...(config.adapters[series.venue] ?? {}),
        mode: series.mode,
      });
    },
    awaitStored: (book, published) =>
      new Promise<void>((resolve) => {
        const rt = runtimes.get(book.id);
        const done = () => !published.some((ts) => book.isMissing(ts));
        if (!rt || done()) return resolve();
        const finish = () => {
          ctx.clock.clearTimeout(timer);
          rt.waiters.delete(check);
          resolve();
        };
        const check = () => {
          if (done()) finish();
        };
        // Bounded: a bar deleted or refused on the way must not hold the series' repairs.
        const timer = ctx.clock.setTimeout(finish, Math.max(2000, config.gapGraceMs * 4));
        rt.waiters.add(check);
      }),
  };

  const runtimeFor = (key: SeriesKey): SeriesRuntime => {
    const id = seriesId(key);
    let rt = runtimes.get(id);
    if (!rt) {
      const windowMs = plan.get(id)?.windowMs ?? config.defaultWindowMs;
      rt = {
        book: new SeriesBook({ venue: key.venue, inst: key.inst, tf: key.tf }, windowMs),
        work: Promise.resolve(),
        failures: 0,
        waiters: new Set(),
        scans: 0,
      };
      runtimes.set(id, rt);
    }
    return rt;
  };

  /** Runs repairs of one series one after another; a failure is retried with a growing delay. */
  const enqueue = (rt: SeriesRuntime, what: string, job: () => Promise<unknown>) => {
    rt.work = rt.work.then(async () => {
      if (stopped) return;
      try {
        await job();
        rt.failures = 0;
      } catch (err) {
        rt.failures++;
        ctx.log.warn({ err, series: rt.book.id, what, failures: rt.failures }, 'validator: repair failed; trying again later');
        const delay = config.retryMs * 2 ** Math.min(rt.failures - 1, 4);
        ctx.clock.clearTimeout(rt.gapTimer);
        rt.gapTimer = ctx.clock.setTimeout(() => checkGaps(rt), delay);
      }
    });
    return rt.work;
  };

  const checkGaps = (rt: SeriesRuntime) => {
    rt.gapTimer = undefined;
    void enqueue(rt, 'backfill', async () => {
      const slots = rt.book.pending();
      if (slots.length > 0) await deps.awaitStored(rt.book, await backfill(deps, rt.book, slots));
      await report(deps, rt.book, 'gap');
    });
  };

  const scheduleGapCheck = (rt: SeriesRuntime) => {
    if (rt.gapTimer === undefined && !stopped) rt.gapTimer = ctx.clock.setTimeout(() => checkGaps(rt), config.gapGraceMs);
  };

  const scheduleScan = (rt: SeriesRuntime, delayMs: number) => {
    ctx.clock.clearTimeout(rt.scanTimer);
    if (stopped) return;
    rt.scanTimer = ctx.clock.setTimeout(() => {
      rt.scanTimer = undefined;
      void enqueue(rt, 'scan', async () => {
        rt.scans++;
        rt.lastScanAt = ctx.clock.now();
        await scanSeries(deps, rt.book);
      }).finally(() => {
        // A series no plan names any more is no longer scanned.
        const every = plan.get(rt.book.id)?.scanEveryMs;
        if (every !== undefined) scheduleScan(rt, every);
      });
    }, delayMs);
  };

  /** Books of the plan series: loaded from the stream, then scanned once the feed had time to catch up. */
  const adoptPlanSeries = async () => {
    plan = planSeries();
    for (const series of config.series) {
      const fresh = !runtimes.has(seriesId(series));
      const rt = runtimeFor(series);
      rt.book.windowMs = series.windowMs;
      if (fresh) await enqueue(rt, 'load', () => loadStored(deps, rt.book));
      if (fresh || rt.scanTimer === undefined) scheduleScan(rt, Math.min(config.firstScanMs, series.scanEveryMs));
    }
  };

  const handle = async (data: unknown, subjectText: string, seq: number) => {
    const parsed = parseSubject(subjectText);
    if (parsed.family !== 'candle') return;
    const rt = runtimeFor(parsed);
    const problems = candleProblems(data, parsed);
    if (problems.length > 0) {
      await quarantine(deps, rt.book, { data, seq }, problems, 'stream');
      return;
    }
    const seen = rt.book.observe((data as { ts: number }).ts, seq);
    if (seen.kind === 'filled') for (const check of [...rt.waiters]) check();
    if (seen.kind === 'duplicate') await deleteStored(deps, seen.drop);
    if (seen.kind === 'new' && seen.missing.length > 0) scheduleGapCheck(rt);
  };

  return {
    consumers: [
      consume(
        {
          stream: Streams.candles,
          durable: config.durable,
          filter: subjectFilter('candle'),
          contract: LooseCandleContract,
          maxInFlight: config.maxInFlight,
        },
        (envelope, msg) => handle(envelope.data, msg.subject, msg.seq),
      ),
    ],
    // Loading the books first means a replayed stream reads as known bars, not as fresh gaps.
    start: adoptPlanSeries,
    async stop() {
      stopped = true;
      for (const rt of runtimes.values()) {
        ctx.clock.clearTimeout(rt.gapTimer);
        ctx.clock.clearTimeout(rt.scanTimer);
      }
      await Promise.allSettled([...runtimes.values()].map((rt) => rt.work));
    },
    async reconfigure(next) {
      config = next;
      await adoptPlanSeries();
    },
    status: () => ({
      series: [...runtimes.values()].map((rt) => ({
        id: rt.book.id,
        latest: rt.book.latest === undefined ? undefined : new Date(rt.book.latest).toISOString(),
        stored: rt.book.size,
        missing: rt.book.missingCount(),
        ...rt.book.counts,
        scans: rt.scans,
        lastScanAt: rt.lastScanAt,
      })),
    }),
  };
}

export const validatorActor = defineActorKind<ValidatorConfig>({
  kind: 'validator',
  description: 'checks every stored candle, backfills gaps from the venue, quarantines bad bars, reports quality, scans the window',
  configSchema: validatorConfigSchema,
  configFromPlans: validatorConfigFromPlans,
  create: createValidatorLogic,
  access: () => ({
    publish: [
      // Backfilled bars and quality records.
      subjectFilter('candle'),
      subjectFilter('quality'),
      // Reading a series back (the subject's last message, ordered consumers for scans) and
      // deleting quarantined bars and extra copies.
      `$JS.API.STREAM.MSG.GET.${Streams.candles}`,
      `$JS.API.STREAM.MSG.DELETE.${Streams.candles}`,
      `$JS.API.CONSUMER.CREATE.${Streams.candles}.*.kokex.md.candle.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${Streams.candles}.>`,
      `$JS.API.CONSUMER.DELETE.${Streams.candles}.>`,
      `$JS.FC.${Streams.candles}.>`,
    ],
    // The default durable; a host configured with another name needs it here too.
    consume: [{ stream: Streams.candles, durable: 'validator', filter: subjectFilter('candle') }],
  }),
});
