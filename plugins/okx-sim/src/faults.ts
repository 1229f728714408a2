import { seededRandom } from '@kokex/core';

/**
 * Fault switches. Probabilities are per push / per request, drawn from a seeded generator so a
 * run with the same seed misbehaves the same way. All can be changed while running.
 */
export interface SimFaults {
  /** Cut every WebSocket every N wall-clock seconds (0 = off). */
  dropEverySec: number;
  /** Cut every WebSocket every N source bars of simulated time (0 = off); deterministic. */
  dropEveryBars: number;
  /** Probability that a push is not sent. */
  skipPushes: number;
  /** Probability that a push is sent twice. */
  duplicatePushes: number;
  /** Probability that a push is held back and sent after the next push of the same stream. */
  reorderPushes: number;
  /** Probability of an extra garbled frame before a push. */
  malformedFrames: number;
  /** Send the 64008 notice every N wall-clock seconds (0 = off). */
  noticeEverySec: number;
  /** Send the 64008 notice every N source bars of simulated time (0 = off). */
  noticeEveryBars: number;
  /** Time between a 64008 notice and the server closing that socket (OKX: 60 s). */
  noticeGraceMs: number;
  /** Probability that a REST request is answered 50011 (HTTP 429) whatever the quota says. */
  rateLimit50011: number;
  /** Delay added before every REST answer (ms). */
  slowResponseMs: number;
  /** Probability that a REST body is cut off mid-JSON. */
  malformedBodies: number;
  /** Apply the push faults to private channels too (default: market data only). */
  privateChannels: boolean;
  /** Leave text pings unanswered (the client should notice the missing pong). */
  dropPongs: boolean;
}

export const DEFAULT_FAULTS: Readonly<SimFaults> = Object.freeze({
  dropEverySec: 0,
  dropEveryBars: 0,
  skipPushes: 0,
  duplicatePushes: 0,
  reorderPushes: 0,
  malformedFrames: 0,
  noticeEverySec: 0,
  noticeEveryBars: 0,
  noticeGraceMs: 60_000,
  rateLimit50011: 0,
  slowResponseMs: 0,
  malformedBodies: 0,
  privateChannels: false,
  dropPongs: false,
});

export class FaultInjector {
  private current: SimFaults;
  private readonly random: () => number;
  private readonly listeners = new Set<(faults: SimFaults) => void>();

  constructor(initial: Partial<SimFaults> = {}, seed = 1) {
    this.current = { ...DEFAULT_FAULTS, ...initial };
    this.random = seededRandom(seed);
  }

  get faults(): Readonly<SimFaults> {
    return this.current;
  }

  set(partial: Partial<SimFaults>): void {
    this.current = { ...this.current, ...partial };
    for (const l of this.listeners) l(this.current);
  }

  onChange(listener: (faults: SimFaults) => void): void {
    this.listeners.add(listener);
  }

  /** True with probability p (never draws when p is 0, so enabling one fault does not shift others' draws... much). */
  roll(p: number): boolean {
    return p > 0 && this.random() < p;
  }

  /** A garbled frame derived from a real one, cycling through the kinds clients must survive. */
  garble(text: string): string {
    const kinds = [
      () => text.slice(0, Math.max(1, Math.floor(text.length / 2))),
      () => 'not json at all',
      () => '{"arg":{"channel":"candle1m"},"data":"oops"}',
      () => '[1,2,3]',
      () => text.replace(/"\d+(\.\d+)?"/, '"NaN?"'),
    ];
    return (kinds[Math.floor(this.random() * kinds.length)] as () => string)();
  }
}

/** `skip=0.05,dup=0.05,drop=30,notice=60,50011=0.1,slow=200,malformed=0.01` → faults. */
export function parseFaultSpec(spec: string): Partial<SimFaults> {
  const alias: Record<string, keyof SimFaults> = {
    drop: 'dropEverySec',
    dropbars: 'dropEveryBars',
    skip: 'skipPushes',
    dup: 'duplicatePushes',
    duplicate: 'duplicatePushes',
    reorder: 'reorderPushes',
    malformed: 'malformedFrames',
    notice: 'noticeEverySec',
    noticebars: 'noticeEveryBars',
    grace: 'noticeGraceMs',
    '50011': 'rateLimit50011',
    ratelimit: 'rateLimit50011',
    slow: 'slowResponseMs',
    badbody: 'malformedBodies',
    private: 'privateChannels',
    nopong: 'dropPongs',
  };
  const out: Record<string, number | boolean> = {};
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [rawKey = '', rawValue = 'true'] = part.split('=');
    const key = alias[rawKey.toLowerCase()] ?? (rawKey in DEFAULT_FAULTS ? (rawKey as keyof SimFaults) : undefined);
    if (!key) throw new Error(`unknown fault "${rawKey}"; known: ${Object.keys(alias).join(', ')}`);
    const boolean = typeof DEFAULT_FAULTS[key] === 'boolean';
    out[key] = boolean ? rawValue !== 'false' && rawValue !== '0' : Number(rawValue);
    if (!boolean && !Number.isFinite(out[key])) throw new Error(`fault "${rawKey}" needs a number, got "${rawValue}"`);
  }
  return out as Partial<SimFaults>;
}
