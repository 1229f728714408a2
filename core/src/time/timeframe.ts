import { ErrorCode, KokexError } from '../errors.js';

/**
 * OKX bar names, used as they are for timeframes everywhere (subjects, plans, KV keys).
 * Case matters: `m` is minutes, `M` months. Bars of 6H and longer without `utc` open on Hong Kong
 * (UTC+8) boundaries; the `utc` variants and everything shorter open on UTC boundaries.
 */
export const TIMEFRAMES = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1H',
  '2H',
  '4H',
  '6H',
  '12H',
  '1D',
  '2D',
  '3D',
  '5D',
  '1W',
  '1M',
  '3M',
  '6Hutc',
  '12Hutc',
  '1Dutc',
  '2Dutc',
  '3Dutc',
  '5Dutc',
  '1Wutc',
  '1Mutc',
  '3Mutc',
] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const HKT_OFFSET = 8 * HOUR;
/** 1970-01-01 was a Thursday; weeks open on Monday, 4 days later. */
const MONDAY_EPOCH_OFFSET = 4 * DAY;

export class UnknownTimeframeError extends KokexError {
  constructor(tf: string) {
    super(ErrorCode.UnknownTimeframe, `unknown timeframe "${tf}"; expected one of ${TIMEFRAMES.join(', ')}`, {
      data: { timeframe: tf },
    });
  }
}

export function isTimeframe(tf: string): tf is Timeframe {
  return (TIMEFRAMES as readonly string[]).includes(tf);
}

export function assertTimeframe(tf: string): Timeframe {
  if (!isTimeframe(tf)) throw new UnknownTimeframeError(tf);
  return tf;
}

interface TimeframeSpec {
  unit: 's' | 'm' | 'H' | 'D' | 'W' | 'M';
  count: number;
  offsetMs: number;
}

function spec(tf: string): TimeframeSpec {
  const m = /^(\d+)([smHDWM])(utc)?$/.exec(assertTimeframe(tf));
  if (!m) throw new UnknownTimeframeError(tf);
  const count = Number(m[1]);
  const unit = m[2] as TimeframeSpec['unit'];
  const long = unit === 'D' || unit === 'W' || unit === 'M' || (unit === 'H' && count >= 6);
  return { unit, count, offsetMs: long && !m[3] ? HKT_OFFSET : 0 };
}

/** Nominal length of one bar in ms (months count 30 days; use barOpen/nextBarOpen for exact edges). */
export function timeframeMs(tf: string): number {
  const { unit, count } = spec(tf);
  const base = { s: SECOND, m: MINUTE, H: HOUR, D: DAY, W: 7 * DAY, M: 30 * DAY }[unit];
  return base * count;
}

/** Open time of the bar that contains `ts`. */
export function barOpen(ts: number, tf: string): number {
  const { unit, count, offsetMs } = spec(tf);
  if (unit === 'M') {
    const local = new Date(ts + offsetMs);
    const monthIndex = local.getUTCFullYear() * 12 + local.getUTCMonth();
    const open = monthIndex - (monthIndex % count);
    return Date.UTC(Math.floor(open / 12), open % 12, 1) - offsetMs;
  }
  const len = timeframeMs(tf);
  const anchor = unit === 'W' ? MONDAY_EPOCH_OFFSET : 0;
  const shifted = ts + offsetMs - anchor;
  return shifted - (((shifted % len) + len) % len) - offsetMs + anchor;
}

/** Open time of the bar after the one containing `ts` (the next bar boundary strictly after `ts`'s bar open). */
export function nextBarOpen(ts: number, tf: string): number {
  const open = barOpen(ts, tf);
  const { unit, count, offsetMs } = spec(tf);
  if (unit === 'M') {
    const local = new Date(open + offsetMs);
    return Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + count, 1) - offsetMs;
  }
  return open + timeframeMs(tf);
}

/**
 * Close time of the bar that opens at (or contains) `ts`: the next bar's open. A bar's market time
 * is its close (the moment its prices are known), so this is a candle's envelope `eventTime`.
 */
export function barClose(ts: number, tf: string): number {
  return nextBarOpen(ts, tf);
}
