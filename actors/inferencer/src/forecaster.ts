import {
  type Bus,
  barClose,
  type Candle,
  type Envelope,
  ErrorCode,
  type Forecast,
  ForecastContract,
  isKokexError,
  type Logger,
  type MarketClock,
  marketNow,
  nextBarOpen,
  type PublishResult,
  subject,
  timeframeMs,
} from '@kokex/core';
import { KronosErrorCode } from '@kokex/kronos-runtime';
import type { ForecastBatcher } from './batcher.js';
import { type ForecastSeries, seriesKey } from './config.js';
import { WarmingUpError } from './errors.js';
import { buildForecast } from './forecast-message.js';
import { CandleHistory, readStoredCandles } from './history.js';
import type { ModelManager } from './models.js';
import { fitCalibration } from './skill/calibration.js';
import { type SkillRecordKey, summarize } from './skill/record.js';
import { type PendingForecast, type ScoredForecast, scoreForecast } from './skill/scores.js';
import { overlapLag } from './skill/significance.js';
import type { SkillStore } from './skill/store.js';

/**
 * One series (instrument, timeframe) of the inferencer: its candle history, the forecasts waiting
 * to be scored, and the path from a closed candle to a published forecast.
 */
export interface ForecasterDeps {
  bus: Bus;
  log: Logger;
  models: ModelManager;
  skill: SkillStore;
  batcher: ForecastBatcher;
  /** Fewest bars before the first forecast (capped at the lookback). */
  minHistory: number;
  /** Producer name on the envelopes. */
  source: string;
  /**
   * The series' market clock (its plan's): model expiry and skill records are stamped in it. A
   * candle shows it its `eventTime` before anything is decided on it.
   */
  marketClock: MarketClock;
  /** Wall time: the fallback while a replay's clock has seen no candle yet. */
  wallNow(): number;
}

export interface ForecastTrigger {
  correlationId?: string;
  causationId?: string;
  /** Message id; default: `forecast:{inst}:{tf}:{asOf}:{version}` (a redelivered candle publishes nothing twice). */
  id?: string;
  /** Market time the forecast speaks for: its candle's (the close of the newest bar it saw). Default: that bar's close. */
  eventTime?: number;
}

export interface PublishedForecast {
  envelope: Envelope<Forecast>;
  seq: number;
  duplicate: boolean;
  batchSize: number;
}

interface Waiting {
  pending: PendingForecast;
  key: SkillRecordKey;
}

/** Slack for clocks that differ a little (as the risk guard's and the validator's `futureToleranceMs`). */
const FUTURE_TOLERANCE_MS = 5000;

export class SeriesForecaster {
  readonly id: string;
  readonly history: CandleHistory;
  readonly candleSubject: string;
  readonly forecastSubject: string;
  #waiting: Waiting[] = [];
  /** The kind of reason the series last warned about not forecasting (one warning each, until it forecasts). */
  #warned: string | undefined;
  forecasts = 0;
  scored = 0;
  lastForecast: { asOf: number; version: string; tradeable: boolean } | undefined;
  lastSkipped: string | undefined;
  /** Candles refused for closing (or speaking for a time) after the wall clock: forged, never forecast. */
  futureRefused = 0;

  constructor(
    readonly series: ForecastSeries,
    private readonly deps: ForecasterDeps,
  ) {
    this.id = seriesKey(series.inst, series.tf);
    // The lookback, plus the horizon a pending forecast needs closed, plus slack for late bars.
    this.history = new CandleHistory(series.tf, series.forecast.lookback + series.forecast.horizon + 8);
    this.candleSubject = subject('candle', { venue: series.venue, inst: series.inst, tf: series.tf });
    this.forecastSubject = subject('forecast', { inst: series.inst, tf: series.tf });
  }

  /** Market now: the newest candle close this series has seen (live: the wall clock). */
  marketNow(): number {
    return marketNow(this.deps.marketClock, this.deps.wallNow());
  }

  get pendingCount(): number {
    return this.#waiting.length;
  }

  /** Reads the newest bars from MD_CANDLES into memory (at start, and after a gap). */
  async fill(): Promise<number> {
    const keep = this.history.capacity;
    // Stream times are the server's wall clock, so this window is in real time, not the actor's clock.
    const since = Date.now() - keep * timeframeMs(this.series.tf) * 2 - 3_600_000;
    const bars = (await readStoredCandles(this.deps.bus, this.candleSubject, keep, since)).filter((b) => !this.#fromTheFuture(b));
    for (const bar of bars) this.history.add(bar);
    // The stored bars are what this series has seen of the market: its clock stands at the newest close.
    const last = this.history.last;
    if (last) this.deps.marketClock.observe(barClose(last.ts, this.series.tf));
    return bars.length;
  }

  /** A closed candle arrived: remember it, score what it completes, and forecast unless the consumer is still catching up. */
  async onCandle(envelope: Envelope<Candle>, catchingUp: boolean): Promise<PublishedForecast | undefined> {
    const candle = envelope.data;
    // Times in the future are refused (issue 12 finding 1): anyone can store a bar on
    // kokex.md.candle when the server has no per-actor users, and a bar dated 2036 would move a
    // replay's market clock there for good (the model then "expired", no forecast ever again).
    if (this.#fromTheFuture(candle, envelope.eventTime)) {
      this.futureRefused++;
      this.deps.log.warn({ series: this.id, ts: candle.ts, eventTime: envelope.eventTime }, 'a candle from the future: ignored');
      return this.#skip(`candle ${candle.ts} closes after the wall clock`);
    }
    this.deps.marketClock.observe(envelope.eventTime);
    if (!candle.confirmed) return undefined;
    if (this.history.add(candle) === 'gap') await this.fill();
    await this.scoreCompleted();
    if (catchingUp) return this.#skip(`catching up: a newer bar than ${candle.ts} is waiting`);
    if (candle.ts !== this.history.last?.ts) return this.#skip(`bar ${candle.ts} is older than the newest ${this.history.last?.ts}`);
    const every = this.series.forecast.every;
    if (every > 1 && Math.floor(candle.ts / timeframeMs(this.series.tf)) % every !== 0)
      return this.#skip(`forecasting every ${every} bars`);
    try {
      const published = await this.forecast({
        correlationId: envelope.correlationId,
        causationId: envelope.id,
        eventTime: envelope.eventTime,
      });
      this.#warned = undefined;
      return published;
    } catch (err) {
      // No servable model, too little history or a bad input: the candle is handled, the forecast waits for the next one.
      const code = isKokexError(err) ? err.code : undefined;
      if (code === ErrorCode.ModelNotFound || code === KronosErrorCode.Input || err instanceof WarmingUpError) {
        // One warning per kind of reason, not one per candle (a warming-up series would print one a
        // bar); the rest at debug, and the next forecast re-arms it.
        const kind = err instanceof WarmingUpError ? 'warming-up' : (code ?? 'input');
        if (this.#warned !== kind) this.deps.log.warn({ err, series: this.id }, 'no forecast for this candle');
        else this.deps.log.debug({ err, series: this.id }, 'no forecast for this candle');
        this.#warned = kind;
        return this.#skip((err as Error).message);
      }
      throw err;
    }
  }

  /** Whether a bar closes (or its message speaks for a time) after the wall clock plus a little slack: no venue can know it yet. */
  #fromTheFuture(candle: Candle, eventTime?: number): boolean {
    const limit = this.deps.wallNow() + FUTURE_TOLERANCE_MS;
    return barClose(candle.ts, this.series.tf) > limit || (eventTime !== undefined && eventTime > limit);
  }

  #skip(reason: string): undefined {
    this.lastSkipped = reason;
    return undefined;
  }

  /** Forecasts from the newest bar in memory and publishes it on `kokex.forecast.{inst}.{tf}`. */
  async forecast(trigger: ForecastTrigger = {}): Promise<PublishedForecast> {
    const { series, deps } = this;
    const f = series.forecast;
    const candles = this.history.latest(f.lookback);
    const need = Math.min(f.lookback, deps.minHistory);
    if (candles.length < need) throw new WarmingUpError(series.inst, series.tf, candles.length, need);
    const last = candles[candles.length - 1] as Candle;
    // A forecast speaks for the close of the newest bar it saw, whatever asked for it.
    const eventTime = trigger.eventTime ?? barClose(last.ts, series.tf);
    const lease = await deps.models.acquire(series, this.id, this.marketNow());
    try {
      const key: SkillRecordKey = { model: lease.record.name, version: lease.record.version, inst: series.inst, tf: series.tf };
      const record = deps.skill.cached(key) ?? (await deps.skill.load(key, f.skillGate.window));
      const recent = record.entries.slice(-f.skillGate.window);
      const calibration = fitCalibration(recent, f.calibration, f.horizon);
      const steps: number[] = [];
      while (steps.length < f.horizon) steps.push(nextBarOpen(steps[steps.length - 1] ?? last.ts, series.tf));
      const seed = f.seed ?? Math.floor(Math.random() * 2 ** 31);
      const coalesceKey = `${this.id}:${last.ts}:${f.paths}:${f.seed ?? 'any'}`;
      const request = {
        candles,
        futureTs: steps,
        paths: f.paths,
        sampling: { temperature: f.temperature, topK: f.topK, topP: f.topP },
        seed,
      };
      const ran = await deps.batcher.run({ model: lease.model, request, coalesceKey });
      const { forecast, pending } = buildForecast({
        series,
        asOf: last.ts,
        lastClose: last.close,
        closes: candles.map((c) => c.close),
        steps,
        result: ran.paths,
        calibration,
        skill: summarize(record, f.skillGate, overlapLag(f.horizon, f.every)),
        model: { name: lease.record.name, version: lease.record.version },
        executionProvider: lease.model.executionProvider,
        seed: ran.seed,
        computeMs: ran.computeMs,
      });
      const id = trigger.id ?? `forecast:${series.inst}:${series.tf}:${last.ts}:${lease.record.version.slice(0, 12)}`;
      const published: PublishResult<Forecast> = await deps.bus.publish(ForecastContract, this.forecastSubject, forecast, {
        id,
        source: deps.source,
        eventTime,
        ...(trigger.correlationId ? { correlationId: trigger.correlationId } : {}),
        ...(trigger.causationId ? { causationId: trigger.causationId } : {}),
      });
      if (!published.duplicate && !this.#waiting.some((w) => w.pending.asOf === pending.asOf && w.key.version === key.version)) {
        this.#waiting.push({ pending, key });
      }
      this.forecasts++;
      this.lastForecast = { asOf: last.ts, version: key.version, tradeable: forecast.tradeable };
      this.lastSkipped = undefined;
      return { envelope: published.envelope, seq: published.seq, duplicate: published.duplicate, batchSize: ran.batchSize };
    } finally {
      lease.release();
    }
  }

  /** Scores every waiting forecast whose horizon has closed, and records the scores per model version. */
  async scoreCompleted(): Promise<number> {
    const newest = this.history.last?.ts ?? Number.NEGATIVE_INFINITY;
    const done = new Map<string, { key: SkillRecordKey; items: Waiting[]; scored: ScoredForecast[] }>();
    const finished = new Set<Waiting>();
    for (const w of this.#waiting) {
      const closes = this.history.closesAt(w.pending.steps);
      if (closes) {
        const id = `${w.key.model}@${w.key.version}`;
        const group = done.get(id) ?? { key: w.key, items: [], scored: [] };
        group.items.push(w);
        group.scored.push(scoreForecast(w.pending, closes));
        done.set(id, group);
      } else if ((w.pending.steps[w.pending.steps.length - 1] as number) <= newest) {
        finished.add(w); // its horizon passed with a bar missing from the data
      }
    }
    let count = 0;
    for (const { key, items, scored } of done.values()) {
      // Removed only once stored: a failed write leaves them waiting for the next candle.
      await this.deps.skill.add(key, scored, this.series.forecast.skillGate.window, this.marketNow());
      for (const w of items) finished.add(w);
      count += scored.length;
    }
    this.#waiting = this.#waiting.filter((w) => !finished.has(w));
    this.scored += count;
    return count;
  }
}
