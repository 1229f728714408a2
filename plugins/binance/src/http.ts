import { type Clock, systemClock } from '@kokex/core';
import type { BinanceCredentials } from './config.js';
import {
  BinanceApiError,
  BinanceCredentialsMissingError,
  BinanceMalformedError,
  BinanceTimeoutError,
  BinanceTransportError,
} from './errors.js';
import { encodeParams, signPayload } from './sign.js';

export type BinanceSecurity = 'NONE' | 'KEY' | 'SIGNED';
type Params = Record<string, string | number | boolean | undefined>;

export interface BinanceRestOptions {
  baseUrl: string;
  credentials?: BinanceCredentials;
  recvWindow?: number;
  timeoutMs?: number;
  maxRetries?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  weightPerMinute?: number;
  /** Wall time: signatures, weights, back-off. Default the system clock. */
  clock?: Clock;
}

export interface BinanceRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  params?: Params;
  security: BinanceSecurity;
  /** IP weight (REQUEST_WEIGHT) of the request, for the client's own budget. Default 1. */
  weight?: number;
  /**
   * Whether a failure whose outcome is unknown (a timeout, a reset, 5xx, -1007) may be retried:
   * true for reads and cancels; false for placing or amending (the caller resolves those by
   * asking for the order). Requests refused before they ran (429, 418, -1021) are always retried.
   */
  idempotent: boolean;
}

/**
 * Binance's REST API: parameters and signature in the query string (as the official SDK sends
 * them, POST included), HMAC-SHA256 over exactly those bytes, the server-time offset learned from
 * /fapi/v1/time on -1021, the weight budget from `X-MBX-USED-WEIGHT-1M`, and one back-off shared
 * by every request after a 429 or 418 (Retry-After when sent, else the next minute).
 */
export class BinanceRestClient {
  readonly #o: Required<Omit<BinanceRestOptions, 'credentials'>> & { credentials?: BinanceCredentials };
  #offsetMs = 0;
  #pausedUntil = 0;
  #usedWeight = 0;
  #weightMinute = -1;
  readonly stats = { requests: 0, retries: 0, rateLimited: 0, timeResyncs: 0 };

  constructor(options: BinanceRestOptions) {
    this.#o = {
      recvWindow: 5000,
      timeoutMs: 10_000,
      maxRetries: 3,
      retryDelayMs: 250,
      maxRetryDelayMs: 60_000,
      weightPerMinute: 2400,
      clock: systemClock,
      ...options,
    };
  }

  get hasCredentials(): boolean {
    return this.#o.credentials !== undefined;
  }

  /** Local clock minus the server's, as last measured (ms). */
  get timeOffsetMs(): number {
    return this.#offsetMs;
  }

  get usedWeight(): number {
    return this.#usedWeight;
  }

  set weightPerMinute(limit: number) {
    this.#o.weightPerMinute = limit;
  }

  async request<T>(req: BinanceRequest): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once<T>(req);
      } catch (err) {
        const refused =
          err instanceof BinanceApiError &&
          (err.rateLimited ||
            err.binanceCode === -1021 ||
            err.binanceCode === -1003 ||
            err.binanceCode === -1015 ||
            err.binanceCode === -1008);
        const retry = err instanceof Error && (err as { retryable?: boolean }).retryable === true && (refused || req.idempotent);
        if (!retry || attempt >= this.#o.maxRetries) throw err;
        this.stats.retries++;
        if (err instanceof BinanceApiError && err.binanceCode === -1021) await this.syncTime();
        else if (!(err instanceof BinanceApiError && err.rateLimited))
          await this.#sleep(Math.min(this.#o.retryDelayMs * 2 ** attempt, this.#o.maxRetryDelayMs));
      }
    }
  }

  /** Measures the server clock: offset = serverTime − the middle of the round trip. */
  async syncTime(): Promise<number> {
    this.stats.timeResyncs++;
    const t0 = this.#o.clock.now();
    const { serverTime } = await this.#once<{ serverTime: number }>({
      method: 'GET',
      path: '/fapi/v1/time',
      security: 'NONE',
      idempotent: true,
    });
    const t1 = this.#o.clock.now();
    this.#offsetMs = serverTime - Math.round((t0 + t1) / 2);
    return this.#offsetMs;
  }

  async #once<T>(req: BinanceRequest): Promise<T> {
    await this.#budget(req.weight ?? 1);
    const headers: Record<string, string> = {};
    let query = encodeParams(req.params ?? {});
    if (req.security !== 'NONE') {
      const creds = this.#o.credentials;
      if (!creds) throw new BinanceCredentialsMissingError();
      headers['X-MBX-APIKEY'] = creds.apiKey;
      if (req.security === 'SIGNED') {
        const ts = this.#o.clock.now() + this.#offsetMs;
        query = [query, `recvWindow=${this.#o.recvWindow}`, `timestamp=${ts}`].filter(Boolean).join('&');
        query += `&signature=${signPayload(creds.secretKey, query)}`;
      }
    }
    const url = `${this.#o.baseUrl}${req.path}${query ? `?${query}` : ''}`;
    this.stats.requests++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#o.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method: req.method, headers, signal: controller.signal });
      text = await res.text();
    } catch (err) {
      if (controller.signal.aborted) throw new BinanceTimeoutError(req.path, this.#o.timeoutMs);
      throw new BinanceTransportError(req.path, err);
    } finally {
      clearTimeout(timer);
    }
    const used = Number(res.headers.get('x-mbx-used-weight-1m'));
    if (Number.isFinite(used) && res.headers.has('x-mbx-used-weight-1m')) {
      this.#usedWeight = used;
      this.#weightMinute = Math.floor(this.#o.clock.now() / 60_000);
    }
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      if (res.ok) throw new BinanceMalformedError('REST body', `${req.path}: ${text.slice(0, 80)}`);
      body = { code: res.status >= 500 ? -1000 : -1, msg: text.slice(0, 200) };
    }
    if (!res.ok || (isErrorBody(body) && body.code < 0)) {
      const e = isErrorBody(body) ? body : { code: -1000, msg: `HTTP ${res.status}` };
      const retryAfter = Number(res.headers.get('retry-after'));
      const err = new BinanceApiError({
        code: e.code,
        msg: e.msg,
        httpStatus: res.status,
        path: req.path,
        ...(Number.isFinite(retryAfter) && res.headers.has('retry-after') ? { retryAfterSec: retryAfter } : {}),
      });
      if (err.rateLimited) this.#backOff(err);
      throw err;
    }
    return body as T;
  }

  /** After a 429/418: every request waits until Retry-After has passed (else the next minute). */
  #backOff(err: BinanceApiError): void {
    this.stats.rateLimited++;
    const now = this.#o.clock.now();
    const wait = err.retryAfterSec !== undefined ? err.retryAfterSec * 1000 : 60_000 - (now % 60_000);
    this.#pausedUntil = Math.max(this.#pausedUntil, now + Math.min(wait, this.#o.maxRetryDelayMs));
  }

  /** Waits out a back-off, and keeps the minute's weight under the limit (the venue counts per IP). */
  async #budget(weight: number): Promise<void> {
    const now = this.#o.clock.now();
    if (this.#pausedUntil > now) await this.#sleep(this.#pausedUntil - now);
    const minute = Math.floor(this.#o.clock.now() / 60_000);
    if (minute !== this.#weightMinute) {
      this.#weightMinute = minute;
      this.#usedWeight = 0;
    }
    if (this.#usedWeight + weight > this.#o.weightPerMinute) {
      await this.#sleep((minute + 1) * 60_000 - this.#o.clock.now());
      this.#usedWeight = 0;
    }
    this.#usedWeight += weight;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#o.clock.setTimeout(resolve, Math.max(0, ms)));
  }
}

function isErrorBody(body: unknown): body is { code: number; msg: string } {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { code?: unknown }).code === 'number' &&
    typeof (body as { msg?: unknown }).msg === 'string'
  );
}
