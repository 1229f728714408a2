import { type AdapterDefinition, AdapterPort, type HistoryStore } from '@kokex/core';
import { type MongoStoreConfig, mongoStoreConfigSchema } from './config.js';
import { MongoHistoryStore } from './store.js';

/** The adapter name: `store: {adapter: mongo}` in the history actor's config (its default). */
export const MONGO_STORE = 'mongo';

/** `{port: 'store', name: 'mongo'}`: resolved by the history actor through core's adapter registry. No I/O until `open()`. */
export const mongoStoreAdapter: AdapterDefinition<HistoryStore> = {
  port: AdapterPort.store,
  name: MONGO_STORE,
  description: 'Conversation and order history in MongoDB (mongoose), one unique index per collection',
  configSchema: mongoStoreConfigSchema,
  // The registry has parsed the config with `configSchema`.
  create: (config) => new MongoHistoryStore(config as MongoStoreConfig),
};
