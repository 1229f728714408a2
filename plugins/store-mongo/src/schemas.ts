import { AGENT_TRIGGERS, HistoryCollection, INTENT_ORIGINS, ORDER_EVENT_KINDS, ORDER_SIDES, ORDER_TYPES, TURN_ROLES } from '@kokex/core';
import { type Connection, type Model, Schema } from 'mongoose';

/**
 * The MongoDB documents, one mongoose schema per collection. Each has the unique index that keys
 * its projection writes, so a replay can never add a second copy even if two projectors race;
 * `projectedAt` is set once, when the document is first written.
 */
const { Mixed } = Schema.Types;

const options = { timestamps: { createdAt: 'projectedAt', updatedAt: false }, versionKey: false } as const;

/** Where the document came from on the bus. */
const busFields = {
  messageId: { type: String, required: true },
  correlationId: { type: String, required: true, index: true },
  causationId: String,
  source: String,
  at: { type: Date, required: true },
};

const tokens = new Schema({ inputTokens: Number, outputTokens: Number }, { _id: false });
const wireError = new Schema({ code: String, message: String, retryable: Boolean, data: Mixed }, { _id: false });

const conversation = new Schema(
  {
    plan: { type: String, required: true },
    conversation: { type: String, required: true },
    trigger: { type: String, enum: AGENT_TRIGGERS },
    /** Earliest part start and latest part end. */
    startedAt: Date,
    endedAt: Date,
    lastPart: Number,
    /**
     * One summary per part, keyed by part number: provider, model, inst, tf, tools, limits,
     * system, input, cause, startedAt; then endedAt, reason, turns, toolCalls, tokens, costUsd,
     * answer, error, intents, durationMs. Mixed, because parts are written field by field.
     */
    parts: { type: Mixed, default: undefined },
  },
  options,
);
conversation.index({ plan: 1, conversation: 1 }, { unique: true });
conversation.index({ plan: 1, startedAt: -1 });

const message = new Schema(
  {
    plan: { type: String, required: true },
    conversation: { type: String, required: true },
    part: { type: Number, required: true, min: 0 },
    seq: { type: Number, required: true, min: 0 },
    trigger: { type: String, enum: AGENT_TRIGGERS },
    role: { type: String, required: true, enum: TURN_ROLES },
    turn: { type: Number, min: 0 },
    content: { type: String, default: '' },
    toolCalls: [new Schema({ id: String, name: String, args: Mixed }, { _id: false })],
    usage: tokens,
    createdAt: { type: Date, required: true },
    ...busFields,
  },
  options,
);
message.index({ plan: 1, conversation: 1, part: 1, seq: 1 }, { unique: true });

const toolCall = new Schema(
  {
    plan: { type: String, required: true },
    conversation: { type: String, required: true },
    part: { type: Number, required: true, min: 0 },
    callId: { type: String, required: true },
    name: String,
    args: Mixed,
    turn: Number,
    requestedSeq: Number,
    callSeq: Number,
    requestedAt: Date,
    ok: Boolean,
    result: String,
    error: wireError,
    intent: new Schema({ clientOrderId: String, subject: String, messageId: String, cancels: String }, { _id: false }),
    resultSeq: Number,
    completedAt: Date,
  },
  options,
);
toolCall.index({ plan: 1, conversation: 1, part: 1, callId: 1 }, { unique: true });

const orderFields = {
  plan: { type: String, required: true },
  clientOrderId: { type: String, required: true },
  venue: { type: String, required: true },
  inst: { type: String, required: true },
  side: { type: String, required: true, enum: ORDER_SIDES },
  size: { type: Number, required: true },
  type: { type: String, required: true, enum: ORDER_TYPES },
  price: Number,
  reduceOnly: Boolean,
};

const orderIntent = new Schema(
  {
    ...orderFields,
    origin: new Schema({ kind: { type: String, enum: INTENT_ORIGINS }, who: String, why: String }, { _id: false }),
    /** What the intent acted on: `{kind: forecast, id, inst, tf, asOf}`, a trigger, or manual. */
    basis: Mixed,
    refs: Mixed,
    ...busFields,
  },
  options,
);
orderIntent.index({ plan: 1, clientOrderId: 1 }, { unique: true });

const orderVerdict = new Schema(
  {
    plan: { type: String, required: true },
    clientOrderId: { type: String, required: true },
    inst: { type: String, required: true },
    decision: { type: String, required: true, enum: ['approve', 'deny'] },
    reason: { type: String, required: true },
    rule: String,
    limit: Mixed,
    value: Mixed,
    message: String,
    size: Number,
    price: Number,
    ...busFields,
  },
  options,
);
orderVerdict.index({ plan: 1, clientOrderId: 1 }, { unique: true });

const order = new Schema({ ...orderFields, ...busFields }, options);
order.index({ plan: 1, clientOrderId: 1 }, { unique: true });

const orderEvent = new Schema(
  {
    plan: { type: String, required: true },
    orderId: { type: String, required: true },
    eventType: { type: String, required: true },
    kind: { type: String, required: true, enum: ORDER_EVENT_KINDS },
    clientOrderId: String,
    venueOrderId: String,
    venue: { type: String, required: true },
    inst: { type: String, required: true },
    side: { type: String, enum: ORDER_SIDES },
    type: { type: String, enum: ORDER_TYPES },
    price: Number,
    size: Number,
    filledSize: Number,
    avgPrice: Number,
    fill: new Schema({ price: Number, size: Number, fee: Number, feeCcy: String, tradeId: String }, { _id: false }),
    reason: String,
    venueTs: Number,
    receivedAt: Number,
    venueAt: Date,
    ...busFields,
  },
  options,
);
// The seed's index: one document per (plan, order id, event type); see orderEventType().
orderEvent.index({ plan: 1, orderId: 1, eventType: 1 }, { unique: true });

/** The schema of each collection. */
export const historySchemas: Readonly<Record<HistoryCollection, Schema>> = {
  [HistoryCollection.conversations]: conversation,
  [HistoryCollection.messages]: message,
  [HistoryCollection.toolCalls]: toolCall,
  [HistoryCollection.orderIntents]: orderIntent,
  [HistoryCollection.orderVerdicts]: orderVerdict,
  [HistoryCollection.orders]: order,
  [HistoryCollection.orderEvents]: orderEvent,
};

export type HistoryModels = Record<HistoryCollection, Model<Record<string, unknown>>>;

/** The models on one connection (an unopened one will do for validation). */
export function historyModels(connection: Connection): HistoryModels {
  const entries = Object.entries(historySchemas).map(([collection, schema]) => {
    const name = `kokex_${collection}`;
    const model = connection.models[name] ?? connection.model(name, schema, collection);
    return [collection, model as Model<Record<string, unknown>>];
  });
  return Object.fromEntries(entries) as HistoryModels;
}

/** The fields of a collection's unique index, in order: what every write's key must be (`HISTORY_KEYS`). */
export function uniqueKeys(collection: HistoryCollection): string[] {
  const unique = historySchemas[collection].indexes().find(([, options]) => options?.unique);
  return unique ? Object.keys(unique[0]) : [];
}
