import {
  type ActorContext,
  type ActorLogic,
  AdapterPort,
  adapterFor,
  type Candle,
  CandleFault,
  candleProblems,
  causedBy,
  consume,
  defineActorKind,
  type Envelope,
  type MarketDataAdapter,
  parseSubject,
  RawCandleContract,
  type SeriesKey,
  Streams,
  seriesId,
  subjectFilter,
  Tokens,
} from '@kokex/core';
import { SeriesBook } from './book.js';
import { type ValidatorConfig, validatorConfigFromPlans, validatorConfigSchema } from './config.js';
import { backfill, publishAccepted, quarantine, type RepairDeps, report } from './repair.js';
import { loadStored, scanSeries } from './scan.js';

interface SeriesRuntime {
  book: SeriesBook;
  /** The book loaded from MD_CANDLES: raw bars of the series wait for it. */
  ready: Promise<void>;
  gapTimer?: unknown;
  scanTimer?: unknown;
  /** The one repair (gap backfill or scan) running for this series; they never overlap. */
  work: Promise<void>;
  failures: number;
  scans: number;
  lastScanAt?: number;
}

/**
 * The validator: the one writer of MD_CANDLES. One durable consumer on the raw bars
 * (`kokex.md.raw.>`, MD_RAW) that feeds and pulls publish. Each bar is checked once with core's
 * candle check (OHLC, volume, grid alignment, confirmed, subject) and placed in its series' book,
 * which spots repeats (first copy kept), conflicting copies, late bars and gaps; an accepted bar is
 * published to `kokex.md.candle.{venue}.{inst}.{tf}` with its candle message id, caused by the raw
 * message. A gap still open after a grace period is backfilled from the venue's REST history
 * (checked, published straight to MD_CANDLES); bad bars are quarantined on
 * `kokex.md.quality.{venue}.{inst}.{tf}`, never published; every repair and every scan
 * (`data.scanEvery`) ends in a quality report there. Downstream reads MD_CANDLES only, so no bar
 * the validator refuses ever reaches it.
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
      return adapterFor<MarketDataAdapter>(
        ctx.container.resolve(Tokens.Adapters),
        AdapterPort.exchange,
        { name: series.venue, mode: series.mode },
        config.adapters,
      );
    },
  };

  const runtimeFor = (key: SeriesKey): SeriesRuntime => {
    const id = seriesId(key);
    let rt = runtimes.get(id);
    if (!rt) {
      const windowMs = plan.get(id)?.windowMs ?? config.defaultWindowMs;
      const book = new SeriesBook({ venue: key.venue, inst: key.inst, tf: key.tf }, windowMs);
      rt = { book, ready: Promise.resolve(), work: Promise.resolve(), failures: 0, scans: 0 };
      runtimes.set(id, rt);
      // What MD_CANDLES holds of the series comes first, so a raw bar sent again is a repeat.
      rt.ready = enqueue(rt, 'load', () => loadStored(deps, book));
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
      if (slots.length > 0) await backfill(deps, rt.book, slots);
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
      if (fresh) await rt.ready;
      if (fresh || rt.scanTimer === undefined) scheduleScan(rt, Math.min(config.firstScanMs, series.scanEveryMs));
    }
  };

  /** One raw bar: checked once, then published to MD_CANDLES, dropped as a repeat, or quarantined. */
  const handle = async (envelope: Envelope<unknown>, subjectText: string, seq: number) => {
    const parsed = parseSubject(subjectText);
    if (parsed.family !== 'rawCandle') return;
    const rt = runtimeFor(parsed);
    await rt.ready;
    const data = envelope.data;
    const raw = { data, origin: 'raw' as const, seq, messageId: envelope.id };
    const problems = candleProblems(data, parsed);
    if (problems.length > 0) {
      await quarantine(deps, rt.book, raw, problems);
      return;
    }
    const candle = data as Candle;
    const seen = rt.book.admit(candle.ts, candle);
    if (seen.kind === 'repeat') return;
    if (seen.kind === 'conflict') {
      const detail = `a bar at ${candle.ts} was accepted already with other prices or volume; the first copy stays`;
      await quarantine(deps, rt.book, raw, [{ fault: CandleFault.Duplicate, detail }]);
      return;
    }
    await publishAccepted(deps, rt.book, candle, causedBy(envelope));
    if (seen.kind === 'new' && seen.missing.length > 0) scheduleGapCheck(rt);
  };

  return {
    consumers: [
      consume(
        {
          stream: Streams.raw,
          durable: config.durable,
          filter: subjectFilter('rawCandle'),
          contract: RawCandleContract,
          maxInFlight: config.maxInFlight,
        },
        (envelope, msg) => handle(envelope, msg.subject, msg.seq),
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
  description: 'checks every raw bar once and publishes the good ones to MD_CANDLES (its only writer), backfills gaps, quarantines bad bars, reports quality, scans the window',
  configSchema: validatorConfigSchema,
  configFromPlans: validatorConfigFromPlans,
  create: createValidatorLogic,
  access: () => ({
    publish: [
      // Accepted and backfilled bars (the validator is MD_CANDLES' only writer) and quality records.
      subjectFilter('candle'),
      subjectFilter('quality'),
      // Reading a series back from MD_CANDLES (the subject's last message, ordered consumers for
      // loads and scans) and deleting bad bars and extra copies found stored there.
      `$JS.API.STREAM.MSG.GET.${Streams.candles}`,
      `$JS.API.STREAM.MSG.DELETE.${Streams.candles}`,
      `$JS.API.CONSUMER.CREATE.${Streams.candles}.*.kokex.md.candle.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${Streams.candles}.>`,
      `$JS.API.CONSUMER.DELETE.${Streams.candles}.>`,
      `$JS.FC.${Streams.candles}.>`,
    ],
    // The default durable on the raw inbox; a host configured with another name needs it here too.
    consume: [{ stream: Streams.raw, durable: 'validator', filter: subjectFilter('rawCandle') }],
  }),
});
