/** How OKX keys a quota (reference §7). */
export type QuotaKey = 'ip' | 'ip+instType' | 'user' | 'user+instId';

export interface SimQuota {
  limit: number;
  windowMs: number;
  keyBy: QuotaKey;
}

/**
 * OKX states quotas as "N requests per W seconds"; the simulator enforces them as a token bucket
 * of N refilled at N/W [inferred: OKX does not document its algorithm].
 */
export class QuotaBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number) {}

  /** Takes a token; false when the bucket is empty (answer 50011). */
  take(key: string, quota: SimQuota): boolean {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: quota.limit, at: now };
    b.tokens = Math.min(quota.limit, b.tokens + ((now - b.at) * quota.limit) / quota.windowMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
