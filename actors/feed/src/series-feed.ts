import {
  barOpen,
  type Bus,
  type Candle,
  CandleContract,
  type Clock,
  type Logger,
  lastCandleMessage,
  type MarketDataAdapter,
  nextBarOpen,
  publishRawCandles,
  seriesId,
  subject,
} from '@kokex/core';
import { type Actor, createActor, fromPromise } from 'xstate';
import type { FeedSeries } from './config.js';
import { seriesFeedMachine } from './machine.js';

/** What every series of one feed shares. */
export interface FeedEnv {
  bus: Bus;
  log: Logger;
  clock: Clock;
  /** Envelope `source`: the feed instance. */
  source: string;
  retryMs: number;
  firstPushWaitMs: number;
  /** Counts an error by code (and logs the first of each code). */
  noteError(err: unknown, context: Record<string, unknown>): void;
}

export interface CatchUpRecord {
  /** First bar asked for (venue time); undefined when the adapter chose. */
  from: number | undefined;
  bars: number;
  ms: number;
  at: number;
}

const max = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

/**
 * One series (venue, instrument, timeframe): live pushes in, closed bars to `kokex.md.raw.…`
 * (MD_RAW, the validator's inbox: the validator checks each and publishes the good ones to
 * MD_CANDLES), in-progress bars to `kokex.md.live.…`. The feed checks nothing beyond what the
 * adapter's parser needs to build a `Candle`: judging bars is the validator's one job. Its notion
 * of now is the venue's: the newest bar open the venue has pushed, never the local clock, so a
 * replay of 2016 behaves as 2016. Its states (subscribing, failed, catching up, retrying, live)
 * are `seriesFeedMachine`'s: until it is live, closed pushed bars wait and follow the catch-up, so
 * the inbox receives each series in time order and the catch-up starts where the store ends.
 */
export class SeriesFeed {
  readonly id: string;
  series: FeedSeries;
  /** Set by the venue link once its adapter subscribed. */
  adapter: MarketDataAdapter | undefined;
  /** Told after every catch-up that finished. */
  onCaughtUp: ((feed: SeriesFeed) => void) | undefined;
  readonly counts = { published: 0, duplicates: 0, live: 0, fetched: 0, publishFailures: 0 };
  lastCatchUp: CatchUpRecord | undefined;
  #lastPublished: number | undefined;
  #venueBar: number | undefined;
  #venueBarWaiters = new Set<() => void>();
  #held = new Map<number, Candle>();
  #inFlight = new Set<Promise<void>>();
  #stopped = false;
  #subscribe: () => Promise<void> = async () => {
    throw new Error('the series is not attached to a venue link yet');
  };
  readonly #machine: Actor<typeof seriesFeedMachine>;

  constructor(
    series: FeedSeries,
    private readonly env: FeedEnv,
  ) {
    this.series = series;
    this.id = seriesId(series);
    const machine = seriesFeedMachine.provide({
      actors: { subscribe: fromPromise(() => this.#subscribe()), fetchMissed: fromPromise(() => this.#fetchMissed()) },
      actions: { releaseHeld: () => this.#releaseHeld() },
    });
    this.#machine = createActor(machine, { input: { retryMs: env.retryMs }, clock: env.clock });
  }

  /**
   * Starts the series on its venue link: `subscribe` makes the subscription (and throws when the
   * venue or the registry refuses it: the machine tries again later).
   */
  start(subscribe: () => Promise<void>): void {
    if (this.#stopped) return;
    this.#subscribe = subscribe;
    this.#machine.start();
  }

  /** Newest closed bar this feed published (venue time). */
  get lastPublished(): number | undefined {
    return this.#lastPublished;
  }

  /** The venue's current bar as last pushed. */
  get venueBar(): number | undefined {
    return this.#venueBar;
  }

  /** `subscribing`, `failed`, `catchingUp`, `retrying` or `live`. */
  get state(): string {
    return String(this.#machine.getSnapshot().value);
  }

  /** Why the subscription or the last catch-up failed, while it is failing. */
  get problem(): string | undefined {
    const { lastError } = this.#machine.getSnapshot().context;
    return this.state === 'failed' || this.state === 'retrying' ? ((lastError as Error)?.message ?? String(lastError)) : undefined;
  }

  requestCatchUp(): void {
    if (!this.#stopped && this.adapter) this.#machine.send({ type: 'REQUEST' });
  }

  /** The adapter resubscribed the series after a reconnect: catch up what the outage missed. */
  resubscribed(): void {
    if (!this.#stopped) this.#machine.send({ type: 'RESUBSCRIBED' });
  }

  onCandle(candle: Candle): void {
    if (this.#stopped) return;
    if (this.#venueBar === undefined || candle.ts > this.#venueBar) {
      this.#venueBar = candle.ts;
      for (const wake of this.#venueBarWaiters) wake();
    }
    if (!candle.confirmed) {
      this.#emitLive(candle);
      return;
    }
    // Only a live series publishes at once. Before the catch-up (subscribing, or retrying one that
    // failed) a published bar would move the catch-up's start past the history it has yet to fetch.
    if (this.#machine.getSnapshot().matches('live')) this.#track(this.#publish([candle]));
    else this.#held.set(candle.ts, candle);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#machine.stop();
    for (const wake of this.#venueBarWaiters) wake();
    await Promise.allSettled([...this.#inFlight]);
  }

  status(): Record<string, unknown> {
    const iso = (ts: number | undefined) => (ts === undefined ? undefined : new Date(ts).toISOString());
    return {
      id: this.id,
      lastClosed: iso(this.#lastPublished),
      venueBar: iso(this.#venueBar),
      state: this.state,
      resubscribes: this.#machine.getSnapshot().context.resubscribes,
      ...this.counts,
      lastCatchUp: this.lastCatchUp && { ...this.lastCatchUp, from: iso(this.lastCatchUp.from) },
    };
  }

  #emitLive(candle: Candle): void {
    try {
      this.env.bus.emit(CandleContract, subject('live', candle), candle, { source: this.env.source, time: this.env.clock.now() });
      this.counts.live++;
    } catch (err) {
      this.env.noteError(err, { series: this.id, what: 'live update' });
    }
  }

  /** Publishes closed bars to the raw inbox; a failure is counted and answered with a catch-up, never thrown. */
  async #publish(candles: Candle[]): Promise<void> {
    try {
      const r = await publishRawCandles(this.env.bus, candles, { source: this.env.source, time: this.env.clock.now() });
      this.counts.published += r.stored;
      this.counts.duplicates += r.duplicates;
      for (const c of candles) this.#lastPublished = max(this.#lastPublished, c.ts);
    } catch (err) {
      this.counts.publishFailures++;
      this.env.noteError(err, { series: this.id, what: 'publish' });
      this.requestCatchUp();
    }
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  /** The catch-up's one job: every closed bar from the last one stored to the venue's current bar. */
  async #fetchMissed(): Promise<void> {
    const adapter = this.adapter;
    if (!adapter || this.#stopped) return;
    const started = this.env.clock.now();
    try {
      const from = await this.#catchUpFrom();
      let bars = 0;
      for await (const page of adapter.candleHistory({ inst: this.series.inst, tf: this.series.tf, since: from })) {
        if (this.#stopped) break;
        const closed = page.filter((c) => c.confirmed);
        const r = await publishRawCandles(this.env.bus, closed, { source: this.env.source, time: this.env.clock.now() });
        this.counts.published += r.stored;
        this.counts.duplicates += r.duplicates;
        this.counts.fetched += closed.length;
        bars += closed.length;
        for (const c of closed) this.#lastPublished = max(this.#lastPublished, c.ts);
      }
      this.lastCatchUp = { from, bars, ms: this.env.clock.now() - started, at: this.env.clock.now() };
    } catch (err) {
      this.env.noteError(err, { series: this.id, what: 'catch-up' });
      throw err;
    }
    this.onCaughtUp?.(this);
  }

  /**
   * Where a catch-up starts: after the newest bar known sent or validated (this feed's own
   * publishes, the raw subject's last message, the validated subject's last message), but not
   * before the plan's window measured back from the venue's current bar. With nothing stored and
   * no push yet, undefined: the adapter then starts its default distance back from the venue's own
   * current bar, which is still venue time.
   */
  async #catchUpFrom(): Promise<number | undefined> {
    const { tf, windowMs } = this.series;
    const [raw, validated] = await Promise.all([
      lastCandleMessage(this.env.bus, this.series, 'rawCandle'),
      lastCandleMessage(this.env.bus, this.series, 'candle'),
    ]);
    const known = max(this.#lastPublished, max(raw?.ts, validated?.ts));
    const venueNow = this.#venueBar ?? (await this.#waitForVenueBar());
    const windowStart = venueNow === undefined ? undefined : barOpen(venueNow - windowMs, tf);
    const next = known === undefined ? undefined : nextBarOpen(known, tf);
    return max(next, windowStart);
  }

  #waitForVenueBar(): Promise<number | undefined> {
    return new Promise((resolve) => {
      const done = () => {
        this.env.clock.clearTimeout(timer);
        this.#venueBarWaiters.delete(done);
        resolve(this.#venueBar);
      };
      const timer = this.env.clock.setTimeout(done, this.env.firstPushWaitMs);
      this.#venueBarWaiters.add(done);
    });
  }

  /** The machine's exit from catching up: the live closed bars held meanwhile follow, in time order. */
  #releaseHeld(): void {
    if (this.#held.size === 0 || this.#stopped) return;
    const held = [...this.#held.values()].sort((a, b) => a.ts - b.ts);
    this.#held.clear();
    this.#track(this.#publish(held));
  }
}
