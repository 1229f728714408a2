import { isTimeframe } from '@kokex/core';
import type { SimContext } from '../context.js';
import { candleRow } from '../market/candle-stream.js';
import type { AggBar } from '../market/tape.js';
import { instrumentToOkx, tickerFor } from '../market/ticker.js';
import { fail, ok, type RestAnswer } from './envelope.js';

/** /market/candles serves only the latest 1,440 bars. */
const RECENT_BARS = 1_440;
const MAX_LIMIT = 300;
const DEFAULT_LIMIT = 100;

type Query = URLSearchParams;

/**
 * GET /api/v5/market/candles and /history-candles. Newest first; `after`=T gives ts < T, `before`=T
 * gives ts > T (both exclusive); with only `before` the newest bars come back; limit ≤ 300.
 * history-candles has closed bars only (minus `historyLagMs`); candles has the latest 1,440 bars,
 * the forming one first with confirm "0".
 */
export function candlesRoute(ctx: SimContext, query: Query, history: boolean): RestAnswer {
  const instId = query.get('instId') ?? '';
  if (!instId) return fail('50014', 'Parameter instId cannot be empty');
  const inst = ctx.engine.instruments.get(instId);
  if (!inst) return fail('51001', "Instrument ID doesn't exist");
  const bar = query.get('bar') || '1m';
  if (!isTimeframe(bar) || !ctx.tape.supports(bar)) return fail('51000', 'Parameter bar error');
  const after = optionalNumber(query.get('after'));
  const before = optionalNumber(query.get('before'));
  const limitRaw = optionalNumber(query.get('limit'));
  if (after === null || before === null || limitRaw === null) return fail('51000', 'Parameter after/before/limit error');
  const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(limitRaw ?? DEFAULT_LIMIT)));

  const series = ctx.tape.series(bar);
  const closed = ctx.cursor.closedCount(bar, history ? ctx.historyLagMs : 0);
  let rows: Array<{ bar: AggBar; confirmed: boolean }>;
  if (history) {
    rows = select(series, 0, closed, after, before, limit).map((b) => ({ bar: b, confirmed: true }));
  } else {
    const forming = ctx.cursor.formingBar(bar);
    const formingIn = forming !== undefined && inWindow(forming.ts, after, before);
    const from = Math.max(0, closed - (RECENT_BARS - (forming ? 1 : 0)));
    const older = select(series, from, closed, after, before, limit - (formingIn ? 1 : 0));
    rows = [...(formingIn && forming ? [{ bar: forming, confirmed: false }] : []), ...older.map((b) => ({ bar: b, confirmed: true }))];
  }
  const ctVal = inst.ctVal ? Number(inst.ctVal) : undefined;
  return ok(rows.map((r) => candleRow(r.bar, r.confirmed, ctVal)));
}

/** Bars of series[from, to) inside the exclusive bounds, newest first, at most `limit`. */
function select(
  series: AggBar[],
  from: number,
  to: number,
  after: number | undefined,
  before: number | undefined,
  limit: number,
): AggBar[] {
  // Narrow [from, to) by binary search, then walk backwards from the newest.
  let hi = to;
  if (after !== undefined) hi = Math.min(hi, lowerBound(series, after, from, to));
  let lo = from;
  if (before !== undefined) lo = Math.max(lo, upperBound(series, before, from, to));
  const out: AggBar[] = [];
  for (let i = hi - 1; i >= lo && out.length < limit; i--) out.push(series[i] as AggBar);
  return out;
}

function inWindow(ts: number, after: number | undefined, before: number | undefined): boolean {
  return (after === undefined || ts < after) && (before === undefined || ts > before);
}

/** First index in [lo, hi) with ts >= value. */
function lowerBound(series: AggBar[], value: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((series[mid] as AggBar).ts < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [lo, hi) with ts > value. */
function upperBound(series: AggBar[], value: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((series[mid] as AggBar).ts <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** undefined when absent, null when present but not a number. */
function optionalNumber(v: string | null): number | undefined | null {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

export function tickerRoute(ctx: SimContext, query: Query): RestAnswer {
  const instId = query.get('instId') ?? '';
  if (!instId) return fail('50014', 'Parameter instId cannot be empty');
  const inst = ctx.engine.instruments.get(instId);
  if (!inst) return fail('51001', "Instrument ID doesn't exist");
  return ok([tickerFor(ctx, inst)]);
}

export function instrumentsRoute(ctx: SimContext, query: Query): RestAnswer {
  const instType = query.get('instType') ?? '';
  if (!instType) return fail('50014', 'Parameter instType cannot be empty');
  const instId = query.get('instId');
  const family = query.get('instFamily');
  const list = [...ctx.engine.instruments.values()].filter(
    (i) => i.instType === instType && (!instId || i.instId === instId) && (!family || i.instId.startsWith(`${family}-`)),
  );
  return ok(list.map((i) => instrumentToOkx(i, ctx.tape.start)));
}

export function timeRoute(ctx: SimContext): RestAnswer {
  return ok([{ ts: String(ctx.wallNow()) }]);
}
