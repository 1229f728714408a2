import { barOpen, candleSchema, isTimeframe } from '@kokex/core';
import type { SeriesKey } from './types.js';

/** What can be wrong with a closed candle. */
export const CandleFault = {
  /** Not a candle at all: missing or non-numeric fields, prices not positive, bad tokens. */
  Schema: 'schema',
  /** Venue, instrument or timeframe differ from the subject it was stored under. */
  Subject: 'subject',
  /** An in-progress bar where only closed bars belong. */
  Unconfirmed: 'unconfirmed',
  /** High below open/close/low, or low above open/close. */
  Ohlc: 'ohlc',
  /** Negative base or quote volume. */
  Volume: 'volume',
  /** `ts` is not the open of a bar of its timeframe. */
  Alignment: 'alignment',
} as const;
export type CandleFault = (typeof CandleFault)[keyof typeof CandleFault];

export interface CandleProblem {
  fault: CandleFault;
  detail: string;
}

type Loose = Record<string, unknown>;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Every problem of one closed candle, checked on the raw object so that a bar the strict schema
 * would refuse to decode can still be quarantined with its reasons. Empty when the bar is good.
 * `key` is the series it belongs to (from its subject), when known.
 */
export function candleProblems(data: unknown, key?: SeriesKey): CandleProblem[] {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return [{ fault: CandleFault.Schema, detail: 'not an object' }];
  const c = data as Loose;
  const problems: CandleProblem[] = [];
  const add = (fault: CandleFault, detail: string) => problems.push({ fault, detail });
  if (key) {
    for (const field of ['venue', 'inst', 'tf'] as const) {
      if (c[field] !== key[field]) add(CandleFault.Subject, `${field} is ${JSON.stringify(c[field])}, the subject says ${key[field]}`);
    }
  }
  if (c.confirmed !== true) add(CandleFault.Unconfirmed, 'confirmed is not true');
  const { open, high, low, close, volume, volumeQuote, ts, tf } = c;
  if (isNum(open) && isNum(high) && isNum(low) && isNum(close)) {
    if (high < Math.max(open, close, low)) add(CandleFault.Ohlc, `high ${high} is below open ${open}, close ${close} or low ${low}`);
    if (low > Math.min(open, close)) add(CandleFault.Ohlc, `low ${low} is above open ${open} or close ${close}`);
  } else {
    add(CandleFault.Schema, 'open, high, low and close must be numbers');
  }
  if (!isNum(volume) || volume < 0) add(CandleFault.Volume, `volume ${String(volume)} is not a non-negative number`);
  if (volumeQuote !== undefined && (!isNum(volumeQuote) || volumeQuote < 0)) {
    add(CandleFault.Volume, `volumeQuote ${String(volumeQuote)} is not a non-negative number`);
  }
  if (typeof tf === 'string' && isTimeframe(tf) && isNum(ts) && Number.isInteger(ts)) {
    const open = barOpen(ts, tf);
    if (open !== ts) add(CandleFault.Alignment, `ts ${ts} is not a ${tf} bar open (the bar holding it opens at ${open})`);
  }
  if (problems.length > 0) return problems;
  const strict = candleSchema.safeParse(c);
  if (!strict.success) {
    for (const issue of strict.error.issues) add(CandleFault.Schema, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return problems;
}

/** One line for logs and quality reports: `ohlc: high 9 is below …; volume: …`. */
export function describeProblems(problems: readonly CandleProblem[]): string {
  return problems.map((p) => `${p.fault}: ${p.detail}`).join('; ');
}
