import { CandleFault } from '../contracts/quality.js';
import { describeTokenProblem } from '../contracts/tokens.js';
import { barOpen, isTimeframe } from '../time/timeframe.js';
import type { SeriesKey } from './types.js';

/** One thing wrong with a bar. */
export interface CandleProblem {
  fault: CandleFault;
  detail: string;
  /** The field it is about, when it is about one. */
  field?: string;
}

/**
 * How much of the check to apply, each level including the one before:
 * - `fields`: every field in its domain (tokens, a known timeframe, integer non-negative times,
 *   positive prices, non-negative volumes, a boolean `confirmed`): what every `md.candle` message
 *   must be, core's `candleSchema`;
 * - `bar`: also consistent prices (high ≥ open, close, low ≥ …): what a venue parser demands of any
 *   bar it hands on, forming or closed;
 * - `closed` (the default): also `confirmed` and `ts` on the bar grid (and the subject, given a
 *   key): what the validator demands of every bar it publishes to MD_CANDLES.
 */
export const CANDLE_CHECK_LEVELS = ['fields', 'bar', 'closed'] as const;
export type CandleCheckLevel = (typeof CANDLE_CHECK_LEVELS)[number];

export interface CandleCheckOptions {
  /** Default `closed`. */
  level?: CandleCheckLevel;
}

type Loose = Record<string, unknown>;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const show = (v: unknown) => (typeof v === 'number' || typeof v === 'string' ? String(v) : JSON.stringify(v) ?? 'undefined');

/**
 * The one candle check. Every problem of one bar, checked by hand on the raw object (so a bar that
 * would not decode can still be quarantined with its reasons, and a venue parser checks millions of
 * rows without a schema parse each). Empty when the bar is good. Core's `candleSchema` refines with
 * it (level `fields`), the okx parser calls it on every row (`bar`), the validator on every bar it
 * publishes (`closed`), so the three can never disagree. `key` is the series it belongs to (from
 * its subject), when known.
 */
export function candleProblems(data: unknown, key?: SeriesKey, options: CandleCheckOptions = {}): CandleProblem[] {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return [{ fault: CandleFault.Schema, detail: 'not an object' }];
  const level = options.level ?? 'closed';
  const closed = level === 'closed';
  const c = data as Loose;
  const problems: CandleProblem[] = [];
  const add = (fault: CandleFault, detail: string, field?: string) => problems.push(field ? { fault, detail, field } : { fault, detail });
  for (const [field, what] of [
    ['venue', 'venue'],
    ['inst', 'instrument'],
  ] as const) {
    const v = c[field];
    const problem = typeof v === 'string' ? describeTokenProblem(v) : 'is not a string';
    if (problem) add(CandleFault.Schema, `${what} ${show(v)} ${problem}`, field);
  }
  const { open, high, low, close, volume, volumeQuote, ts, tf, confirmed, receivedAt } = c;
  const tfOk = typeof tf === 'string' && isTimeframe(tf);
  if (!tfOk) add(CandleFault.Schema, `timeframe ${show(tf)} is not one core knows`, 'tf');
  if (key) {
    for (const field of ['venue', 'inst', 'tf'] as const) {
      if (c[field] !== key[field]) add(CandleFault.Subject, `${field} is ${JSON.stringify(c[field])}, the subject says ${key[field]}`, field);
    }
  }
  const tsOk = isNum(ts) && Number.isInteger(ts) && ts >= 0;
  if (!tsOk) add(CandleFault.Schema, `ts ${show(ts)} is not a non-negative integer (Unix ms)`, 'ts');
  if (typeof confirmed !== 'boolean') add(CandleFault.Schema, `confirmed ${show(confirmed)} is not a boolean`, 'confirmed');
  else if (closed && !confirmed) add(CandleFault.Unconfirmed, 'confirmed is not true', 'confirmed');
  const prices = { open, high, low, close };
  let pricesOk = true;
  for (const [field, v] of Object.entries(prices)) {
    if (isNum(v) && v > 0) continue;
    pricesOk = false;
    add(CandleFault.Schema, `${field} ${show(v)} is not a positive number`, field);
  }
  if (pricesOk && level !== 'fields') problems.push(...ohlcProblems(prices as { open: number; high: number; low: number; close: number }));
  if (!isNum(volume) || volume < 0) add(CandleFault.Volume, `volume ${show(volume)} is not a non-negative number`, 'volume');
  if (volumeQuote !== undefined && (!isNum(volumeQuote) || volumeQuote < 0)) {
    add(CandleFault.Volume, `volumeQuote ${show(volumeQuote)} is not a non-negative number`, 'volumeQuote');
  }
  if (receivedAt !== undefined && !(isNum(receivedAt) && Number.isInteger(receivedAt) && receivedAt >= 0)) {
    add(CandleFault.Schema, `receivedAt ${show(receivedAt)} is not a non-negative integer`, 'receivedAt');
  }
  if (closed && tfOk && tsOk) {
    const opens = barOpen(ts, tf);
    if (opens !== ts) add(CandleFault.Alignment, `ts ${ts} is not a ${tf} bar open (the bar holding it opens at ${opens})`, 'ts');
  }
  return problems;
}

/** High at or above open, close and low; low at or below open and close. */
export function ohlcProblems(c: { open: number; high: number; low: number; close: number }): CandleProblem[] {
  const out: CandleProblem[] = [];
  if (c.high < Math.max(c.open, c.close, c.low)) {
    out.push({ fault: CandleFault.Ohlc, detail: `high ${c.high} is below open ${c.open}, close ${c.close} or low ${c.low}`, field: 'high' });
  }
  if (c.low > Math.min(c.open, c.close)) {
    out.push({ fault: CandleFault.Ohlc, detail: `low ${c.low} is above open ${c.open} or close ${c.close}`, field: 'low' });
  }
  return out;
}

/** One line for logs and quality reports: `ohlc: high 9 is below …; volume: …`. */
export function describeProblems(problems: readonly CandleProblem[]): string {
  return problems.map((p) => `${p.fault}: ${p.detail}`).join('; ');
}

/** The faults among `problems`, each once, in the order found: what a quarantine record lists. */
export function problemFaults(problems: readonly CandleProblem[]): CandleFault[] {
  return [...new Set(problems.map((p) => p.fault))];
}

/**
 * Whether two copies of one bar say the same (prices, volumes, confirmed): a copy that does is a
 * harmless repeat, one that does not is a conflict the validator reports and never republishes.
 */
export function sameBar(a: Loose, b: Loose): boolean {
  return (['open', 'high', 'low', 'close', 'volume', 'volumeQuote', 'confirmed'] as const).every((f) => a[f] === b[f]);
}
