import { exchangeConformance } from '@kokex/core/testing';
import { OkxSimulator, syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createOkxVenueAdapter } from '../src/index.js';

/** core's exchange-adapter conformance suite, run by the OKX adapter against the OKX simulator. */
const MIN = 60_000;
const START = Date.UTC(2026, 0, 5);
const HISTORY_BARS = 1000;
const TIMEOUT_MS = 600;

exchangeConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'okx on okx-sim',
    async setup() {
      const data = syntheticCandles({ count: HISTORY_BARS + 400, start: START, startPrice: 40_000 });
      const sim = new OkxSimulator({ data, startAt: START + HISTORY_BARS * MIN, idleTimeoutMs: 0 });
      const { port } = await sim.start({ port: 0 });
      const adapter = createOkxVenueAdapter(
        {
          mode: 'sim',
          simPort: port,
          ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200, requestTimeoutMs: 2000 },
          http: { retryDelayMs: 100, maxRetries: 4, timeoutMs: TIMEOUT_MS },
        },
        {},
      );
      return {
        market: adapter,
        execution: adapter,
        inst: 'BTC-USDT-SWAP',
        tf: '1m',
        orderSize: 1,
        instrument: { instType: 'SWAP', tickSize: 0.1, lotSize: 0.01, minSize: 0.01, contractValue: 0.01 },
        history: { since: START + 100 * MIN, until: START + 900 * MIN, venuePageLimit: 300 },
        peer: {
          now: () => sim.now(),
          price: () => sim.price(),
          advance: () => void sim.stepBars(1),
          dropConnections: () => void sim.dropConnections(),
          async withLostResponses<T>(body: () => Promise<T>): Promise<T> {
            sim.setFaults({ slowResponseMs: TIMEOUT_MS * 3 });
            try {
              return await body();
            } finally {
              sim.setFaults({ slowResponseMs: 0 });
            }
          },
          setRateLimited: (on: boolean) => sim.setFaults({ rateLimit50011: on ? 1 : 0 }),
        },
        async close() {
          await adapter.close();
          await sim.stop();
        },
      };
    },
  },
);
