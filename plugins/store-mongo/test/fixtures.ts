import { HistoryCollection, type HistoryWrite } from '@kokex/core';

/**
 * Writes as the history actor makes them (its projections are tested against this store through
 * `check` in actors/history; a plugin never imports an actor): one per collection.
 */
const bus = (id: string) => ({ messageId: id, correlationId: `corr-${id}`, source: 'store-test', at: new Date(1_767_225_600_000) });
const order = { venue: 'okx', inst: 'BTC-USDT-SWAP', side: 'buy', size: 0.01, type: 'market' };

export function sampleWrites(plan = 'p1', clientOrderId = 'o1'): HistoryWrite[] {
  const conversation = { plan, conversation: `c-${clientOrderId}` };
  return [
    {
      collection: HistoryCollection.conversations,
      key: conversation,
      set: { trigger: 'auto_inference', 'parts.0.provider': 'offline-policy', 'parts.0.reason': 'answered' },
      min: { startedAt: new Date(1) },
      max: { endedAt: new Date(2), lastPart: 0 },
    },
    {
      collection: HistoryCollection.messages,
      key: { ...conversation, part: 0, seq: 1 },
      insert: { role: 'user', turn: 0, content: 'A new forecast arrived.', toolCalls: [], createdAt: new Date(1), ...bus('m1') },
    },
    {
      collection: HistoryCollection.toolCalls,
      key: { ...conversation, part: 0, callId: 'call_1' },
      set: { name: 'get_forecast', args: {}, turn: 1, requestedSeq: 2, ok: true, result: '{}', resultSeq: 4 },
    },
    { collection: HistoryCollection.orderIntents, key: { plan, clientOrderId }, insert: { ...order, origin: { kind: 'agent' }, ...bus('i1') } },
    {
      collection: HistoryCollection.orderVerdicts,
      key: { plan, clientOrderId },
      insert: { inst: order.inst, decision: 'approve', reason: 'OK', ...bus('v1') },
    },
    { collection: HistoryCollection.orders, key: { plan, clientOrderId }, insert: { ...order, reduceOnly: false, ...bus('a1') } },
    {
      collection: HistoryCollection.orderEvents,
      key: { plan, orderId: clientOrderId, eventType: 'accepted' },
      insert: { kind: 'accepted', clientOrderId, ...order, filledSize: 0, venueTs: 1, receivedAt: 2, venueAt: new Date(1), ...bus('e1') },
    },
  ];
}
