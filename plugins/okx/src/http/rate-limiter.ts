import type { OkxQuota } from './endpoints.js';

export interface RateLimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: RateLimiterClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RateLimiterOptions {
  /**
   * Fraction of OKX's quota to use (default 0.9). A bucket of exactly OKX's size is only safe when
   * the server sees requests at the moments we send them; network jitter can bunch them up.
   */
  safetyFactor?: number;
  clock?: RateLimiterClock;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  capacity: number;
  refillPerMs: number;
}

/**
 * Token buckets, one per key (endpoint, or endpoint + instrument where OKX keys by instrument).
 * A quota of N per W ms is a bucket of capacity N refilled at N/W per ms. Taking a token may drive
 * the balance negative: that is a reservation, and the caller sleeps until it is covered, so
 * waiters are served in call order without a queue.
 */
export class OkxRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly safetyFactor: number;
  private readonly clock: RateLimiterClock;

  constructor(options: RateLimiterOptions = {}) {
    this.safetyFactor = options.safetyFactor ?? 0.9;
    this.clock = options.clock ?? realClock;
  }

  /** Takes one token and returns how long (ms) the caller must wait before sending. */
  reserve(key: string, quota: OkxQuota): number {
    const now = this.clock.now();
    const bucket = this.bucketFor(key, quota, now);
    bucket.tokens = Math.min(bucket.capacity, bucket.tokens + (now - bucket.updatedAt) * bucket.refillPerMs);
    bucket.updatedAt = now;
    bucket.tokens -= 1;
    return bucket.tokens >= 0 ? 0 : Math.ceil(-bucket.tokens / bucket.refillPerMs);
  }

  /** Waits for a token. */
  async acquire(key: string, quota: OkxQuota, signal?: AbortSignal): Promise<void> {
    const wait = this.reserve(key, quota);
    if (wait > 0) await this.clock.sleep(wait, signal);
  }

  /** Tokens left now (may be negative while callers wait), for diagnostics and tests. */
  available(key: string): number | undefined {
    const bucket = this.buckets.get(key);
    if (!bucket) return undefined;
    const now = this.clock.now();
    return Math.min(bucket.capacity, bucket.tokens + (now - bucket.updatedAt) * bucket.refillPerMs);
  }

  private bucketFor(key: string, quota: OkxQuota, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const capacity = Math.max(1, Math.floor(quota.limit * this.safetyFactor));
      bucket = { tokens: capacity, updatedAt: now, capacity, refillPerMs: capacity / quota.windowMs };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
