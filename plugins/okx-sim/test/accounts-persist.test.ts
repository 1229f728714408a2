import { startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvAccountStore, OkxSimulator, resetSimAccounts, simAccountKey, syntheticCandles } from '../src/index.js';
import { signedFetch } from './helpers.js';

const data = syntheticCandles({ count: 600, startPrice: 30_000, seed: 5 });
const START = data[100]?.ts as number;

describe('the simulator keeps its accounts across restarts, as a venue does', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  const run = async (startAt: number) => {
    const sim = new OkxSimulator({ data, startAt, accountStore: kvAccountStore(nats.bus, simAccountKey('BTC-USDT')) });
    const base = (await sim.start()).restUrl;
    return { sim, base };
  };

  it('a restarted simulator holds the same balance, resting order and swap position; reset forgets them', async () => {
    const first = await run(START);
    // A market buy of 3 contracts fills at the next step; a far limit rests.
    const market = { instId: 'BTC-USDT-SWAP', tdMode: 'cross', side: 'buy', ordType: 'market', sz: '3', clOrdId: 'keep1' };
    expect((await signedFetch(first.base, 'POST', '/api/v5/trade/order', market)).body.code).toBe('0');
    const rest = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '1000', sz: '0.01', clOrdId: 'rest1' };
    expect((await signedFetch(first.base, 'POST', '/api/v5/trade/order', rest)).body.code).toBe('0');
    first.sim.step(2);
    const before = first.sim.account();
    expect(before?.positions.get('BTC-USDT-SWAP')?.pos).toBe(3);
    const usdtBefore = before?.balances.get('USDT');
    await first.sim.stop();

    const second = await run(START + 10 * 60_000);
    try {
      const after = second.sim.account();
      expect(after?.positions.get('BTC-USDT-SWAP')?.pos).toBe(3);
      expect(after?.balances.get('USDT')).toEqual(usdtBefore);
      const pending = await signedFetch(second.base, 'GET', '/api/v5/trade/orders-pending?instType=SPOT');
      expect(pending.body.data.map((o: { clOrdId: string }) => o.clOrdId)).toEqual(['rest1']);
      // Ids never repeat after a restart.
      const ids = [...(after?.orders.keys() ?? [])];
      expect(ids).toHaveLength(2);
      const again = await signedFetch(second.base, 'POST', '/api/v5/trade/order', { ...rest, clOrdId: 'rest2' });
      expect(again.body.code).toBe('0');
      expect(ids).not.toContain(again.body.data[0].ordId);
    } finally {
      await second.sim.stop();
    }

    expect(await resetSimAccounts(nats.bus, simAccountKey('BTC-USDT'))).toBe(true);
    const third = await run(START);
    try {
      expect(third.sim.account()?.positions.size).toBe(0);
      expect(third.sim.account()?.orders.size).toBe(0);
    } finally {
      await third.sim.stop();
    }
  });
});
