// Public face of @kokex/plugin-binance-sim. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { binanceSimActor } from './actor.js';

export {
  BINANCE_SIM_DEFAULT_PORT,
  binanceReplayData,
  binanceReplayFromPlans,
  binanceSimActor,
  binanceSimConfigSchema,
  createBinanceSimLogic,
} from './actor.js';

export { loadBars, parseBarCsv, syntheticBars } from './data.js';
export { BinanceReject, BTCUSDT, orderJson, TradingEngine } from './engine.js';
export { DEFAULT_BINANCE_SIM_FAULTS, FaultDice, parseBinanceFaultSpec } from './faults.js';
export { dec, INTERVAL_MS, klineEvent, klineRow, MarketTape } from './market.js';
export { DEFAULT_REST_LIMITS, RestRouter } from './rest.js';
export { BinanceSimulator, DEFAULT_BINANCE_SIM_KEY } from './simulator.js';
export { DEFAULT_WS_OPTIONS, WsGateway } from './ws.js';

export type { BinanceSimConfig } from './actor.js';
export type { SimBar, SimBarSource } from './data.js';
export type { AccountEvent, SimAccountState, SimOrder, SimOrderStatus, SimPosition, SimSymbol } from './engine.js';
export type { BinanceSimFaults } from './faults.js';
export type { Kline } from './market.js';
export type { RestLimits, SimApiKey } from './rest.js';
export type { BinanceSimStats, BinanceSimulatorAddress, BinanceSimulatorOptions } from './simulator.js';
export type { WsConnectionInfo, WsOptions, WsRoot } from './ws.js';

/** The plugin: the `binance-sim` actor kind (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-binance-sim', version: '0.1.0', actors: [binanceSimActor] });
