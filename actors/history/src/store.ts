import { type Connection, createConnection } from 'mongoose';
import { HistoryMongoUnreachableError, HistoryWriteError } from './errors.js';
import type { HistoryCollection, HistoryWrite } from './projection.js';
import { type HistoryModels, historyModels } from './schemas.js';

/** Where projections go. The actor knows only this; MongoDB is one implementation. */
export interface HistoryStore {
  /** Applies the writes; a write whose document exists only updates its `set` fields. */
  apply(writes: readonly HistoryWrite[]): Promise<ApplyResult>;
  close(): Promise<void>;
  /** What the status line says about the store. */
  describe(): string;
}

export interface ApplyResult {
  /** Documents created. */
  inserted: number;
  /** Writes that found their document already there (a replay, or a second message about it). */
  existing: number;
}

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

export class MongoHistoryStore implements HistoryStore {
  readonly models: HistoryModels;

  constructor(
    readonly connection: Connection,
    private readonly label: string,
  ) {
    this.models = historyModels(connection);
  }

  /** Connects, waits for the server and builds the unique indexes before anything is written. */
  static async connect(url: string, options: { database?: string; timeoutMs: number; label: string }): Promise<MongoHistoryStore> {
    const connection = createConnection(url, {
      serverSelectionTimeoutMS: options.timeoutMs,
      ...(options.database ? { dbName: options.database } : {}),
    });
    try {
      await connection.asPromise();
      const store = new MongoHistoryStore(connection, options.label);
      await Promise.all(Object.values(store.models).map((m) => m.createIndexes()));
      return store;
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw new HistoryMongoUnreachableError(url, err);
    }
  }

  async apply(writes: readonly HistoryWrite[]): Promise<ApplyResult> {
    const result: ApplyResult = { inserted: 0, existing: 0 };
    for (const [collection, group] of groupByCollection(writes)) {
      const model = this.models[collection];
      const ops = bulkOpsFor(group);
      let outcome: { upsertedCount: number; matchedCount: number };
      try {
        outcome = await model.bulkWrite(ops as never, { ordered: false });
      } catch (err) {
        if (!onlyDuplicateKeys(err)) throw new HistoryWriteError(collection, err);
        outcome = await model.bulkWrite(ops as never, { ordered: false }).catch((again: unknown) => {
          throw new HistoryWriteError(collection, again);
        });
      }
      result.inserted += outcome.upsertedCount;
      result.existing += outcome.matchedCount;
    }
    return result;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  describe(): string {
    return `mongodb ${this.label}`;
  }
}
