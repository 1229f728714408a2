import { type Bus, CandleContract, ForecastContract, type Logger, Streams, subject, timeframeMs, type VenueMode } from '@kokex/core';
import type { ForecastSnapshot, MarketSnapshot } from './checks.js';

/**
 * What the guard knows of the market: the last closed candle per series (MD_CANDLES), the last
 * price per instrument (closed candles and the feed's live updates), and the latest forecast per
 * instrument and timeframe (FORECASTS). The newest stored message of each series is read at start;
 * after that core-NATS subscriptions keep it current (JetStream delivers stored subjects to plain
 * subscribers too).
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
  readonly #forecasts = new Map<string, ForecastSnapshot & { asOf: number }>();
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
    on('kokex.md.candle.>', (data) => this.#onCandle(data, true));
    on('kokex.md.live.>', (data) => this.#onCandle(data, false));
    on('kokex.forecast.>', (data) => this.#onForecast(data));
  }

  /** Reads the newest stored candle and forecast of each series (nothing stored is not an error). */
  async load(series: SeriesKey[]): Promise<void> {
    for (const key of series) {
      const candle = await this.#last(Streams.candles, subject('candle', key));
      if (candle) this.#onCandle(candle, true);
      const forecast = await this.#last(Streams.forecasts, subject('forecast', { inst: key.inst, tf: key.tf }));
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

  forecast(inst: string, tf: string): ForecastSnapshot | undefined {
    return this.#forecasts.get(`${inst}|${tf}`);
  }

  async #last(stream: string, subj: string): Promise<Uint8Array | undefined> {
    const msg = await this.bus.jsm.streams.getMessage(stream, { last_by_subj: subj }).catch(() => null);
    return msg?.data;
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
    const f = ForecastContract.decode(data).data;
    const key = `${f.inst}|${f.tf}`;
    const known = this.#forecasts.get(key);
    if (!known || f.asOf >= known.asOf) this.#forecasts.set(key, { tradeable: f.tradeable, reason: f.skill.reason, asOf: f.asOf });
  }
}
