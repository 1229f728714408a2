import { describe, expect, it } from 'vitest';
import {
  argKey,
  backoffDelay,
  CandleSequenceTracker,
  channelNeedsLogin,
  classifyWsFrame,
  endpointForChannel,
  OkxConfigError,
  OrderPushDeduper,
  okxRestBaseUrl,
  okxWsUrl,
  packRequests,
  parseOrder,
  resolveOkxConfig,
  wsClientOptionsFromConfig,
} from '../src/index.js';

describe('WebSocket frame classification', () => {
  it('recognises text pong, events, pushes and garbage without throwing', () => {
    expect(classifyWsFrame('pong')).toEqual({ kind: 'pong' });
    expect(classifyWsFrame('{"event":"notice","code":"64008","msg":"m","connId":"a"}')).toMatchObject({
      kind: 'event',
      event: 'notice',
      code: '64008',
      connId: 'a',
    });
    expect(classifyWsFrame('{"arg":{"channel":"positions"},"eventType":"snapshot","curPage":1,"lastPage":true,"data":[]}')).toMatchObject({
      kind: 'push',
      eventType: 'snapshot',
      curPage: 1,
      lastPage: true,
    });
    for (const bad of ['{"arg":', 'hello', '[1]', '{"arg":{"channel":"x"},"data":"no"}', '{"foo":1}']) {
      expect(classifyWsFrame(bad).kind).toBe('malformed');
    }
  });
});

describe('channel routing and packing', () => {
  it('routes candles to /business, account channels to /private, the rest to /public', () => {
    expect(endpointForChannel('candle1m')).toBe('business');
    expect(endpointForChannel('mark-price-candle1H')).toBe('business');
    expect(endpointForChannel('orders-algo')).toBe('business');
    expect(endpointForChannel('orders')).toBe('private');
    expect(endpointForChannel('tickers')).toBe('public');
    expect(channelNeedsLogin('orders-algo')).toBe(true);
    expect(channelNeedsLogin('candle1m')).toBe(false);
  });

  it('keys args by content, ignoring key order and uid', () => {
    expect(argKey({ channel: 'orders', instType: 'ANY', uid: '7' })).toBe(argKey({ instType: 'ANY', channel: 'orders' }));
  });

  it('splits subscribe requests so that none exceeds the payload limit', () => {
    const args = Array.from({ length: 3000 }, (_, i) => ({ channel: 'candle1m', instId: `COIN${i}-USDT` }));
    let n = 0;
    const requests = packRequests('subscribe', args, 65_536, () => `r${n++}`);
    expect(requests.length).toBeGreaterThan(1);
    expect(requests.flatMap((r) => r.args)).toHaveLength(3000);
    for (const r of requests) expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(65_536);
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially up to the cap, jitter taking off at most the jitter fraction', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, opts, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, opts, () => 1)).toBe(200);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(300);
  });
});

describe('de-duplication rules', () => {
  const order = (over: Record<string, string>) =>
    parseOrder({ instId: 'BTC-USDT', ordId: '1', side: 'buy', ordType: 'limit', sz: '1', state: 'live', accFillSz: '0', ...over });

  it('applies OKX rules: fills once per tradeId, first terminal state once, repeated live dropped', () => {
    const d = new OrderPushDeduper();
    expect(d.accept(order({}))).toBe(true);
    expect(d.accept(order({ uTime: '9' }))).toBe(false);
    const fill = { state: 'partially_filled', accFillSz: '0.5', tradeId: 't1', fillPx: '1', fillSz: '0.5' };
    expect(d.accept(order(fill))).toBe(true);
    expect(d.accept(order(fill))).toBe(false);
    expect(d.accept(order({ ...fill, state: 'filled', accFillSz: '1', tradeId: 't2' }))).toBe(true);
    expect(d.accept(order({ state: 'canceled', ordId: '2' }))).toBe(true);
    expect(d.accept(order({ state: 'canceled', ordId: '2' }))).toBe(false);
  });

  it('classifies confirmed candles as new, duplicate, out of order or after a gap', () => {
    const t = new CandleSequenceTracker();
    expect([0, 60, 60, 180, 120].map((s) => t.observe('x', s * 1000, 60_000))).toEqual(['new', 'new', 'duplicate', 'gap', 'out-of-order']);
  });
});

describe('configuration and URLs', () => {
  it('fills every default and derives demo WebSocket hosts', () => {
    const config = resolveOkxConfig({});
    expect(config.demo).toBe(true);
    expect(config.ws.pingIntervalMs).toBeLessThan(30_000);
    expect(wsClientOptionsFromConfig(config).urls?.business).toBe('wss://wspap.okx.com/ws/v5/business');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps host and port configurable (sources disagree about :8443)', () => {
    expect(okxWsUrl('public', { port: 8443 })).toBe('wss://ws.okx.com:8443/ws/v5/public');
    expect(okxWsUrl('private', { region: 'eea', demo: true })).toBe('wss://wseeapap.okx.com/ws/v5/private');
    expect(okxRestBaseUrl({ host: 'openapi.okx.com' })).toBe('https://openapi.okx.com');
    expect(okxRestBaseUrl({ host: '127.0.0.1', port: 9000, secure: false })).toBe('http://127.0.0.1:9000');
    const config = resolveOkxConfig({ demo: false, wsPort: 8443 });
    expect(wsClientOptionsFromConfig(config).urls?.public).toBe('wss://ws.okx.com:8443/ws/v5/public');
  });

  it('rejects bad config with OKX_CONFIG naming the field', () => {
    expect(() => resolveOkxConfig({ ws: { pingIntervalMs: 45_000 } })).toThrow(OkxConfigError);
    expect(() => resolveOkxConfig({ region: 'mars' } as never)).toThrow(/region/);
  });
});
