import type { HistoryApplyResult, HistoryCollection, HistoryStore, HistoryWrite, HistoryWriteIssue } from '@kokex/core';
import { type Connection, createConnection } from 'mongoose';
import type { MongoStoreConfig } from './config.js';
import { documentsOf } from './documents.js';
import { MongoStoreUnreachableError, MongoStoreUrlError, MongoStoreWriteError, redactMongoUrl } from './errors.js';
import { type HistoryModels, historyModels, uniqueKeys } from './schemas.js';

/** A bulkWrite operation per write: an upsert on the unique key, creation-only fields in `$setOnInsert`. */
export function bulkOpsFor(writes: readonly HistoryWrite[]) {
  return writes.map((w) => ({
    updateOne: {
      filter: w.key,
      update: {
        ...(w.insert ? { $setOnInsert: w.insert } : {}),
        ...(w.set ? { $set: w.set } : {}),
        ...(w.min ? { $min: w.min } : {}),
        ...(w.max ? { $max: w.max } : {}),
      },
      upsert: true,
    },
  }));
}

function groupByCollection(writes: readonly HistoryWrite[]): Map<HistoryCollection, HistoryWrite[]> {
  const groups = new Map<HistoryCollection, HistoryWrite[]>();
  for (const w of writes) groups.set(w.collection, [...(groups.get(w.collection) ?? []), w]);
  return groups;
}

/** Two upserts of one new key racing each other: the loser fails with E11000 and succeeds on a retry. */
function onlyDuplicateKeys(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: Array<{ code?: number }> }).writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0) return writeErrors.every((e) => e.code === 11000);
  return (err as { code?: number }).code === 11000;
}

/** Models on a connection that is never opened: schemas and validation without a server. */
let offline: HistoryModels | undefined;
const offlineModels = () => {
  offline ??= historyModels(createConnection());
  return offline;
};

/**
 * The history in MongoDB with mongoose: one collection per `HistoryCollection`, a unique index per
 * `HISTORY_KEYS` entry. Created without I/O; `open()` connects and builds the indexes.
 */
export class MongoHistoryStore implements HistoryStore {
  #connection: Connection | undefined;
  #models: HistoryModels | undefined;
  #opening: Promise<void> | undefined;

  constructor(readonly config: MongoStoreConfig) {
    if (!/^mongodb(\+srv)?:\/\//.test(config.url)) throw new MongoStoreUrlError();
  }

  /** The open connection (tests drop their throw-away database through it). */
  get connection(): Connection {
    if (!this.#connection) throw new MongoStoreWriteError('(any)', new Error('the store is not open'));
    return this.#connection;
  }

  /** The models of the open connection. */
  get models(): HistoryModels {
    if (!this.#models) throw new MongoStoreWriteError('(any)', new Error('the store is not open'));
    return this.#models;
  }

  /** Connects, waits for the server and builds the unique indexes before anything is written. */
  open(): Promise<void> {
    this.#opening ??= this.#connect().catch((err: unknown) => {
      this.#opening = undefined;
      throw err;
    });
    return this.#opening;
  }

  async #connect(): Promise<void> {
    const { url, database, connectTimeoutMs } = this.config;
    const connection = createConnection(url, { serverSelectionTimeoutMS: connectTimeoutMs, ...(database ? { dbName: database } : {}) });
    try {
      await connection.asPromise();
      const models = historyModels(connection);
      await Promise.all(Object.values(models).map((m) => m.createIndexes()));
      this.#connection = connection;
      this.#models = models;
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw new MongoStoreUnreachableError(url, err);
    }
  }

  async apply(writes: readonly HistoryWrite[]): Promise<HistoryApplyResult> {
    const result: HistoryApplyResult = { inserted: 0, existing: 0 };
    for (const [collection, group] of groupByCollection(writes)) {
      const model = this.#models?.[collection];
      if (!model) throw new MongoStoreWriteError(collection, new Error('the store is not open'));
      const ops = bulkOpsFor(group);
      let outcome: { upsertedCount: number; matchedCount: number };
      try {
        outcome = await model.bulkWrite(ops as never, { ordered: false });
      } catch (err) {
        if (!onlyDuplicateKeys(err)) throw new MongoStoreWriteError(collection, err);
        outcome = await model.bulkWrite(ops as never, { ordered: false }).catch((again: unknown) => {
          throw new MongoStoreWriteError(collection, again);
        });
      }
      result.inserted += outcome.upsertedCount;
      result.existing += outcome.matchedCount;
    }
    return result;
  }

  async find(collection: HistoryCollection, where: Record<string, string | number | boolean> = {}): Promise<Array<Record<string, unknown>>> {
    const docs = await this.models[collection].find(where).lean();
    return docs as Array<Record<string, unknown>>;
  }

  /**
   * What MongoDB would refuse or silently drop: the documents the writes make (upsert semantics)
   * validated against the schemas, every field a schema path, and every key the unique index.
   */
  async check(writes: readonly HistoryWrite[]): Promise<HistoryWriteIssue[]> {
    const models = offlineModels();
    const issues: HistoryWriteIssue[] = [];
    for (const w of writes) {
      const unique = uniqueKeys(w.collection);
      if (JSON.stringify(Object.keys(w.key)) !== JSON.stringify(unique))
        issues.push({ collection: w.collection, key: w.key, message: `key (${Object.keys(w.key)}) is not the unique index (${unique})` });
    }
    for (const { collection, key, doc } of documentsOf(writes)) {
      const schema = models[collection].schema;
      for (const field of Object.keys(doc))
        if (schema.pathType(field) === 'adhocOrUndefined') issues.push({ collection, key, field, message: 'not a field of the schema' });
      const invalid = await new models[collection](doc).validate().then(
        () => undefined,
        (e: { errors?: Record<string, { message: string }> }) => e,
      );
      for (const [field, error] of Object.entries(invalid?.errors ?? {})) issues.push({ collection, key, field, message: error.message });
    }
    return issues;
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#models = undefined;
    this.#opening = undefined;
    await connection?.close();
  }

  describe(): string {
    return `mongodb ${redactMongoUrl(this.config.url)}`;
  }
}
