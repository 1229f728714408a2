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
  type MarketClock,
  type MarketDataAdapter,
  marketClockFor,
  parseSubject,
  RawCandleContract,
  type SeriesKey,
  Streams,
  seriesId,
  subjectFilter,
  Tokens,
} from '@kokex/core';
import { type Actor, createActor, fromPromise } from 'xstate';
import { SeriesBook } from './book.js';
import { type ValidatorConfig, validatorConfigFromPlans, validatorConfigSchema } from './config.js';
import { futureLimits, futureProblem } from './future.js';
import { seriesRepairMachine } from './machine.js';
import { backfill, publishAccepted, quarantine, type RepairDeps, report } from './repair.js';
import { loadStored, scanSeries } from './scan.js';

/** One series: its book, and the machine that runs its repairs (`machine.ts`) one at a time. */
interface SeriesRuntime {
  book: SeriesBook;
  /** Settles once the book was loaded from MD_CANDLES (or the load failed): raw bars of the series wait for it. */
  ready: Promise<void>;
  repairs: Actor<typeof seriesRepairMachine>;
  /** Jobs running now, awaited on stop. */
  running: Set<Promise<unknown>>;
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
  /**
   * Each series' market clock, of its plan's venue mode (a series no plan names: the wall clock):
   * an event clock in a replay, moved by the bars this validator accepts (raw or from the venue),
   * never by what it reads back from MD_CANDLES. What "the future" is measured against (`future.ts`).
   */
  const clocks = new Map<string, { mode: string; clock: MarketClock }>();
  const marketClockOf = (book: SeriesBook): MarketClock => {
    const mode = plan.get(book.id)?.mode ?? 'live';
    const known = clocks.get(book.id);
    if (known?.mode === mode) return known.clock;
    const clock = marketClockFor(mode, ctx.clock);
    clocks.set(book.id, { mode, clock });
    return clock;
  };

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
    limits: (book) =>
      futureLimits({ wallNow: ctx.clock.now(), market: marketClockOf(book), tfMs: book.tfMs, toleranceMs: config.futureToleranceMs }),
    observe: (book, close) => marketClockOf(book).observe(close),
  };

  const runtimeFor = (key: SeriesKey): SeriesRuntime => {
    const id = seriesId(key);
    const existing = runtimes.get(id);
    if (existing) return existing;
    const windowMs = plan.get(id)?.windowMs ?? config.defaultWindowMs;
    const book = new SeriesBook({ venue: key.venue, inst: key.inst, tf: key.tf }, windowMs);
    let loaded: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    const running = new Set<Promise<unknown>>();
    /** A job as the machine invokes it: tracked for stop, its failure logged (the machine backs off). */
    const job = (what: string, run: () => Promise<unknown>) =>
      fromPromise<void>(async () => {
        const p = run();
        running.add(p);
        try {
          await p;
        } catch (err) {
          ctx.log.warn({ err, series: id, what }, 'validator: repair failed; trying again later');
          throw err;
        } finally {
          running.delete(p);
        }
      });
    const rt: SeriesRuntime = { book, ready, running, repairs: undefined as unknown as SeriesRuntime['repairs'] };
    const machine = seriesRepairMachine.provide({
      actors: {
        // What MD_CANDLES holds of the series comes first, so a raw bar sent again is a repeat.
        load: job('load', () => loadStored(deps, book).finally(loaded)),
        backfill: job('backfill', async () => {
          const slots = book.pending();
          if (slots.length > 0) await backfill(deps, book, slots);
          await report(deps, book, 'gap');
        }),
        scan: job('scan', async () => {
          rt.lastScanAt = ctx.clock.now();
          await scanSeries(deps, book);
        }),
      },
    });
    rt.repairs = createActor(machine, {
      clock: ctx.clock,
      input: { retryMs: config.retryMs, gapGraceMs: config.gapGraceMs, firstScanMs: config.firstScanMs, scanEveryMs: plan.get(id)?.scanEveryMs },
    });
    runtimes.set(id, rt);
    if (!stopped) rt.repairs.start();
    else loaded();
    return rt;
  };

  /** Books of the plan series, loaded from MD_CANDLES; every series told whether a plan still has it scanned. */
  const adoptPlanSeries = async () => {
    plan = planSeries();
    for (const series of config.series) {
      const rt = runtimeFor(series);
      rt.book.windowMs = series.windowMs;
      await rt.ready;
    }
    for (const rt of runtimes.values()) rt.repairs.send({ type: 'SCHEDULE', scanEveryMs: plan.get(rt.book.id)?.scanEveryMs });
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
    if (problems.length === 0) {
      // A raw bar closing after the wall clock is false (a replay's jumps ahead of its market clock
      // are real after an outage: only the wall bounds the raw path).
      const future = futureProblem((data as Candle).ts + rt.book.tfMs, deps.limits(rt.book).wall, 'wall clock');
      if (future) {
        problems.push(future);
        rt.book.future.raw++;
      }
    }
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
    if (seen.kind === 'new' && seen.missing.length > 0) rt.repairs.send({ type: 'GAP' });
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
      for (const rt of runtimes.values()) rt.repairs.stop();
      await Promise.allSettled([...runtimes.values()].flatMap((rt) => [...rt.running]));
    },
    async reconfigure(next) {
      config = next;
      await adoptPlanSeries();
    },
    status: () => ({
      series: [...runtimes.values()].map((rt) => {
        const snapshot = rt.repairs.getSnapshot();
        const value = snapshot.value as { work: string; scanClock: string };
        return {
          id: rt.book.id,
          state: value.work,
          scanClock: value.scanClock,
          latest: rt.book.latest === undefined ? undefined : new Date(rt.book.latest).toISOString(),
          stored: rt.book.size,
          missing: rt.book.missingCount(),
          ...rt.book.counts,
          future: { ...rt.book.future },
          scans: snapshot.context.scans,
          failures: snapshot.context.failures,
          lastScanAt: rt.lastScanAt,
        };
      }),
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
