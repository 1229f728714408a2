import { exchangeConformance } from '@kokex/core/testing';
import { BinanceSimulator, syntheticBars } from '@kokex/plugin-binance-sim';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createBinanceAdapter } from '../src/index.js';

/** core's exchange-adapter conformance suite, run by the Binance adapter against the Binance simulator. */
const MIN = 60_000;
const START = Date.UTC(2026, 0, 5);
const HISTORY_BARS = 4000;

exchangeConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'binance on binance-sim',
    async setup() {
      const sim = new BinanceSimulator({
        data: syntheticBars({ count: HISTORY_BARS + 400, start: START, startPrice: 60_000 }),
        startAt: START + HISTORY_BARS * MIN,
        limits: { faultRetryAfterSec: 1 },
      });
      const { port } = await sim.start({ port: 0 });
      const adapter = createBinanceAdapter(
        {
          mode: 'sim',
          simPort: port,
          ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200 },
          http: { retryDelayMs: 50, maxRetries: 3, maxRetryDelayMs: 100, timeoutMs: 3000 },
        },
        {},
      );
      return {
        market: adapter,
        execution: adapter,
        inst: 'BTCUSDT',
        tf: '1m',
        orderSize: 0.01,
        unknownInst: 'NOSUCHUSDT',
        instrument: { instType: 'SWAP', tickSize: 0.1, lotSize: 0.001, minSize: 0.001, contractValue: 1, baseCcy: 'BTC', quoteCcy: 'USDT' },
        // 3000 bars: two full pages of 1500 and the venue limit is exceeded.
        history: { since: START + 500 * MIN, until: START + 3500 * MIN, venuePageLimit: 1500 },
        amend: (ref, change) => adapter.amendOrder(ref, change),
        peer: {
          now: () => sim.now(),
          price: () => sim.price(),
          advance: () => void sim.step(1),
          dropConnections: () => void sim.dropConnections(),
          // Binance's own unknown outcome: the order is placed, the answer is -1007.
          async withLostResponses<T>(body: () => Promise<T>): Promise<T> {
            const before = sim.stats().unknownStatus;
            sim.setFaults({ unknownStatus: 1 });
            let result: T;
            try {
              result = await body();
            } finally {
              sim.setFaults({ unknownStatus: 0 });
            }
            // The fault did fire: the adapter met a real -1007, not a quiet success.
            if (sim.stats().unknownStatus <= before) throw new Error('no -1007 was answered');
            return result;
          },
          setRateLimited: (on: boolean) => sim.setFaults({ rateLimit429: on ? 1 : 0 }),
        },
        async close() {
          await adapter.close();
          await sim.stop();
        },
      };
    },
  },
);
