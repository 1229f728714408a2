import { seededRandom } from '@kokex/core';

/**
 * Fault switches, like the OKX simulator's. Probabilities are per push or per request, drawn from
 * a seeded generator; every switch can change while the simulator runs (`setFaults`).
 */
export interface BinanceSimFaults {
  /** Cut every WebSocket every N wall-clock seconds (0 = off). */
  dropEverySec: number;
  /** Probability that a stream push is not sent. */
  skipPushes: number;
  /** Probability that a push is sent twice. */
  duplicatePushes: number;
  /** Probability that a push is held back and sent after the next push of the same stream. */
  reorderPushes: number;
  /** Apply the push faults to the user-data stream too (default: market streams only). */
  privateChannels: boolean;
  /** Probability that a REST request is refused with HTTP 429 / -1003 whatever the weight says. */
  rateLimit429: number;
  /** Probability that a REST request is refused with HTTP 418 (an IP ban) whatever the weight says. */
  ban418: number;
  /** The server's clock runs this far ahead of the wall clock (ms; negative: behind): -1021 for unsynced clients. */
  clockSkewMs: number;
  /** Probability that an order request is executed and then answered -1007 (execution status unknown). */
  unknownStatus: number;
  /** Delay added after a REST request was executed, before it is answered (ms): a late or lost answer. */
  slowResponseMs: number;
}

export const DEFAULT_BINANCE_SIM_FAULTS: Readonly<BinanceSimFaults> = Object.freeze({
  dropEverySec: 0,
  skipPushes: 0,
  duplicatePushes: 0,
  reorderPushes: 0,
  privateChannels: false,
  rateLimit429: 0,
  ban418: 0,
  clockSkewMs: 0,
  unknownStatus: 0,
  slowResponseMs: 0,
});

export class FaultDice {
  #faults: BinanceSimFaults;
  readonly #random: () => number;
  readonly #listeners = new Set<(f: BinanceSimFaults) => void>();

  constructor(initial: Partial<BinanceSimFaults> = {}, seed = 1) {
    this.#faults = { ...DEFAULT_BINANCE_SIM_FAULTS, ...initial };
    this.#random = seededRandom(seed);
  }

  get faults(): Readonly<BinanceSimFaults> {
    return this.#faults;
  }

  set(partial: Partial<BinanceSimFaults>): void {
    this.#faults = { ...this.#faults, ...partial };
    for (const l of this.#listeners) l(this.#faults);
  }

  onChange(listener: (f: BinanceSimFaults) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** True with probability p (no draw when p is 0). */
  roll(p: number): boolean {
    return p > 0 && this.#random() < p;
  }
}

/** `skip=0.05,dup=0.05,reorder=0.1,drop=30,429=0.1,418=0.01,skew=2000,unknown=0.2,slow=200` → faults. */
export function parseBinanceFaultSpec(spec: string): Partial<BinanceSimFaults> {
  const alias: Record<string, keyof BinanceSimFaults> = {
    drop: 'dropEverySec',
    skip: 'skipPushes',
    dup: 'duplicatePushes',
    duplicate: 'duplicatePushes',
    reorder: 'reorderPushes',
    private: 'privateChannels',
    '429': 'rateLimit429',
    '418': 'ban418',
    skew: 'clockSkewMs',
    unknown: 'unknownStatus',
    '1007': 'unknownStatus',
    slow: 'slowResponseMs',
  };
  const out: Record<string, number | boolean> = {};
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [rawKey = '', rawValue = 'true'] = part.split('=');
    const key = alias[rawKey.toLowerCase()] ?? (rawKey in DEFAULT_BINANCE_SIM_FAULTS ? (rawKey as keyof BinanceSimFaults) : undefined);
    if (!key) throw new Error(`unknown fault "${rawKey}"; known: ${Object.keys(alias).join(', ')}`);
    const boolean = typeof DEFAULT_BINANCE_SIM_FAULTS[key] === 'boolean';
    const value = boolean ? rawValue !== 'false' && rawValue !== '0' : Number(rawValue);
    if (!boolean && !Number.isFinite(value)) throw new Error(`fault "${rawKey}" needs a number, got "${rawValue}"`);
    out[key] = value;
  }
  return out as Partial<BinanceSimFaults>;
}
