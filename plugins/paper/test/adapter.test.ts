import { AdapterRegistry, Buckets, CandleContract, subject, type VenueOrderUpdate } from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaperExecutionAdapter, type PaperExecutionAdapter, paperExecutionAdapter } from '../src/index.js';

const MIN = 60_000;
const SWAP = 'BTC-USDT-SWAP';
let nats: TestNats;
const opened: PaperExecutionAdapter[] = [];

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  for (const a of opened) await a.close();
  await nats?.stop();
});

function adapter(account: string): PaperExecutionAdapter {
  const a = createPaperExecutionAdapter({ account, candles: { venue: 'okx', tf: '1m' }, slippage: 0, takerFee: 0.001 }, nats.bus);
  opened.push(a);
  return a;
}

async function candle(close: number, ts: number): Promise<void> {
  const c = { venue: 'okx', inst: SWAP, tf: '1m', ts, open: close, high: close, low: close, close, volume: 1, confirmed: true };
  await nats.bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }), c, { id: `c:${ts}` });
}

describe('paper execution adapter on a real nats-server', () => {
  it('fills against stored candles, keeps the account in KV, and finds it again after a restart', async () => {
    const now = Date.now();
    await candle(40_000, now - 2 * MIN);
    const first = adapter('acct1');
    const updates: VenueOrderUpdate[] = [];
    await first.subscribeOrders({ onOrder: (u) => updates.push(u) });
    const placed = await first.placeOrder({ inst: SWAP, side: 'buy', size: 2, type: 'market', reduceOnly: false, clientOrderId: 'p1' });
    expect(placed).toMatchObject({ accepted: true, duplicate: false });
    expect(updates.map((u) => u.order.state)).toEqual(['live']);
    await candle(40_500, now);
    await eventually(() => updates.some((u) => u.order.state === 'filled'));
    expect(updates.at(-1)?.fill).toMatchObject({ price: 40_500, size: 2, fee: 2 * 0.01 * 40_500 * 0.001 });
    expect(await first.positions()).toMatchObject([{ inst: SWAP, size: 2, avgPrice: 40_500 }]);
    const stored = await (await nats.bus.kv(Buckets.positions)).get('paper.acct1');
    expect(stored?.json<{ positions: Record<string, { size: number }> }>().positions[SWAP]?.size).toBe(2);
    await first.close();

    const again = adapter('acct1');
    expect(await again.getOrder({ inst: SWAP, clientOrderId: 'p1' })).toMatchObject({ state: 'filled', filledSize: 2, avgPrice: 40_500 });
    expect(
      await again.placeOrder({ inst: SWAP, side: 'buy', size: 2, type: 'market', reduceOnly: false, clientOrderId: 'p1' }),
    ).toMatchObject({
      duplicate: true,
    });
    expect((await again.balances())[0]?.total).toBeCloseTo(10_000 - 2 * 0.01 * 40_500 * 0.001, 8);
    // Another account is another book.
    expect(await adapter('acct2').positions()).toEqual([]);
  });

  it('works only on the bus the host lends it, and leaves that connection open when it closes', async () => {
    const registry = new AdapterRegistry();
    registry.register(paperExecutionAdapter);
    const config = { account: 'lent1', candles: { venue: 'okx', tf: '1m' } };
    await expect(registry.resolve('execution', 'paper', config)).rejects.toMatchObject({ code: 'PAPER_NO_BUS' });
    const lent = await registry.resolve<PaperExecutionAdapter>('execution', 'paper', config, { bus: nats.bus });
    expect(await lent.balances()).toMatchObject([{ total: 10_000 }]);
    expect(await (await nats.bus.kv(Buckets.positions)).get('paper.lent1')).toBeNull();
    await lent.close();
    // The lent connection is the host's: still open, still storing.
    expect(nats.bus.nc.isClosed()).toBe(false);
    await candle(41_000, Date.now());
  });

  it('refuses an order before any candle of its instrument is stored', async () => {
    const result = await adapter('acct3').placeOrder({
      inst: 'ETH-USDT-SWAP',
      side: 'buy',
      size: 1,
      type: 'market',
      reduceOnly: false,
      clientOrderId: 'e1',
    });
    expect(result).toMatchObject({ accepted: false, reason: 'no closed candle of ETH-USDT-SWAP seen yet' });
  });
});
