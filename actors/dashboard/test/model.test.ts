import { describe, expect, it } from 'vitest';
import { portOf } from '../src/config.js';
import { applyEvent, type DashboardEvent, DEFAULT_LIMITS, emptyModel, positions } from '../src/model.js';

const bar = (time: number, close: number) => ({ time, open: close, high: close, low: close, close, volume: 1 });
const MIN = 60_000;

describe('the dashboard model', () => {
  it('keeps closed bars in time order, replaces a redelivered bar, and drops the live bar once it closes', () => {
    const m = emptyModel();
    const ev = (time: number, close: number, live = false): DashboardEvent => ({
      t: 'bar',
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      tf: '1m',
      bar: bar(time, close),
      live,
    });
    applyEvent(m, ev(2 * MIN, 102));
    applyEvent(m, ev(0, 100));
    applyEvent(m, ev(MIN, 101));
    applyEvent(m, ev(MIN, 111));
    applyEvent(m, ev(3 * MIN, 103, true));
    const s = m.series['okx BTC-USDT-SWAP 1m'];
    expect(s?.bars.map((b) => [b.time, b.close])).toEqual([
      [0, 100],
      [MIN, 111],
      [2 * MIN, 102],
    ]);
    expect(s?.live?.close).toBe(103);
    applyEvent(m, ev(3 * MIN, 104));
    expect(s?.live).toBeUndefined();
    expect(s?.bars.at(-1)?.close).toBe(104);
  });

  it('bounds what it keeps', () => {
    const m = emptyModel();
    const limits = { ...DEFAULT_LIMITS, bars: 3, orders: 2 };
    for (let i = 0; i < 10; i++)
      applyEvent(m, { t: 'bar', venue: 'okx', inst: 'X-USDT', tf: '1m', bar: bar(i * MIN, 100 + i), live: false }, limits);
    expect(m.series['okx X-USDT 1m']?.bars.map((b) => b.close)).toEqual([107, 108, 109]);
    for (const id of ['a1', 'a2', 'a3'])
      applyEvent(
        m,
        {
          t: 'verdict',
          clientOrderId: id,
          plan: 'p',
          inst: 'X-USDT',
          correlationId: id,
          at: 0,
          verdict: { decision: 'deny', reason: 'X', rule: 'r', message: '' },
        },
        limits,
      );
    expect(m.orders.map((o) => o.clientOrderId)).toEqual(['a2', 'a3']);
  });

  it('places streamed tokens by seq whatever order they arrive in', () => {
    const m = emptyModel();
    const tok = (seq: number, text: string): DashboardEvent => ({
      t: 'token',
      plan: 'demo',
      conversation: 'c1',
      token: { seq, kind: 'text', text },
    });
    for (const [seq, text] of [
      [0, 'The '],
      [2, 'is '],
      [1, 'market '],
      [2, 'is '],
      [3, 'flat.'],
    ] as const)
      applyEvent(m, tok(seq, text));
    expect(m.conversations[0]?.tokens.map((t) => t.text).join('')).toBe('The market is flat.');
    // The next exchange of the same chat streams from seq 0 again: it follows, it does not overwrite.
    applyEvent(m, tok(0, ' Still '));
    applyEvent(m, tok(1, 'flat.'));
    expect(m.conversations[0]?.tokens.map((t) => t.text).join('')).toBe('The market is flat. Still flat.');
  });

  it('links intent, verdict, approval and fills of one client order id in one row', () => {
    const m = emptyModel();
    const base = { clientOrderId: 'o1', plan: 'demo', inst: 'BTC-USDT-SWAP', correlationId: 'corr-1', at: 1 };
    applyEvent(m, {
      t: 'intent',
      ...base,
      venue: 'okx',
      intent: { side: 'buy', size: 2, type: 'market', reduceOnly: false, origin: 'agent:c1', why: 'up' },
    });
    applyEvent(m, { t: 'verdict', ...base, verdict: { decision: 'approve', reason: 'OK', rule: 'all', message: 'approved', size: 2 } });
    applyEvent(m, { t: 'approved', ...base, venue: 'okx', approved: { size: 2, reduceOnly: false } });
    applyEvent(m, {
      t: 'orderEvent',
      ...base,
      venue: 'okx',
      event: { kind: 'filled', side: 'buy', size: 2, filledSize: 2, avgPrice: 43_000, fill: { price: 43_000, size: 2, fee: -0.86 }, at: 5 },
    });
    expect(m.orders).toHaveLength(1);
    expect(m.orders[0]).toMatchObject({
      correlationId: 'corr-1',
      intent: { size: 2 },
      verdict: { reason: 'OK' },
      approved: { size: 2 },
      events: [{ kind: 'filled' }],
    });
  });

  it('values positions with the contract value: a 0.01 BTC contract moving 100 is worth 1, not 100', () => {
    const m = emptyModel();
    const fill = (id: string, side: 'buy' | 'sell', size: number, price: number, at: number): DashboardEvent => ({
      t: 'orderEvent',
      clientOrderId: id,
      plan: 'demo',
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      correlationId: id,
      at,
      event: { kind: 'filled', side, size, filledSize: size, fill: { price, size, fee: -0.5 }, at },
    });
    applyEvent(m, { t: 'contractValue', inst: 'BTC-USDT-SWAP', value: 0.01 });
    applyEvent(m, fill('b1', 'buy', 3, 40_000, 1));
    applyEvent(m, fill('s1', 'sell', 1, 40_100, 2));
    applyEvent(m, { t: 'bar', venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m', bar: bar(0, 40_200), live: false });
    const [p] = positions(m);
    expect(p).toMatchObject({ size: 2, avgPrice: 40_000, contractValue: 0.01, fills: 2 });
    expect(p?.base).toBeCloseTo(0.02, 10);
    expect(p?.realized).toBeCloseTo(1 * 100 * 0.01, 10);
    expect(p?.unrealized).toBeCloseTo(2 * 200 * 0.01, 10);
    expect(p?.fees).toBeCloseTo(1, 10);
    expect(p?.pnl).toBeCloseTo(1 + 4 - 1, 10);
  });
});

describe('the port', () => {
  it('comes from the config, else KOKEX_DASHBOARD_PORT (0 = a free one), else 8787 (not explicit)', () => {
    const config = { host: '127.0.0.1', historyMs: 1, keep: DEFAULT_LIMITS, adapters: {} };
    expect(portOf({ ...config, port: 9000 }, { KOKEX_DASHBOARD_PORT: '1' })).toEqual({ port: 9000, explicit: true });
    expect(portOf(config, { KOKEX_DASHBOARD_PORT: '0' })).toEqual({ port: 0, explicit: true });
    expect(portOf(config, {})).toEqual({ port: 8787, explicit: false });
    expect(() => portOf(config, { KOKEX_DASHBOARD_PORT: 'http' })).toThrow(/not a port/);
  });
});
