import { ApprovedOrderContract, OrderEventContract, OrderIntentContract, OrderVerdictContract } from '@kokex/core';
import { createConnection } from 'mongoose';
import { describe, expect, it } from 'vitest';
import {
  AgentTurnContract,
  agentTurnMessageId,
  agentTurnSchema,
  bulkOpsFor,
  HistoryCollection,
  type HistoryWrite,
  historyModels,
  historySchemas,
  orderEventType,
  orderIdOf,
  projectApproved,
  projectIntent,
  projectOrderEvent,
  projectTurn,
  projectVerdict,
  UNKNOWN_PLAN,
} from '../src/index.js';
import { conversationTurns, MemoryHistoryStore, orderPath, SCENARIO_DOCUMENTS } from './support.js';

// An unopened connection: models validate and declare indexes without any server.
const models = historyModels(createConnection());

/** The documents a list of writes leaves, made by the memory store (MongoDB's upsert semantics). */
async function documentsOf(writes: HistoryWrite[]): Promise<Array<{ collection: HistoryCollection; doc: Record<string, unknown> }>> {
  const store = new MemoryHistoryStore();
  await store.apply(writes);
  return [...store.docs.entries()].flatMap(([collection, docs]) =>
    [...docs.values()].map((doc) => ({ collection: collection as HistoryCollection, doc })),
  );
}

function scenarioWrites(): HistoryWrite[] {
  const turns = conversationTurns('c1').map((t) => AgentTurnContract.envelope(t, { id: agentTurnMessageId(t), time: 1 }));
  const path = orderPath('abc1');
  return [
    ...turns.flatMap(projectTurn),
    ...projectIntent(OrderIntentContract.envelope(path.intent, { id: 'i' })),
    ...projectVerdict(OrderVerdictContract.envelope(path.verdict, { id: 'v' })),
    ...projectApproved(ApprovedOrderContract.envelope(path.approved, { id: 'a' })),
    ...path.events.flatMap((e, i) => projectOrderEvent(OrderEventContract.envelope(e, { id: `e${i}` }))),
  ];
}

describe('history schemas (no server)', () => {
  it('declares a unique index per collection, keyed as its projection writes', () => {
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
    for (const w of scenarioWrites()) expect(unique[w.collection]).toContainEqual(Object.keys(w.key));
  });

  it('stores each model in the collection its projection names', () => {
    for (const [collection, model] of Object.entries(models)) expect(model.collection.collectionName).toBe(collection);
  });

  it('accepts every document the projections make, and every field they write is a schema path', async () => {
    const counts: Record<string, number> = {};
    for (const { collection, doc } of await documentsOf(scenarioWrites())) {
      counts[collection] = (counts[collection] ?? 0) + 1;
      await expect(new models[collection](doc).validate()).resolves.toBeUndefined();
      for (const field of Object.keys(doc))
        expect(historySchemas[collection].path(field) ?? historySchemas[collection].pathType(field)).not.toBe('adhocOrUndefined');
    }
    expect(counts).toEqual(SCENARIO_DOCUMENTS);
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

describe('history projections', () => {
  it('turns each write into an upsert: creation fields on insert only, the rest set every time', () => {
    const [intentWrite] = projectIntent(OrderIntentContract.envelope(orderPath('x1').intent, { id: 'i', correlationId: 'c', time: 5 }));
    expect(bulkOpsFor([intentWrite!])).toEqual([
      {
        updateOne: {
          filter: { plan: 'hist-demo', clientOrderId: 'x1' },
          update: {
            $setOnInsert: expect.objectContaining({ side: 'buy', size: 0.01, messageId: 'i', correlationId: 'c', at: new Date(5) }),
          },
          upsert: true,
        },
      },
    ]);
    const ended = projectTurn(AgentTurnContract.envelope(conversationTurns('c9')[9]!, { time: 7 }));
    expect(bulkOpsFor(ended)[0]?.updateOne.update).toEqual({
      $set: expect.objectContaining({
        trigger: 'auto_inference',
        'parts.0.reason': 'answered',
        'parts.0.turns': 3,
        'parts.0.intents': ['abc1'],
      }),
      $max: { endedAt: new Date(7), lastPart: 0 },
    });
  });

  it('keys each partial fill by its cumulative size, other events by their kind', () => {
    expect(orderEventType({ kind: 'filled', filledSize: 1 })).toBe('filled');
    expect(orderEventType({ kind: 'partially_filled', filledSize: 0.004 })).toBe('partially_filled:0.004');
    const writes = orderPath('x2').events.flatMap((e) => projectOrderEvent(OrderEventContract.envelope(e)));
    expect(writes.map((w) => w.key.eventType)).toEqual(['accepted', 'partially_filled:0.004', 'filled']);
  });

  it('keys an event without plan or client order id by the venue order id or the message id', () => {
    const { plan: _p, clientOrderId: _c, ...foreign } = orderPath('x3').events[0]!;
    const env = OrderEventContract.envelope(foreign, { id: 'm-1' });
    expect(projectOrderEvent(env)[0]?.key).toEqual({ plan: UNKNOWN_PLAN, orderId: 'venue:v-x3', eventType: 'accepted' });
    const { venueOrderId: _v, ...bare } = foreign;
    expect(orderIdOf(OrderEventContract.envelope(bare, { id: 'm-2' }))).toBe('message:m-2');
  });

  it('records tool calls from the assistant message and completes them from the tool result, in any order', async () => {
    const writes = conversationTurns('c1').flatMap((t) => projectTurn(AgentTurnContract.envelope(t)));
    for (const order of [writes, [...writes].reverse()]) {
      const docs = await documentsOf(order);
      const placeOrder = docs.find((d) => d.collection === 'toolcalls' && d.doc.callId === 'call_2')?.doc;
      expect(placeOrder).toMatchObject({
        name: 'place_order',
        part: 0,
        requestedSeq: 5,
        callSeq: 6,
        resultSeq: 7,
        ok: true,
        intent: { clientOrderId: 'abc1' },
      });
      const conversation = docs.find((d) => d.collection === 'conversations')?.doc;
      expect(conversation).toMatchObject({
        trigger: 'auto_inference',
        lastPart: 0,
        parts: { 0: { provider: 'offline-policy', reason: 'answered', costUsd: 0 } },
      });
    }
  });
});

describe('the agent.turn contract', () => {
  it('accepts the records of a conversation and refuses a conversation id that is no subject token', () => {
    for (const t of conversationTurns('c-1_x')) expect(agentTurnSchema.safeParse(t).success).toBe(true);
    expect(agentTurnSchema.safeParse({ ...conversationTurns('c.1')[0]! }).success).toBe(false);
    expect(agentTurnSchema.safeParse({ ...conversationTurns('c1')[0]!, trigger: 'whim' }).success).toBe(false);
  });
});
