// Public face of @kokex/plugin-okx-sim. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { okxSimActor } from './actor.js';
import { simCommand } from './command.js';

export type { OkxSimConfig } from './actor.js';
export { createOkxSimLogic, OKX_SIM_DEFAULT_PORT, okxSimActor, okxSimConfigSchema, replayFromPlans } from './actor.js';
export { simCommand } from './command.js';
export { kvAccountStore, resetSimAccounts, simAccountKey } from './account-store.js';
export type { LockstepControl } from './lockstep.js';
export { serveLockstep, simOrderStates } from './lockstep.js';
export type { ReplayData, ReplayDataOptions } from './replay-data.js';
export { chooseReplayData, replayStart, spotInstrument } from './replay-data.js';

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
export type { OkxSimulatorAddress, OkxSimulatorOptions, SimAccountStore } from './simulator.js';
export type { EngineSnapshot } from './trading/engine.js';
export { DEFAULT_SIM_CREDENTIAL, OkxSimulator } from './simulator.js';
export type { SimAccount, SimInstrument, SimOrder, SimPosition } from './trading/model.js';

/** The plugin: the `okx-sim` actor kind and the `sim` command (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-okx-sim', version: '0.1.0', actors: [okxSimActor], commands: [simCommand] });
