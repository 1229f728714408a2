// Public face of @kokex/plugin-okx-sim. Explicit exports only: values first, then types.

export type { SimCredential } from './auth.js';
export type { RunningSimulator, RunSimulatorOptions } from './cli.js';
export { parseSimulatorArgs, runSimulator } from './cli.js';
export type { SimStats } from './context.js';
export { SimError, SimErrorCode } from './errors.js';
export type { SimFaults } from './faults.js';
export { DEFAULT_FAULTS, parseFaultSpec } from './faults.js';
export type { SimCandle, SimDataSource, SyntheticCandleOptions } from './market/data-source.js';
export { loadCandles, parseCandleCsv, syntheticCandles } from './market/data-source.js';
export type { AggBar } from './market/tape.js';
export { MarketTape, pricePath } from './market/tape.js';
export type { OkxSimulatorAddress, OkxSimulatorOptions } from './simulator.js';
export { DEFAULT_SIM_CREDENTIAL, OkxSimulator } from './simulator.js';
export type { SimAccount, SimInstrument, SimOrder, SimPosition } from './trading/model.js';
