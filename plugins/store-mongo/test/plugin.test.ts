import { resolve } from 'node:path';
import { AdapterPort, AdapterRegistry, adapterFor, type LoadedPlugin, loadPlugin } from '@kokex/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MongoHistoryStore } from '../src/index.js';
import { sampleWrites } from './fixtures.js';

let plugin: LoadedPlugin;
beforeAll(async () => {
  plugin = await loadPlugin(resolve(import.meta.dirname, '..'));
});

function registry(): AdapterRegistry {
  const r = new AdapterRegistry();
  for (const adapter of plugin.definition.adapters ?? []) r.register(adapter);
  return r;
}

describe('the store-mongo plugin', () => {
  it('loads through the host loader with a manifest that matches its adapter', () => {
    expect(plugin.pkg.manifest.adapters).toEqual([{ port: 'store', name: 'mongo' }]);
    expect(plugin.definition.adapters?.map((a) => `${a.port}:${a.name}`)).toEqual(['store:mongo']);
  });

  it('is resolved on the store port without reaching a server, its URL masked in what it says', async () => {
    const store = await adapterFor(
      registry(),
      AdapterPort.store,
      { name: 'mongo', config: { url: 'mongodb://kokex:s3cret@127.0.0.1:9/kokex' } },
      { mongo: { database: 'other', connectTimeoutMs: 200 } },
    );
    // The loader imports the plugin in a module namespace of its own: same class, another identity.
    expect(store.constructor.name).toBe(MongoHistoryStore.name);
    expect((store as MongoHistoryStore).config).toEqual({ url: 'mongodb://kokex:s3cret@127.0.0.1:9/kokex', database: 'other', connectTimeoutMs: 200 });
    expect(store.describe()).toBe('mongodb mongodb://kokex:***@127.0.0.1:9/kokex');
    expect(store.describe()).not.toContain('s3cret');
  });

  it('refuses a URL that is not MongoDB, config it does not know, and a server that does not answer, with codes', async () => {
    const r = registry();
    await expect(r.resolve('store', 'mongo', { url: 'postgres://localhost/x' })).rejects.toMatchObject({ code: 'STORE_MONGO_URL', retryable: false });
    await expect(r.resolve('store', 'mongo', { url: 'mongodb://127.0.0.1:9', password: 'x' })).rejects.toMatchObject({
      code: 'KOKEX_ADAPTER_CONFIG',
    });
    // Port 9 (discard) has no MongoDB: open() gives up after connectTimeoutMs, retryably, URL masked.
    const store = await r.resolve<MongoHistoryStore>('store', 'mongo', { url: 'mongodb://u:pw@127.0.0.1:9/x', connectTimeoutMs: 300 });
    const failure = await store.open().catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'STORE_MONGO_UNREACHABLE', retryable: true });
    expect((failure as Error).message).toContain('mongodb://u:***@127.0.0.1:9/x');
    // Nothing is written through a store that is not open: a retryable error, so the message is redelivered.
    await expect(store.apply(sampleWrites())).rejects.toMatchObject({ code: 'STORE_MONGO_WRITE', retryable: true });
    await store.close();
  });
});
