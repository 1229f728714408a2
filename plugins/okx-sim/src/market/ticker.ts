import type { SimContext } from '../context.js';
import type { SimInstrument } from '../trading/model.js';
import { fmt } from './candle-stream.js';

const DAY_MS = 86_400_000;
let cache: { index: number; tape: unknown; stats: { open: number; high: number; low: number; vol: number; volQuote: number } } | undefined;

/** 24 h window over finished slots, recomputed once per slot. */
function dayStats(ctx: SimContext) {
  const { cursor, tape } = ctx;
  const index = Math.min(cursor.index, tape.length);
  if (cache && cache.index === index && cache.tape === tape) return cache.stats;
  const from = tape.indexAt(cursor.now() - DAY_MS);
  const first = tape.bar(Math.min(from, tape.length - 1));
  let high = first.high;
  let low = first.low;
  let vol = 0;
  let volQuote = 0;
  for (let i = from; i < index; i++) {
    const b = tape.bar(i);
    high = Math.max(high, b.high);
    low = Math.min(low, b.low);
    vol += b.volume;
    volQuote += b.volume * b.close;
  }
  const stats = { open: first.open, high, low, vol, volQuote };
  cache = { index, tape, stats };
  return stats;
}

/** A ticker object as OKX renders it, at the replay's current price. */
export function tickerFor(ctx: SimContext, inst: SimInstrument): Record<string, string> {
  const last = ctx.cursor.price();
  const tick = Number(inst.tickSz);
  const day = dayStats(ctx);
  const ctVal = inst.ctVal ? Number(inst.ctVal) : undefined;
  const dayStart = ctx.cursor.now() - (ctx.cursor.now() % DAY_MS);
  const sod = ctx.tape.bar(Math.min(ctx.tape.indexAt(dayStart), ctx.tape.length - 1)).open;
  return {
    instType: inst.instType,
    instId: inst.instId,
    last: fmt(last),
    lastSz: '0.01',
    askPx: fmt(last + tick),
    askSz: '1',
    bidPx: fmt(last - tick),
    bidSz: '1',
    open24h: fmt(day.open),
    high24h: fmt(Math.max(day.high, last)),
    low24h: fmt(Math.min(day.low, last)),
    // Spot: volCcy24h in quote, vol24h in base. Derivatives: volCcy24h in base, vol24h in contracts.
    volCcy24h: fmt(ctVal ? day.vol : day.volQuote),
    vol24h: fmt(ctVal ? day.vol / ctVal : day.vol),
    sodUtc0: fmt(sod),
    sodUtc8: fmt(sod),
    ts: String(ctx.cursor.now()),
  };
}

/** An instrument object as `/public/instruments` renders it. */
export function instrumentToOkx(inst: SimInstrument, listTime: number): Record<string, string> {
  const swap = inst.instType === 'SWAP';
  const family = swap ? inst.instId.replace(/-SWAP$/, '') : '';
  return {
    instType: inst.instType,
    instId: inst.instId,
    instFamily: family,
    uly: family,
    baseCcy: inst.baseCcy,
    quoteCcy: inst.quoteCcy,
    settleCcy: inst.settleCcy,
    ctVal: inst.ctVal ?? '',
    ctMult: swap ? '1' : '',
    ctValCcy: swap ? (inst.instId.split('-')[0] ?? '') : '',
    ctType: swap ? 'linear' : '',
    tickSz: inst.tickSz,
    lotSz: inst.lotSz,
    minSz: inst.minSz,
    lever: swap ? inst.lever : '',
    state: 'live',
    listTime: String(listTime),
    expTime: '',
    maxLmtSz: '10000000',
    maxMktSz: '1000000',
    maxMktAmt: '1000000',
    ruleType: 'normal',
  };
}
