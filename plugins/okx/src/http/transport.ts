import type { OkxCredentials } from '../common/credentials.js';
import { restTimestamp, signRestRequest } from '../common/sign.js';
import {
  type OkxApiError,
  OkxCredentialsMissingError,
  OkxError,
  OkxMalformedResponseError,
  OkxTimeoutError,
  OkxTransportError,
} from '../errors.js';
import { type OkxEndpointSpec, quotaBucketKey } from './endpoints.js';
import { apiErrorFromEnvelope, readEnvelope } from './errors.js';
import { OkxRateLimiter, type RateLimiterOptions, realClock } from './rate-limiter.js';

export interface OkxRestTransportOptions {
  /** Default `https://www.okx.com`. No trailing slash. */
  baseUrl?: string;
  credentials?: OkxCredentials;
  /** Sends `x-simulated-trading: 1` on every request (demo keys). Default false. */
  demo?: boolean;
  /** Per attempt. Default 10,000 ms. */
  timeoutMs?: number;
  /** Retries of GET requests on retryable failures (rate limit, busy, transport). Default 2. */
  maxRetries?: number;
  /** First retry delay, doubled per attempt. Default 250 ms. */
  retryDelayMs?: number;
  /** `false` turns the client-side limiter off (OKX then answers 50011 when over quota). */
  rateLimit?: false | RateLimiterOptions;
  /** Wall clock for signatures; `offsetMs` is added (see `syncServerTime`). */
  now?: () => number;
}

export interface OkxRequestOptions {
  /** Query parameters (GET) in the order they are sent and signed; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON body (POST). */
  body?: unknown;
  /** Instrument / instType the quota is keyed by. */
  scope?: { instId?: string; instType?: string };
  signal?: AbortSignal;
}

/**
 * Sends one REST request the OKX way: query string built once and signed exactly as sent, body
 * serialised once and signed exactly as sent, rate limited per endpoint bucket, every answer parsed
 * into `{code,msg,data}` or a typed error whatever the HTTP status.
 */
export class OkxRestTransport {
  readonly baseUrl: string;
  readonly demo: boolean;
  readonly limiter: OkxRateLimiter | undefined;
  /** Added to the local clock when signing; set from /public/time by `syncServerTime`. */
  clockOffsetMs = 0;
  private readonly credentials: OkxCredentials | undefined;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly now: () => number;

  constructor(options: OkxRestTransportOptions = {}) {
    this.baseUrl = (options.baseUrl ?? 'https://www.okx.com').replace(/\/+$/, '');
    this.credentials = options.credentials;
    this.demo = options.demo ?? false;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxRetries = options.maxRetries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.limiter = options.rateLimit === false ? undefined : new OkxRateLimiter(options.rateLimit ?? {});
    this.now = options.now ?? Date.now;
  }

  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** Runs the request (with GET retries) and returns the envelope's `data`. */
  async request(spec: OkxEndpointSpec, options: OkxRequestOptions = {}): Promise<unknown[]> {
    const retries = spec.method === 'GET' ? this.maxRetries : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(spec, options);
      } catch (err) {
        if (attempt >= retries || !(err instanceof OkxError) || !err.retryable || options.signal?.aborted) throw err;
        await realClock.sleep(this.retryDelayMs * 2 ** attempt, options.signal);
      }
    }
  }

  private async attempt(spec: OkxEndpointSpec, options: OkxRequestOptions): Promise<unknown[]> {
    if (spec.auth && !this.credentials) throw new OkxCredentialsMissingError(`${spec.method} ${spec.path}`);
    if (this.limiter) await this.limiter.acquire(quotaBucketKey(spec, options.scope ?? {}), spec.quota, options.signal);

    const requestPath = spec.path + queryString(options.query);
    const body = spec.method === 'POST' ? JSON.stringify(options.body ?? {}) : '';
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.demo) headers['x-simulated-trading'] = '1';
    if (spec.auth && this.credentials) {
      const timestamp = restTimestamp(this.now() + this.clockOffsetMs);
      headers['OK-ACCESS-KEY'] = this.credentials.apiKey;
      headers['OK-ACCESS-PASSPHRASE'] = this.credentials.passphrase;
      headers['OK-ACCESS-TIMESTAMP'] = timestamp;
      headers['OK-ACCESS-SIGN'] = signRestRequest(this.credentials.secretKey, {
        timestamp,
        method: spec.method,
        requestPath,
        body,
      });
    }

    const context = { method: spec.method, path: spec.path };
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.baseUrl + requestPath, {
        method: spec.method,
        headers,
        body: spec.method === 'POST' ? body : undefined,
        signal,
      });
      text = await response.text();
    } catch (err) {
      if (timeout.aborted && !options.signal?.aborted) {
        throw new OkxTimeoutError(`${spec.method} ${spec.path} timed out after ${this.timeoutMs} ms`, context);
      }
      if (options.signal?.aborted) throw err;
      throw new OkxTransportError(`${spec.method} ${spec.path} failed: ${(err as Error).message}`, context, err);
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new OkxMalformedResponseError(
        `${spec.method} ${spec.path}: body is not JSON (HTTP ${response.status})`,
        {
          ...context,
          status: response.status,
          body: text.slice(0, 200),
        },
        err,
      );
    }
    const envelope = readEnvelope(json, { ...context, status: response.status, body: text.slice(0, 200) });
    if (envelope.code !== '0') throw apiErrorFromEnvelope(envelope, response.status, spec.path) satisfies OkxApiError;
    return envelope.data;
  }
}

/** `?a=1&b=2` in insertion order, undefined values dropped; "" when nothing is left. */
export function queryString(query: OkxRequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.append(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}
