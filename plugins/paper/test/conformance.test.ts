import { CandleContract, subject } from '@kokex/core';
import { exchangeConformance, startTestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createPaperExecutionAdapter } from '../src/index.js';

/**
 * core's exchange-adapter conformance suite, run by the paper venue against itself: what applies
 * to an execution-only venue (orders, idempotency, events, fills, positions, balances, refusals).
 * Its peer is the bus: advancing the market publishes the next closed candle, as the feed stores it.
 */
const MIN = 60_000;
const INST = 'BTC-USDT-SWAP';
const PRICE = 40_000;

exchangeConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'paper on the bus',
    async setup() {
      const nats = await startTestNats();
      let ts = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
      const publish = async () => {
        const c = {
          venue: 'okx',
          inst: INST,
          tf: '1m',
          ts,
          open: PRICE,
          high: PRICE,
          low: PRICE,
          close: PRICE,
          volume: 1,
          confirmed: true,
        };
        await nats.bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: INST, tf: '1m' }), c, { id: `c:${ts}` });
        ts += MIN;
      };
      await publish();
      const adapter = createPaperExecutionAdapter({ account: 'conformance', candles: { venue: 'okx', tf: '1m' } }, nats.bus);
      return {
        execution: adapter,
        inst: INST,
        tf: '1m',
        orderSize: 1,
        instrument: { tickSize: 0.1 },
        peer: { now: () => ts, price: () => PRICE, advance: publish },
        async close() {
          await adapter.close();
          await nats.stop();
        },
      };
    },
  },
);
