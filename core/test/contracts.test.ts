import { describe, expect, it } from 'vitest';
import { ModelReadyContract, OrderEventContract, OrderIntentContract, OrderVerdictContract } from '../src/index.js';

const intent = {
  plan: 'demo',
  venue: 'okx',
  inst: 'BTC-USDT-SWAP',
  side: 'buy' as const,
  size: 0.01,
  type: 'limit' as const,
  price: 65_000,
  reduceOnly: false,
  clientOrderId: 'demo0001',
  origin: { kind: 'agent' as const, who: 'conversation c1', why: 'P(up) 0.62 with tradeable skill' },
  basis: { kind: 'forecast' as const, id: 'f-1', inst: 'BTC-USDT-SWAP', tf: '1m', asOf: 1_700_000_000_000 },
  refs: { conversation: 'c1' },
};

describe('order and model contracts', () => {
  it('round-trip an intent with its correlation id back to the forecast', () => {
    const { bytes } = OrderIntentContract.encode(intent, { correlationId: 'candle:okx:BTC-USDT-SWAP:1m:1', causationId: 'f-1' });
    const env = OrderIntentContract.decode(bytes);
    expect(env.correlationId).toBe('candle:okx:BTC-USDT-SWAP:1m:1');
    expect(env.causationId).toBe('f-1');
    expect(env.data).toEqual(intent);
  });

  it('reject a client order id the venue would refuse, and a bad side', () => {
    expect(() => OrderIntentContract.encode({ ...intent, clientOrderId: 'has-dash' })).toThrow(/client order id: 1-32 letters and digits/);
    expect(() => OrderIntentContract.encode({ ...intent, side: 'long' as never })).toThrow(/side/);
    expect(() => OrderIntentContract.encode({ ...intent, size: 0 })).toThrow(/size/);
    // v2: an intent says what it acted on, as a typed basis.
    expect(() => OrderIntentContract.encode({ ...intent, basis: { kind: 'forecast', id: 'f-1' } as never })).toThrow(/basis/);
    expect(() => OrderIntentContract.encode({ ...intent, basis: undefined as never })).toThrow(/basis/);
  });

  it('carry the deciding rule, limit and value in a verdict', () => {
    const v = OrderVerdictContract.envelope({
      plan: 'demo',
      inst: 'BTC-USDT-SWAP',
      clientOrderId: 'demo0001',
      decision: 'deny',
      reason: 'MAX_NOTIONAL',
      rule: 'risk.maxNotional',
      limit: 1000,
      value: 1300,
      message: 'order notional 1300 USDT exceeds 1000',
    });
    expect(v.data).toMatchObject({ decision: 'deny', limit: 1000, value: 1300 });
  });

  it('validate order events and model-ready notices', () => {
    expect(() =>
      OrderEventContract.encode({
        venue: 'okx',
        inst: 'BTC-USDT-SWAP',
        kind: 'filled',
        side: 'buy',
        size: 1,
        filledSize: 1,
        venueTs: 1,
        receivedAt: 2,
        fill: { price: -1, size: 1, fee: 0 },
      }),
    ).toThrow(/fill.price/);
    expect(() =>
      ModelReadyContract.encode({ inst: 'BTC-USDT', tf: '1H', name: 'kronos', version: 'abc', artifacts: [], createdAt: 1, expiresAt: 2 }),
    ).toThrow(/artifacts/);
  });
});
