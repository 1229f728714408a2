import {
  type Bus,
  CandleContract,
  type DecisionBasis,
  type Envelope,
  ForecastContract,
  type Logger,
  type MarketClock,
  MarketClockKind,
  Streams,
  subject,
  subjectFilter,
  timeframeMs,
} from '@kokex/core';
import type { ForecastSnapshot, MarketSnapshot } from './checks.js';

type GetMessageRequest = Parameters<Bus['jsm']['streams']['getMessage']>[1];

/** Forecasts remembered by id, newest last (a few hours of every series at 1m). */
const FORECASTS_KEPT = 512;
/** How far back (stream sequences) the stored forecasts are searched for an id the guard has not heard. */
const FORECAST_LOOKBACK = 20_000;

/**
 * What the guard believes of the market, and why it believes it (issue 12 finding 1).
 *
 * - **Only stored, validated messages.** Candles come from `MD_CANDLES` (the validator is its only
 *   writer) and forecasts from `FORECASTS`, read by stream sequence (`MSG.GET`); a core-NATS
 *   subscription only rings the bell, its payload is never read. So a plain publish that the
 *   stream did not store (a repeated message id, a subject no stream holds, `kokex.md.live.…`
 *   in-progress bars) never reaches a decision. Prices are the closes of those candles.
 * - **No times from the future.** A candle or forecast whose market time (`eventTime`; for a
 *   candle also its close, for a forecast the close of the bar it saw) is more than one bar plus
 *   `futureToleranceMs` ahead of the venue's market clock is not accepted. Live, that clock is the
 *   wall clock, and such a message is ignored for good. In a replay the clock is the data's own
 *   (an event clock), so a jump ahead waits for confirmation (below): the replay may have skipped.
 * - **No price from nowhere.** A close more than `maxPriceMove` (a fraction) away from the last
 *   accepted close of the instrument is held back until the next candle of the same series
 *   confirms it (its close within `maxPriceMove` of the held one, its time not before it); then
 *   both are accepted. One outlier, forged or broken, never becomes the price the guard values and
 *   judges at; a real move costs one bar of delay.
 *
 * Everything refused is counted (`refused`); nothing here throws into a decision. Each accepted
 * candle is shown to the market clocks of the venue's plans, which is how a replay's market time
 * moves (a forecast or an intent never moves it).
 */
interface CandleSeen {
  close: number;
  /** Bar open time (market time). */
  ts: number;
  /** The market time it speaks for: its envelope's `eventTime` (the validator stamps the bar close). */
  at: number;
  tf: string;
  inst: string;
  venue: string;
}

export interface SeriesKey {
  venue: string;
  inst: string;
  tf: string;
}

export interface MarketViewOptions {
  /** Market clocks of the plans that trade on a venue (empty for a venue no plan trades). */
  clocksOf: (venue: string) => MarketClock[];
  /** Slack beyond one bar for a market time ahead of the clock (ms). */
  futureToleranceMs: number;
  /** Largest move of a close against the last accepted close of the instrument, as a fraction. */
  maxPriceMove: number;
}

/** Why a candle or forecast was not believed, by reason: the guard's status shows them. */
export interface MarketRefusals {
  undecodable: number;
  futureCandles: number;
  futureForecasts: number;
  /** Candles held back for a price or time jump (confirmed later or never). */
  heldBack: number;
  /** Held-back candles that the next candle confirmed. */
  confirmed: number;
  /** Held-back candles that the venue's own ticker confirmed. */
  confirmedByVenue: number;
}

/**
 * Reads one stream from a sequence on, by subject filter, one stored message at a time. Calls
 * while a read runs share one follow-up read.
 */
class StreamTail {
  #next = 1;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly stream: string,
    private readonly filter: string,
    private readonly onMessage: (data: Uint8Array) => void,
  ) {}

  /** Starts after everything stored now (what is stored was read with `bus.last`). */
  async startAtEnd(): Promise<void> {
    const info = await this.bus.jsm.streams.info(this.stream).catch(() => undefined);
    this.#next = (info?.state.last_seq ?? 0) + 1;
  }

  catchUp(): Promise<void> {
    if (this.#queued) return this.#queued;
    const after = (this.#running ?? Promise.resolve()).catch(() => undefined);
    const next = after.then(() => {
      this.#queued = undefined;
      const run = this.#read().finally(() => {
        if (this.#running === run) this.#running = undefined;
      });
      this.#running = run;
      return run;
    });
    this.#queued = next;
    return next;
  }

  async #read(): Promise<void> {
    for (;;) {
      const request = { next_by_subj: this.filter, seq: this.#next } as unknown as GetMessageRequest;
      const msg = await this.bus.jsm.streams.getMessage(this.stream, request);
      if (!msg) return;
      this.#next = msg.seq + 1;
      this.onMessage(msg.data);
    }
  }
}

export class MarketView {
  readonly #candles = new Map<string, CandleSeen>();
  /** A candle of the series held back for a jump, waiting for the next one to confirm it. */
  readonly #held = new Map<string, CandleSeen>();
  readonly #prices = new Map<string, CandleSeen>();
  readonly #forecasts = new Map<string, Required<Pick<ForecastSnapshot, 'asOf'>> & ForecastSnapshot>();
  readonly #byId = new Map<string, ForecastSnapshot & { asOf: number; inst: string; tf: string }>();
  readonly #subs: Array<{ unsubscribe(): void }> = [];
  readonly #tails = new Map<string, StreamTail>();
  readonly #forecastTail: StreamTail;
  readonly refused: MarketRefusals = {
    undecodable: 0,
    futureCandles: 0,
    futureForecasts: 0,
    heldBack: 0,
    confirmed: 0,
    confirmedByVenue: 0,
  };

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly options: MarketViewOptions,
  ) {
    this.#forecastTail = new StreamTail(bus, Streams.forecasts, subjectFilter('forecast'), (data) => this.#remember(data));
  }

  /** Messages that did not decode (a producer of another schema version): counted, never thrown. */
  get undecodable(): number {
    return this.refused.undecodable;
  }

  /**
   * Core-NATS bells: a stored candle or forecast may be waiting (its payload is not read). A bell
   * marks the stream unread; `catchUp` reads only what a bell marked, so a decision costs no
   * request when nothing new was published. The bell of a message stored before an intent arrives
   * on the same connection before the intent's delivery, so the decision still sees it.
   */
  start(): void {
    const bell = (filter: string, which: 'candles' | 'forecasts') =>
      this.#subs.push(
        this.bus.nc.subscribe(filter, {
          callback: (err) => {
            if (err) return;
            this.#unread[which] = true;
            void this.#read(which).catch((e: unknown) =>
              this.log.warn({ err: e }, 'risk guard: reading market data failed; the next bell retries'),
            );
          },
        }),
      );
    bell(subjectFilter('candle'), 'candles');
    bell(subjectFilter('forecast'), 'forecasts');
  }

  /** Streams a bell marked since they were last read (both until the first read). */
  readonly #unread = { candles: true, forecasts: true };

  /** The read in progress per stream: a caller with nothing new to read still waits for it. */
  readonly #reading: Record<'candles' | 'forecasts', Promise<void> | undefined> = { candles: undefined, forecasts: undefined };

  #read(which: 'candles' | 'forecasts'): Promise<void> {
    if (!this.#unread[which]) return this.#reading[which] ?? Promise.resolve();
    this.#unread[which] = false;
    const read = (which === 'candles' ? this.#catchUpCandles() : this.#forecastTail.catchUp()).catch((err: unknown) => {
      this.#unread[which] = true;
      throw err;
    });
    const done = read.finally(() => {
      if (this.#reading[which] === done) this.#reading[which] = undefined;
    });
    this.#reading[which] = done;
    return done;
  }

  /**
   * Reads the newest stored candle and forecast of each series (nothing stored is not an error),
   * and starts reading both streams after what is stored now.
   */
  async load(series: SeriesKey[]): Promise<void> {
    for (const venue of new Set(series.map((s) => s.venue))) {
      if (this.#tails.has(venue)) continue;
      const tail = new StreamTail(this.bus, Streams.candles, subjectFilter('candle', { venue }), (data) => this.#onCandle(data));
      await tail.startAtEnd();
      this.#tails.set(venue, tail);
    }
    if (series.length && !this.#forecastStarted) {
      this.#forecastStarted = true;
      await this.#forecastTail.startAtEnd();
    }
    for (const key of series) {
      const candle = (await this.bus.last(subject('candle', key), Streams.candles))?.data;
      if (candle) this.#onCandle(candle);
      const forecast = (await this.bus.last(subject('forecast', { inst: key.inst, tf: key.tf }), Streams.forecasts))?.data;
      if (forecast) this.#remember(forecast);
    }
  }

  #forecastStarted = false;

  /** Reads the candles and forecasts stored since the last read that a bell announced: a decision sees all that came before it. */
  async catchUp(): Promise<void> {
    await Promise.all([this.#read('candles'), this.#read('forecasts')]);
  }

  async #catchUpCandles(): Promise<void> {
    await Promise.all([...this.#tails.values()].map((t) => t.catchUp()));
  }

  stop(): void {
    for (const s of this.#subs.splice(0)) s.unsubscribe();
  }

  /** Whether a candle of the instrument is held back for a price jump (a venue ticker may confirm it). */
  holdsPrice(venue: string, inst: string): boolean {
    for (const c of this.#held.values())
      if (c.venue === venue && c.inst === inst && !this.#ahead(venue, c.at, timeframeMs(c.tf))) return true;
    return false;
  }

  /**
   * The venue's own last price (its ticker, through the exchange adapter) for an instrument with a
   * held-back candle: each held candle whose close is within `maxPriceMove` of it, and whose time
   * is not ahead of the clock, is accepted. A forged close far from what the venue quotes stays held.
   */
  confirmWithVenue(venue: string, inst: string, last: number): boolean {
    let confirmed = false;
    for (const [key, c] of [...this.#held]) {
      if (c.venue !== venue || c.inst !== inst || this.#ahead(venue, c.at, timeframeMs(c.tf))) continue;
      if (last <= 0 || Math.abs(c.close - last) / last > this.options.maxPriceMove) continue;
      this.#held.delete(key);
      this.#accept(key, c);
      this.refused.confirmedByVenue++;
      confirmed = true;
    }
    return confirmed;
  }

  price(venue: string, inst: string): number | undefined {
    return this.#prices.get(`${venue}|${inst}`)?.close;
  }

  /**
   * The venue's market time now: the wall clock when any of its plans trades live, else the newest
   * accepted candle time (undefined before the first).
   */
  now(venue: string): number | undefined {
    let newest: number | undefined;
    for (const clock of this.options.clocksOf(venue)) {
      const t = clock.now();
      if (clock.kind === MarketClockKind.wall) return t;
      if (t !== undefined && (newest === undefined || t > newest)) newest = t;
    }
    return newest;
  }

  /**
   * The last price and how many bars old the series' last closed candle is at market time `at`
   * (its close counts: a candle is fresh until a bar after it should have closed).
   */
  snapshot(key: SeriesKey, at: number): MarketSnapshot | undefined {
    const candle = this.#candles.get(`${key.venue}|${key.inst}|${key.tf}`);
    const last = this.price(key.venue, key.inst);
    if (!candle || last === undefined) return undefined;
    const barMs = timeframeMs(key.tf);
    return { last, ageBars: Math.max(0, (at - candle.at) / barMs) };
  }

  forecast(inst: string, tf: string, venue?: string): ForecastSnapshot | undefined {
    const f = this.#forecasts.get(`${inst}|${tf}`);
    return f && this.#behind(f, venue);
  }

  /**
   * The forecast an intent's basis names, by envelope id: heard since start, else found among the
   * last stored forecasts of the series the basis names. Undefined when it is in neither.
   */
  async named(basis: Extract<DecisionBasis, { kind: 'forecast' }>, venue: string): Promise<ForecastSnapshot | undefined> {
    let f = this.#byId.get(basis.id);
    if (!f) {
      await this.#search(basis.inst, basis.tf, basis.id);
      f = this.#byId.get(basis.id);
    }
    return f && this.#behind(f, venue);
  }

  /** The snapshot with how many bars its bar is behind the last closed candle of its series. */
  #behind(f: ForecastSnapshot & { asOf: number }, venue: string | undefined): ForecastSnapshot {
    const candle = venue && f.inst && f.tf ? this.#candles.get(`${venue}|${f.inst}|${f.tf}`) : undefined;
    if (!candle || !f.tf) return { ...f };
    return { ...f, barsBehind: Math.max(0, (candle.ts - f.asOf) / timeframeMs(f.tf)) };
  }

  /**
   * Looks through the series' stored forecasts, newest window first (MSG.GET only: there is no
   * "previous by subject", so it reads forward from a window before the last one and widens it),
   * remembering each by id, until the id turns up or FORECAST_LOOKBACK sequences were covered.
   */
  async #search(inst: string, tf: string, id: string): Promise<void> {
    const subj = subject('forecast', { inst, tf });
    const last = await this.bus.last(subj, Streams.forecasts);
    if (!last) return;
    this.#remember(last.data);
    let to = last.seq;
    for (let window = 64; to > 1 && !this.#byId.has(id) && last.seq - to < FORECAST_LOOKBACK; window *= 4) {
      const from = Math.max(1, to - window);
      for (let seq = from; seq < to; ) {
        const request = { next_by_subj: subj, seq } as unknown as GetMessageRequest;
        const msg = await this.bus.jsm.streams.getMessage(Streams.forecasts, request).catch(() => null);
        if (!msg || msg.seq >= to) break;
        this.#remember(msg.data);
        seq = msg.seq + 1;
      }
      to = from;
    }
  }

  #remember(data: Uint8Array): void {
    let env: Envelope<ReturnType<typeof ForecastContract.schema.parse>>;
    try {
      env = ForecastContract.decode(data);
    } catch {
      this.refused.undecodable++;
      return;
    }
    this.#onForecast(env);
  }

  /** Whether market time `t` of something on `venue` with bars of `barMs` is too far ahead of the venue's clock. */
  #ahead(venue: string, t: number, barMs: number): boolean {
    const now = this.now(venue);
    return now !== undefined && t > now + barMs + this.options.futureToleranceMs;
  }

  #isWall(venue: string): boolean {
    return this.options.clocksOf(venue).some((c) => c.kind === MarketClockKind.wall);
  }

  #onCandle(data: Uint8Array): void {
    let env: Envelope<ReturnType<typeof CandleContract.schema.parse>>;
    try {
      env = CandleContract.decode(data);
    } catch {
      this.refused.undecodable++;
      return;
    }
    const c = env.data;
    if (!c.confirmed) return;
    const barMs = timeframeMs(c.tf);
    const seen: CandleSeen = { close: c.close, ts: c.ts, at: env.eventTime, tf: c.tf, inst: c.inst, venue: c.venue };
    const key = `${c.venue}|${c.inst}|${c.tf}`;
    // Live, the wall clock is the truth about "now": a bar that has not closed yet, or a message
    // that says it speaks for a later time, is false, whatever follows it.
    if (this.#isWall(c.venue) && (this.#ahead(c.venue, seen.at, barMs) || this.#ahead(c.venue, c.ts + barMs, barMs))) {
      this.refused.futureCandles++;
      return;
    }
    const held = this.#held.get(key);
    if (!this.#jumps(seen, this.#prices.get(`${c.venue}|${c.inst}`), barMs)) {
      this.#held.delete(key);
      this.#accept(key, seen);
      return;
    }
    // A jump: believed only when the next candle of the series continues from it.
    if (held && seen.at >= held.at && !this.#jumps(seen, held, barMs, held.at)) {
      this.#held.delete(key);
      this.refused.confirmed++;
      this.#accept(key, held);
      this.#accept(key, seen);
      return;
    }
    if (this.#ahead(c.venue, seen.at, barMs)) this.refused.futureCandles++;
    this.refused.heldBack++;
    this.#held.set(key, seen);
  }

  /**
   * Whether a candle jumps from what was believed: in price against `prior` (the instrument's last
   * accepted close), or in time against the venue's clock (or `from`, the held candle's time).
   */
  #jumps(c: CandleSeen, prior: CandleSeen | undefined, barMs: number, from?: number): boolean {
    const tooFar = from === undefined ? this.#ahead(c.venue, c.at, barMs) : c.at > from + barMs + this.options.futureToleranceMs;
    if (tooFar) return true;
    if (!prior || prior.close <= 0) return false;
    return Math.abs(c.close - prior.close) / prior.close > this.options.maxPriceMove;
  }

  #accept(key: string, c: CandleSeen): void {
    const priceKey = `${c.venue}|${c.inst}`;
    const price = this.#prices.get(priceKey);
    // The newest market time wins (then the later bar): a bar time alone can never pin the price.
    if (!price || c.at > price.at || (c.at === price.at && c.ts >= price.ts)) this.#prices.set(priceKey, c);
    const known = this.#candles.get(key);
    if (!known || c.at > known.at || (c.at === known.at && c.ts >= known.ts)) this.#candles.set(key, c);
    for (const clock of this.options.clocksOf(c.venue)) clock.observe(c.at);
  }

  #onForecast(env: Envelope<ReturnType<typeof ForecastContract.schema.parse>>): void {
    const f = env.data;
    const barMs = timeframeMs(f.tf);
    if (this.#ahead(f.venue, env.eventTime, barMs) || this.#ahead(f.venue, f.asOf + barMs, barMs)) {
      this.refused.futureForecasts++;
      return;
    }
    const seen = {
      id: env.id,
      inst: f.inst,
      tf: f.tf,
      asOf: f.asOf,
      lastClose: f.lastClose,
      tradeable: f.tradeable,
      reason: f.skill.reason,
    };
    const key = `${f.inst}|${f.tf}`;
    const known = this.#forecasts.get(key);
    if (!known || f.asOf >= known.asOf) this.#forecasts.set(key, seen);
    this.#byId.delete(env.id);
    this.#byId.set(env.id, seen);
    if (this.#byId.size > FORECASTS_KEPT) this.#byId.delete(this.#byId.keys().next().value as string);
  }
}
