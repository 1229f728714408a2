// Public face of @kokex/plugin-paper. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { paperExecutionAdapter } from './adapter.js';

export type { InstrumentRules } from './adapter.js';
export { createPaperExecutionAdapter, PaperExecutionAdapter, paperExecutionAdapter } from './adapter.js';
export type { ContractOf, PaperCandle, PaperFees, PaperOrder, PaperPosition, PaperState } from './book.js';
export { emptyPaperState, PaperBook, venueOrderOf } from './book.js';
export type { PaperConfig, PaperOptions } from './config.js';
export { DEFAULT_CONTRACTS, paperConfigSchema } from './config.js';
export { PaperErrorCode, PaperInstrumentUnavailableError, PaperNoBusError, PaperStateError } from './errors.js';

/** The plugin: the `execution` adapter named `paper` (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-paper', version: '0.1.0', adapters: [paperExecutionAdapter] });
