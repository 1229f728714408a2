import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  BOOKS_SNAPSHOT_OBJECT,
  BOOKS_SNAPSHOT_SCHEMA,
  type BooksSnapshot,
  type Bus,
  booksSnapshotSchema,
  type Clock,
  type Logger,
  ObjectStores,
  Streams,
} from '@kokex/core';
import type { PlanBooks } from './books.js';
import type { OrdersTail } from './orders-tail.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Defaults of the guard's snapshot interval: every this many ORDERS messages read, or this often when anything new was read. */
export const SNAPSHOT_EVERY_MESSAGES = 10_000;
export const SNAPSHOT_EVERY_MS = 60_000;

/** Why a stored snapshot was not used (the books are then rebuilt from what ORDERS holds). */
export const SnapshotIgnored = {
  /** The object could not be read: no `kokex-books` store (not provisioned yet), a digest mismatch, missing chunks. */
  unreadable: 'unreadable',
  /** It could not be unzipped, parsed or validated against the contract. */
  undecodable: 'undecodable',
  /** Written with another schema version (older or newer than this guard's). */
  schema: 'schema',
  /** Written for another incarnation of ORDERS (the stream was deleted and created again). */
  streamRecreated: 'stream-recreated',
  /** It covers sequences the stream never stored (ahead of its last sequence). */
  ahead: 'ahead',
} as const;
export type SnapshotIgnored = (typeof SnapshotIgnored)[keyof typeof SnapshotIgnored];

export class SnapshotDecodeError extends Error {
  constructor(
    readonly reason: SnapshotIgnored,
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotDecodeError';
  }
}

/** Array elements serialised per slice before the event loop gets a turn. */
export const SNAPSHOT_SLICE = 1000;

/**
 * `JSON.stringify(snapshot)`, the same string, made a slice of `slice` array elements at a time
 * with a turn of the event loop between slices, so a large book never holds up a decision for
 * long. The snapshot must not change meanwhile (`PlanBooks.toSnapshot` copies what the books mutate).
 */
export async function stringifySnapshot(snapshot: BooksSnapshot, slice = SNAPSHOT_SLICE): Promise<string> {
  const turn = () => new Promise<void>((done) => setImmediate(done));
  const object = async (o: Record<string, unknown>): Promise<string> => {
    const fields: string[] = [];
    for (const [key, value] of Object.entries(o)) {
      if (value === undefined) continue;
      let json: string;
      if (Array.isArray(value) && value.length > slice) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i += slice) {
          parts.push(JSON.stringify(value.slice(i, i + slice)).slice(1, -1));
          await turn();
        }
        json = `[${parts.join(',')}]`;
      } else if (key === 'ledgers' && Array.isArray(value)) {
        const parts: string[] = [];
        for (const ledger of value) parts.push(await object(ledger as Record<string, unknown>));
        json = `[${parts.join(',')}]`;
      } else json = JSON.stringify(value);
      fields.push(`${JSON.stringify(key)}:${json}`);
    }
    return `{${fields.join(',')}}`;
  };
  return object(snapshot as unknown as Record<string, unknown>);
}

/** gzip-compressed JSON of a valid snapshot. */
export async function encodeBooksSnapshot(snapshot: BooksSnapshot): Promise<Uint8Array> {
  return new Uint8Array(await gzipAsync(Buffer.from(JSON.stringify(snapshot))));
}

/** The snapshot in `data`, or a `SnapshotDecodeError` saying why not (schema first, then the whole). */
export async function decodeBooksSnapshot(data: Uint8Array): Promise<BooksSnapshot> {
  let raw: unknown;
  try {
    raw = JSON.parse((await gunzipAsync(data)).toString('utf8'));
  } catch (err) {
    throw new SnapshotDecodeError(SnapshotIgnored.undecodable, `not gzip-compressed JSON: ${(err as Error).message}`);
  }
  const schema = (raw as { schema?: unknown } | null)?.schema;
  if (schema !== BOOKS_SNAPSHOT_SCHEMA)
    throw new SnapshotDecodeError(
      SnapshotIgnored.schema,
      `schema ${JSON.stringify(schema)}, this guard reads ${BOOKS_SNAPSHOT_SCHEMA}${typeof schema === 'number' && schema > BOOKS_SNAPSHOT_SCHEMA ? ' (written by a newer guard)' : ''}`,
    );
  const parsed = booksSnapshotSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SnapshotDecodeError(
      SnapshotIgnored.undecodable,
      `invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** The stored snapshot's bytes, or undefined when there is none. A read failure (digest, chunks) throws. */
export async function readSnapshotObject(bus: Bus): Promise<Uint8Array | undefined> {
  const os = await bus.objectStore(ObjectStores.books);
  return (await os.getBlob(BOOKS_SNAPSHOT_OBJECT)) ?? undefined;
}

export async function writeSnapshotObject(bus: Bus, data: Uint8Array): Promise<void> {
  const os = await bus.objectStore(ObjectStores.books);
  await os.putBlob({ name: BOOKS_SNAPSHOT_OBJECT, description: `risk guard books, schema ${BOOKS_SNAPSHOT_SCHEMA}` }, data);
}

export interface BooksSnapshotsOptions {
  bus: Bus;
  books: PlanBooks;
  tail: OrdersTail;
  log: Logger;
  clock: Clock;
  /** Instance id written into the snapshot. */
  source: string;
  everyMessages?: number;
  everyMs?: number;
}

export interface SnapshotStatus {
  /** The snapshot the books started from, if one was used. */
  restored?: { seq: number; writtenAt: number; source: string };
  /** Why a stored snapshot was not used. */
  ignored?: { reason: SnapshotIgnored; detail: string };
  /** Sequences ORDERS removed before the books saw them (history lost: the venue's reconciliation makes up for it). */
  lost: number;
  /** The last write: its sequence, compressed size, time in all, and the time taking the books held the event loop (serialising runs in slices). */
  lastWritten?: { seq: number; bytes: number; ms: number; blockedMs: number; at: number };
  writes: number;
  failures: number;
}

/**
 * The guard's books snapshot (issue 12 finding 3): at start `restore()` loads the stored one, checks
 * it against ORDERS and starts the tail after its sequence; while running, a snapshot is written
 * every `everyMessages` messages read or every `everyMs` when anything was read since the last,
 * one write at a time and never while a decision is in flight (`during`), so a snapshot's
 * sequence never runs ahead of what its books hold.
 *
 * What a snapshot may hold beyond its sequence: the guard's own verdicts and approvals, recorded
 * when published, before the tail reaches them. Booking those again after a restart changes
 * nothing (decisions, approvals and cancel verdicts are keyed by client order id or cancel id and
 * kept once), so a restart that reads them again ends with the same books.
 */
export class BooksSnapshots {
  readonly #o: Required<BooksSnapshotsOptions>;
  #busy = 0;
  #writing: Promise<void> | undefined;
  #timer: unknown;
  #lastSeq = 0;
  #wanted = false;
  /** ORDERS' creation time, written into every snapshot. */
  #created: string | undefined;
  readonly #status: SnapshotStatus = { lost: 0, writes: 0, failures: 0 };

  constructor(options: BooksSnapshotsOptions) {
    this.#o = { everyMessages: SNAPSHOT_EVERY_MESSAGES, everyMs: SNAPSHOT_EVERY_MS, ...options };
  }

  status(): SnapshotStatus {
    return { ...this.#status, lost: this.#o.tail.lost };
  }

  /**
   * Loads the stored snapshot into the books and starts the tail after its sequence. A snapshot
   * that does not decode, has another schema, belongs to an earlier ORDERS or is ahead of it is
   * ignored with a warning: the books are then rebuilt from what the stream holds. One that ORDERS
   * no longer follows without a gap (the stream's first sequence is past its sequence + 1) is
   * still used, and the tail reports the lost run (`lost`), because a rebuild from the stream
   * alone would lack that run and everything before it too.
   */
  async restore(): Promise<void> {
    const { bus, log } = this.#o;
    this.#created = (await bus.jsm.streams.info(Streams.orders)).created;
    let data: Uint8Array | undefined;
    try {
      data = await readSnapshotObject(bus);
    } catch (err) {
      this.#ignore(SnapshotIgnored.unreadable, (err as Error).message);
      return;
    }
    if (!data) {
      log.info('risk guard: no books snapshot stored; rebuilding the books from ORDERS');
      return;
    }
    let snapshot: BooksSnapshot;
    try {
      snapshot = await decodeBooksSnapshot(data);
    } catch (err) {
      this.#ignore(err instanceof SnapshotDecodeError ? err.reason : SnapshotIgnored.undecodable, (err as Error).message);
      return;
    }
    const info = await bus.jsm.streams.info(Streams.orders);
    this.#created = info.created;
    if (snapshot.streamCreated !== info.created) {
      this.#ignore(
        SnapshotIgnored.streamRecreated,
        `written for ORDERS created ${snapshot.streamCreated}, the stream was created ${info.created}`,
      );
      return;
    }
    if (snapshot.seq > info.state.last_seq) {
      this.#ignore(SnapshotIgnored.ahead, `covers up to sequence ${snapshot.seq}, ORDERS ends at ${info.state.last_seq}`);
      return;
    }
    this.#o.books.restore(snapshot);
    this.#o.tail.resumeAfter(snapshot.seq);
    this.#lastSeq = snapshot.seq;
    this.#status.restored = { seq: snapshot.seq, writtenAt: snapshot.writtenAt, source: snapshot.source };
    if (info.state.first_seq > snapshot.seq + 1)
      log.error(
        { snapshotSeq: snapshot.seq, firstSeq: info.state.first_seq },
        'risk guard: ORDERS no longer holds the messages right after the books snapshot (lost history); the books miss them until the executor reconciles with the venue',
      );
    log.info(
      { seq: snapshot.seq, writtenAt: snapshot.writtenAt, ledgers: snapshot.ledgers.length },
      'risk guard: books restored from snapshot',
    );
  }

  #ignore(reason: SnapshotIgnored, detail: string): void {
    this.#status.ignored = { reason, detail };
    this.#o.log.warn({ reason, detail }, 'risk guard: books snapshot ignored; rebuilding the books from what ORDERS holds');
  }

  /** Runs `work` (a decision) with snapshot writes held off until it is done; a write asked for meanwhile follows it. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    this.#busy++;
    try {
      return await work();
    } finally {
      this.#busy--;
      if (this.#due()) void this.write();
    }
  }

  /** After a read: writes one when `everyMessages` were read since the last. */
  afterRead(): void {
    if (this.#o.tail.position - this.#lastSeq >= this.#o.everyMessages) void this.write();
  }

  /** Starts the timer that writes one every `everyMs` when anything was read since the last. */
  start(): void {
    const { clock, everyMs } = this.#o;
    const every = () => {
      if (this.#o.tail.position > this.#lastSeq) void this.write();
      this.#timer = clock.setTimeout(every, everyMs);
    };
    this.#timer = clock.setTimeout(every, everyMs);
  }

  /** Stops the timer and writes a last snapshot when anything was read since the one before. */
  async stop(): Promise<void> {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (this.#o.tail.position > this.#lastSeq) await this.write();
    await this.#writing;
  }

  /**
   * Writes a snapshot of the books as they are now, at the tail's position. While a decision is in
   * flight or another write runs it is written as soon as that ends. Failures are logged and
   * counted, never thrown: the stream still holds everything after the last good snapshot.
   */
  write(): Promise<void> {
    if (this.#writing || this.#busy > 0 || this.#created === undefined) {
      this.#wanted = true;
      if (this.#created === undefined && !this.#writing) this.#writing = this.#streamCreated().finally(() => this.#after());
      return this.#writing ?? Promise.resolve();
    }
    this.#wanted = false;
    const { books, tail, clock, source } = this.#o;
    // Taken in one synchronous step: the books and the position agree; what the books mutate later
    // (orders, legs) is copied, the rest (decisions, fills, trades) is never changed once booked.
    const t0 = performance.now();
    const snapshot: BooksSnapshot = {
      schema: BOOKS_SNAPSHOT_SCHEMA,
      seq: tail.position,
      streamCreated: this.#created,
      writtenAt: Math.max(0, Math.round(clock.now())),
      source: source.slice(0, 128),
      ...books.toSnapshot(),
    };
    const blockedMs = performance.now() - t0;
    this.#writing = this.#store(snapshot, t0, blockedMs).finally(() => this.#after());
    return this.#writing;
  }

  #after(): void {
    this.#writing = undefined;
    if (this.#due()) void this.write();
  }

  /** A write was asked for while it could not run, and it can now, with something new to cover. */
  #due(): boolean {
    return this.#wanted && this.#busy === 0 && !this.#writing && this.#o.tail.position > this.#lastSeq;
  }

  async #streamCreated(): Promise<void> {
    try {
      this.#created = (await this.#o.bus.jsm.streams.info(Streams.orders)).created;
    } catch (err) {
      this.#wanted = false;
      this.#status.failures++;
      this.#o.log.warn({ err }, 'risk guard: reading ORDERS for the books snapshot failed; the next one retries');
    }
  }

  async #store(snapshot: BooksSnapshot, t0: number, blockedMs: number): Promise<void> {
    try {
      // Serialised in slices between decisions, compressed on libuv's thread pool.
      const data = new Uint8Array(await gzipAsync(Buffer.from(await stringifySnapshot(snapshot))));
      await writeSnapshotObject(this.#o.bus, data);
      this.#lastSeq = Math.max(this.#lastSeq, snapshot.seq);
      this.#status.writes++;
      this.#status.lastWritten = {
        seq: snapshot.seq,
        bytes: data.length,
        ms: Math.round(performance.now() - t0),
        blockedMs: Math.round(blockedMs * 10) / 10,
        at: snapshot.writtenAt,
      };
    } catch (err) {
      this.#status.failures++;
      this.#o.log.warn({ err }, 'risk guard: writing the books snapshot failed; the next one retries');
    }
  }
}
