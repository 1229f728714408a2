/**
 * The `store` adapter port: where the history projector keeps conversations and the order path.
 * The projector turns bus messages into `HistoryWrite`s without I/O; a store applies them. Nothing
 * here names a database: `@kokex/plugin-store-mongo` is one implementation (adapter `mongo`), a test
 * may register another.
 */

/** The collections of the history, each one document per its key (`HISTORY_KEYS`). */
export const HistoryCollection = {
  conversations: 'conversations',
  messages: 'messages',
  toolCalls: 'toolcalls',
  orderIntents: 'orderintents',
  orderVerdicts: 'orderverdicts',
  orders: 'orders',
  orderEvents: 'orderevents',
} as const;
export type HistoryCollection = (typeof HistoryCollection)[keyof typeof HistoryCollection];

/**
 * The identity of a document in each collection: the fields of every write's `key`, in order. A
 * store must keep at most one document per key (MongoDB: a unique index), so that a replay or two
 * racing projectors never add a second copy.
 */
export const HISTORY_KEYS: Readonly<Record<HistoryCollection, readonly string[]>> = {
  [HistoryCollection.conversations]: ['plan', 'conversation'],
  [HistoryCollection.messages]: ['plan', 'conversation', 'part', 'seq'],
  [HistoryCollection.toolCalls]: ['plan', 'conversation', 'part', 'callId'],
  [HistoryCollection.orderIntents]: ['plan', 'clientOrderId'],
  [HistoryCollection.orderVerdicts]: ['plan', 'clientOrderId'],
  [HistoryCollection.orders]: ['plan', 'clientOrderId'],
  [HistoryCollection.orderEvents]: ['plan', 'orderId', 'eventType'],
};

/**
 * One upsert. Every write is keyed, creates its document once (`insert`) and writes only values
 * its message fixes (`set`), so applying it twice changes nothing.
 */
export interface HistoryWrite {
  collection: HistoryCollection;
  /** The key's fields (`HISTORY_KEYS`): the document's identity. */
  key: Record<string, string | number>;
  /** Written when the document is created, never changed after. */
  insert?: Record<string, unknown>;
  /** Written every time; dotted paths reach into sub-documents (`parts.0.reason`). */
  set?: Record<string, unknown>;
  /** Kept when smaller (first start) or larger (last end) than what the document has. */
  min?: Record<string, unknown>;
  max?: Record<string, unknown>;
}

export interface HistoryApplyResult {
  /** Documents created. */
  inserted: number;
  /** Writes that found their document already there (a replay, or a second message about it). */
  existing: number;
}

/** Why a store would refuse a write: the document it would make breaks the store's schema. */
export interface HistoryWriteIssue {
  collection: HistoryCollection;
  key: Record<string, string | number>;
  /** The field at fault, when there is one. */
  field?: string;
  message: string;
}

/**
 * What the history projector needs from a store (`AdapterPort.store`). An adapter's `create`
 * must not do I/O: the actor calls `open()` when it starts, so a host can resolve a store without
 * reaching its server.
 */
export interface HistoryStore {
  /** Connects and prepares what the keys need (indexes); again after `close()` reconnects. */
  open(): Promise<void>;
  /** Applies the writes; a write whose document exists only updates its `set`/`min`/`max` fields. */
  apply(writes: readonly HistoryWrite[]): Promise<HistoryApplyResult>;
  /** The documents of a collection whose fields equal `where` (all of them without). */
  find(collection: HistoryCollection, where?: Record<string, string | number | boolean>): Promise<Array<Record<string, unknown>>>;
  /** The issues the store would refuse these writes for, without writing (and without a server). */
  check(writes: readonly HistoryWrite[]): Promise<HistoryWriteIssue[]>;
  close(): Promise<void>;
  /** What the status line says about the store (no secrets: a URL's password is masked). */
  describe(): string;
}
