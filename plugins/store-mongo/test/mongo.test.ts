import { randomBytes } from 'node:crypto';
import { HistoryCollection } from '@kokex/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoHistoryStore } from '../src/index.js';
import { sampleWrites } from './fixtures.js';

/**
 * Against a real MongoDB, only when MONGO_URL names one (none can be installed on the CI
 * machines): the indexes are built, a second apply inserts nothing, racing upserts leave one
 * document. The history actor end to end on MongoDB is in actors/history/test/mongo.test.ts.
 */
const MONGO_URL = process.env.MONGO_URL?.trim();
if (!MONGO_URL)
  console.warn('[plugins/store-mongo] MONGO_URL is not set: the MongoDB integration tests are skipped (schemas are tested without a server)');

describe.skipIf(!MONGO_URL)('mongo store on MongoDB (needs MONGO_URL)', () => {
  const database = `kokex_test_${randomBytes(4).toString('hex')}`;
  let store: MongoHistoryStore;

  beforeAll(async () => {
    store = new MongoHistoryStore({ url: MONGO_URL as string, database, connectTimeoutMs: 5000 });
    await store.open();
  });
  afterAll(async () => {
    await store?.connection.dropDatabase().catch(() => undefined);
    await store?.close();
  });

  it('builds the unique indexes, including (plan, orderId, eventType)', async () => {
    const indexes = await store.models.orderevents.collection.indexes();
    expect(indexes).toContainEqual(expect.objectContaining({ key: { plan: 1, orderId: 1, eventType: 1 }, unique: true }));
  });

  it('inserts each document once: applying the same writes again finds them all', async () => {
    const writes = sampleWrites('p-again', 'again1');
    expect(await store.apply(writes)).toEqual({ inserted: 7, existing: 0 });
    expect(await store.apply(writes)).toEqual({ inserted: 0, existing: 7 });
    const [conversation] = await store.find(HistoryCollection.conversations, { plan: 'p-again' });
    expect(conversation).toMatchObject({ trigger: 'auto_inference', parts: { 0: { reason: 'answered' } }, lastPart: 0 });
  });

  it('leaves one document when two upserts of a new key race', async () => {
    const writes = sampleWrites('p-race', 'race1').filter((w) => w.collection === HistoryCollection.orderEvents);
    const results = await Promise.all([store.apply(writes), store.apply(writes), store.apply(writes)]);
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(1);
    expect(await store.models.orderevents.countDocuments({ orderId: 'race1' })).toBe(1);
  });
});
