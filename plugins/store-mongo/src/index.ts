// Public face of @kokex/plugin-store-mongo. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { mongoStoreAdapter } from './adapter.js';

export { MONGO_STORE, mongoStoreAdapter } from './adapter.js';
export { mongoStoreConfigSchema } from './config.js';
export { documentsOf } from './documents.js';
export { MongoStoreErrorCode, MongoStoreUnreachableError, MongoStoreUrlError, MongoStoreWriteError, redactMongoUrl } from './errors.js';
export { historyModels, historySchemas, uniqueKeys } from './schemas.js';
export { bulkOpsFor, MongoHistoryStore } from './store.js';

export type { MongoStoreConfig, MongoStoreOptions } from './config.js';
export type { HistoryModels } from './schemas.js';

/** The plugin: the `store` adapter named `mongo` (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-store-mongo', version: '0.1.0', adapters: [mongoStoreAdapter] });
