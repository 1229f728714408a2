import { HISTORY_KEYS, HistoryCollection } from '@kokex/core';
import { createConnection } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { bulkOpsFor, documentsOf, historyModels, historySchemas, MongoHistoryStore, uniqueKeys } from '../src/index.js';
import { sampleWrites } from './fixtures.js';

// An unopened connection: models validate and declare indexes without any server.
const models = historyModels(createConnection());

describe('mongo store schemas (no server)', () => {
  it('declares a unique index per collection, keyed as the store port says', () => {
    const unique = Object.fromEntries(
      Object.entries(historySchemas).map(([c, s]) => [
        c,
        s
          .indexes()
          .filter(([, o]) => o?.unique)
          .map(([fields]) => Object.keys(fields)),
      ]),
    );
    expect(unique).toEqual({
      conversations: [['plan', 'conversation']],
      messages: [['plan', 'conversation', 'part', 'seq']],
      toolcalls: [['plan', 'conversation', 'part', 'callId']],
      orderintents: [['plan', 'clientOrderId']],
      orderverdicts: [['plan', 'clientOrderId']],
      orders: [['plan', 'clientOrderId']],
      orderevents: [['plan', 'orderId', 'eventType']],
    });
    for (const c of Object.values(HistoryCollection)) expect(uniqueKeys(c)).toEqual(HISTORY_KEYS[c]);
  });

  it('stores each model in the collection its name says', () => {
    for (const [collection, model] of Object.entries(models)) expect(model.collection.collectionName).toBe(collection);
  });

  it('accepts the documents of well-formed writes, every field a schema path', async () => {
    const docs = documentsOf(sampleWrites());
    expect(docs.map((d) => d.collection).sort()).toEqual(Object.values(HistoryCollection).sort());
    for (const { collection, doc } of docs) {
      await expect(new models[collection](doc).validate()).resolves.toBeUndefined();
      for (const field of Object.keys(doc)) expect(historySchemas[collection].pathType(field)).not.toBe('adhocOrUndefined');
    }
    expect(await new MongoHistoryStore({ url: 'mongodb://127.0.0.1:9/x', connectTimeoutMs: 1 }).check(sampleWrites())).toEqual([]);
  });

  it('rejects documents with missing keys or values outside the contracts', async () => {
    const bad = async (collection: HistoryCollection, doc: Record<string, unknown>) =>
      Object.keys((await new models[collection](doc).validate().catch((e: { errors: Record<string, unknown> }) => e))?.errors ?? {}).sort();
    expect(await bad(HistoryCollection.orderEvents, { plan: 'p', orderId: 'o', kind: 'exploded', venue: 'okx', inst: 'X' })).toEqual([
      'at',
      'correlationId',
      'eventType',
      'kind',
      'messageId',
    ]);
    expect(await bad(HistoryCollection.messages, { plan: 'p', conversation: 'c', seq: -1, role: 'system', createdAt: new Date() })).toEqual(
      ['at', 'correlationId', 'messageId', 'part', 'role', 'seq'],
    );
    expect(await bad(HistoryCollection.conversations, { plan: 'p', conversation: 'c', trigger: 'whim' })).toEqual(['trigger']);
  });
});

describe('mongo store writes', () => {
  it('turns each write into an upsert: creation fields on insert only, the rest set every time', () => {
    const intentWrite = sampleWrites('hist-demo', 'x1').find((w) => w.collection === HistoryCollection.orderIntents);
    expect(bulkOpsFor([intentWrite!])).toEqual([
      {
        updateOne: {
          filter: { plan: 'hist-demo', clientOrderId: 'x1' },
          update: { $setOnInsert: expect.objectContaining({ side: 'buy', size: 0.01, messageId: 'i1', correlationId: 'corr-i1' }) },
          upsert: true,
        },
      },
    ]);
    const [conversation] = sampleWrites();
    expect(bulkOpsFor([conversation!])[0]?.updateOne.update).toEqual({
      $set: { trigger: 'auto_inference', 'parts.0.provider': 'offline-policy', 'parts.0.reason': 'answered' },
      $min: { startedAt: new Date(1) },
      $max: { endedAt: new Date(2), lastPart: 0 },
    });
  });

  it('makes one document per key with upsert semantics: dotted sets nest, min and max keep the bound', () => {
    const [conversation] = sampleWrites();
    const later = { ...conversation!, set: { 'parts.1.reason': 'limit' }, min: { startedAt: new Date(5) }, max: { endedAt: new Date(9), lastPart: 1 } };
    const docs = documentsOf([conversation!, later]);
    expect(docs).toHaveLength(1);
    expect(docs[0]?.doc).toEqual({
      plan: 'p1',
      conversation: 'c-o1',
      trigger: 'auto_inference',
      parts: { 0: { provider: 'offline-policy', reason: 'answered' }, 1: { reason: 'limit' } },
      startedAt: new Date(1),
      endedAt: new Date(9),
      lastPart: 1,
    });
  });
});
