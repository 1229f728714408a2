import {
  type Bus,
  CandleContract,
  type DecisionBasis,
  ForecastContract,
  type Logger,
  Streams,
  subject,
  subjectFilter,
  timeframeMs,
  type VenueMode,
} from '@kokex/core';
import type { ForecastSnapshot, MarketSnapshot } from './checks.js';

type GetMessageRequest = Parameters<Bus['jsm']['streams']['getMessage']>[1];

/** Forecasts remembered by id, newest last (a few hours of every series at 1m). */
const FORECASTS_KEPT = 512;
/** How far back (stream sequences) the stored forecasts are searched for an id the guard has not heard. */
const FORECAST_LOOKBACK = 20_000;

/**
 * What the guard knows of the market: the last closed candle per series (MD_CANDLES), the last
 * price per instrument (closed candles and the feed's live updates), the latest forecast per
 * instrument and timeframe and the recent forecasts by id (FORECASTS). The newest stored message
 * of each series is read at start (`bus.last`); after that core-NATS subscriptions keep it current
 * (JetStream delivers stored subjects to plain subscribers too). A forecast an intent names that the
 * guard has not heard (it started after it) is looked up among the series' stored forecasts.
 */
interface CandleSeen {
  close: number;
  /** Bar open time (venue time). */
  ts: number;
  /** When the producer published it (wall clock). */
  at: number;
}

export interface SeriesKey {
  venue: string;
  inst: string;
  tf: string;
}

export class MarketView {
  readonly #candles = new Map<string, CandleSeen>();
  readonly #prices = new Map<string, { price: number; at: number }>();
  readonly #forecasts = new Map<string, Required<Pick<ForecastSnapshot, 'asOf'>> & ForecastSnapshot>();
  readonly #byId = new Map<string, ForecastSnapshot & { asOf: number; inst: string; tf: string }>();
  readonly #subs: Array<{ unsubscribe(): void }> = [];
  /** Messages that did not decode (a producer of another schema version): counted, never thrown. */
  undecodable = 0;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  start(): void {
    const on = (filter: string, handle: (data: Uint8Array) => void) =>
      this.#subs.push(
        this.bus.nc.subscribe(filter, {
          callback: (err, msg) => {
            if (err) return;
            try {
              handle(msg.data);
            } catch {
              this.undecodable++;
            }
          },
        }),
      );
    on(subjectFilter('candle'), (data) => this.#onCandle(data, true));
    on(subjectFilter('live'), (data) => this.#onCandle(data, false));
    on(subjectFilter('forecast'), (data) => this.#onForecast(data));
  }

  /** Reads the newest stored candle and forecast of each series (nothing stored is not an error). */
  async load(series: SeriesKey[]): Promise<void> {
    for (const key of series) {
      const candle = (await this.bus.last(subject('candle', key), Streams.candles))?.data;
      if (candle) this.#onCandle(candle, true);
      const forecast = (await this.bus.last(subject('forecast', { inst: key.inst, tf: key.tf }), Streams.forecasts))?.data;
      if (forecast) {
        try {
          this.#onForecast(forecast);
        } catch (err) {
          this.undecodable++;
          this.log.warn({ err, inst: key.inst, tf: key.tf }, 'stored forecast does not decode; waiting for the next');
        }
      }
    }
  }

  stop(): void {
    for (const s of this.#subs.splice(0)) s.unsubscribe();
  }

  price(venue: string, inst: string): number | undefined {
    return this.#prices.get(`${venue}|${inst}`)?.price;
  }

  /**
   * The last price and how many bars old the last closed candle is. On the simulator the age is
   * counted in replayed bars since it was published (venue time there is years behind the wall
   * clock); elsewhere from the bar's close to now.
   */
  snapshot(key: SeriesKey, now: number, mode: VenueMode, speed: number): MarketSnapshot | undefined {
    const candle = this.#candles.get(`${key.venue}|${key.inst}|${key.tf}`);
    const last = this.price(key.venue, key.inst);
    if (!candle || last === undefined) return undefined;
    const barMs = timeframeMs(key.tf);
    const ageMs = mode === 'sim' ? (now - candle.at) * speed : now - (candle.ts + barMs);
    return { last, ageBars: Math.max(0, ageMs / barMs) };
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
    try {
      this.#onForecast(data);
    } catch {
      this.undecodable++;
    }
  }

  #onCandle(data: Uint8Array, closed: boolean): void {
    const env = CandleContract.decode(data);
    const c = env.data;
    const priceKey = `${c.venue}|${c.inst}`;
    const seen = this.#prices.get(priceKey);
    if (!seen || env.time >= seen.at) this.#prices.set(priceKey, { price: c.close, at: env.time });
    if (!closed || !c.confirmed) return;
    const key = `${c.venue}|${c.inst}|${c.tf}`;
    const known = this.#candles.get(key);
    if (!known || c.ts >= known.ts) this.#candles.set(key, { close: c.close, ts: c.ts, at: env.time });
  }

  #onForecast(data: Uint8Array): void {
    const env = ForecastContract.decode(data);
    const f = env.data;
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
