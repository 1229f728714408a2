import { type Plan, parsePlan } from '@kokex/core';

/**
 * Messages the benchmarks publish, from core's public testing entry (a script never imports a
 * package's test folder: docs/architecture.md, "Packages and the import rules").
 */
export { sampleForecast as forecast } from '@kokex/core/testing';

/**
 * The plan the guard benchmarks judge against: on the simulator's clock, limits wide enough that
 * throughput measures judging (not denials), intents living 30 days so a bench's fixed market
 * time never expires them.
 */
export function guardBenchPlan(name: string, inst = 'BTC-USDT-SWAP'): Plan {
  return parsePlan(
    `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: okx, mode: sim, sim: { speed: 1 } }
  instrument: ${inst}
  timeframe: 1m
  risk:
    maxNotional: 1000
    maxPositionNotional: 1000000000
    maxDailyLoss: 1000
    maxOpenOrders: 1000
    orderRate: { perMinute: 10000, perHour: 600000 }
    priceBand: 0.5
    intentTtl: 30d
    requireTradeableForecast: false`,
    `${name}.yaml`,
  );
}
