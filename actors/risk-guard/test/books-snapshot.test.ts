import { gzipSync } from 'node:zlib';
import { KOKEX_TOPOLOGY, ObjectStores, Streams, systemClock } from '@kokex/core';
import { captureLogger, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BooksSnapshots,
  decodeBooksSnapshot,
  OrdersTail,
  PlanBooks,
  readSnapshotObject,
  SnapshotIgnored,
  stringifySnapshot,
  writeSnapshotObject,
} from '../src/index.js';
import { booksFigures, historyCursor, publishHistory } from './orders-history.js';

/**
 * The guard's books from a snapshot plus the tail of ORDERS after it (issue 12 finding 3) equal
 * the books of a full rebuild; a snapshot that cannot be believed is ignored for a full rebuild.
 * A real nats-server, the generated history of `orders-history.ts`.
 */
let nats: TestNats | undefined;
afterEach(async () => {
  await nats?.stop();
  nats = undefined;
});

async function fresh(): Promise<TestNats> {
  nats = await startTestNats();
  return nats;
}

/** A guard's start without a host: books, the tail, the snapshot, as `guard.ts` wires them. */
async function start(n: TestNats, options: { everyMessages?: number } = {}) {
  const captured = captureLogger('debug');
  const books = new PlanBooks();
  const gaps: Array<[number, number]> = [];
  const tail = new OrdersTail(
    n.bus,
    (s, d, q) => books.apply(s, d, q),
    undefined,
    (from, to) => void gaps.push([from, to]),
  );
  const snapshots = new BooksSnapshots({
    bus: n.bus,
    books,
    tail,
    log: captured.log,
    clock: systemClock,
    source: 'risk-guard-0badc0de',
    ...options,
  });
  await snapshots.restore();
  await tail.catchUp();
  return { books, tail, snapshots, gaps, logs: captured.records };
}

/** Books rebuilt from everything ORDERS holds now, no snapshot. */
async function fullRebuild(n: TestNats): Promise<PlanBooks> {
  const books = new PlanBooks();
  const tail = new OrdersTail(n.bus, (s, d, q) => books.apply(s, d, q));
  await tail.catchUp();
  await tail.close();
  return books;
}

const lastSeq = async (n: TestNats) => (await n.bus.jsm.streams.info(Streams.orders)).state.last_seq;

/** A valid snapshot's JSON changed by `edit`, compressed as the guard stores it. */
async function edited(n: TestNats, edit: (json: Record<string, unknown>) => unknown): Promise<Uint8Array> {
  const json = (await decodeBooksSnapshot((await readSnapshotObject(n.bus)) as Uint8Array)) as unknown as Record<string, unknown>;
  edit(json);
  return new Uint8Array(gzipSync(Buffer.from(JSON.stringify(json))));
}

describe('the books from a snapshot and the tail', () => {
  it('equal the full rebuild: positions, open orders, daily loss, rate windows, every decision', async () => {
    const n = await fresh();
    const cursor = historyCursor();
    await publishHistory(n.bus, cursor, 300);
    const first = await start(n);
    expect(first.snapshots.status().restored).toBeUndefined();
    await first.snapshots.write();
    const covered = first.tail.position;
    expect(first.snapshots.status().lastWritten?.seq).toBe(covered);
    const now = await publishHistory(n.bus, cursor, 200);

    const restarted = await start(n);
    expect(restarted.snapshots.status().restored?.seq).toBe(covered);
    // Only what follows the snapshot was read.
    expect(restarted.tail.read).toBe((await lastSeq(n)) - covered);
    const full = await fullRebuild(n);
    expect(booksFigures(restarted.books, now)).toEqual(booksFigures(full, now));

    // The history is one that exercises every part of the books.
    const alpha = booksFigures(full, now).plans.alpha;
    expect(alpha?.fills).toBeGreaterThan(20);
    expect(alpha?.openOrders.length).toBeGreaterThan(0);
    expect(alpha?.cancels).toBeGreaterThan(0);
    expect(alpha?.rates.hour).toBeGreaterThan(0);
    expect(Object.values(alpha?.positions ?? {}).some((p) => p.qty !== 0)).toBe(true);
    expect((alpha?.valuation as { dailyPnl?: number } | undefined)?.dailyPnl).not.toBe(0);
    expect((alpha?.valuation as { dailyPnl?: number } | undefined)?.dailyPnl).toBeDefined();
    expect(full.refused['not-from-executor']).toBeGreaterThan(0);
    const orders = [...(full.ledgers.get('alpha')?.orders.values() ?? [])];
    expect(orders.some((o) => o.lastEvent === 'rejected')).toBe(true);
    expect(orders.some((o) => o.lastEvent === 'canceled' && o.filled > 0)).toBe(true);
  }, 120_000);

  it('continue exactly across restarts after more messages', async () => {
    const n = await fresh();
    const cursor = historyCursor(5);
    await publishHistory(n.bus, cursor, 150);
    let guard = await start(n);
    let now = 0;
    for (let round = 0; round < 3; round++) {
      await guard.snapshots.stop();
      const covered = guard.tail.position;
      now = await publishHistory(n.bus, cursor, 80);
      guard = await start(n);
      expect(guard.snapshots.status().restored?.seq).toBe(covered);
      expect(guard.tail.read).toBe((await lastSeq(n)) - covered);
      expect(booksFigures(guard.books, now)).toEqual(booksFigures(await fullRebuild(n), now));
    }
  }, 120_000);

  it('serialise in slices to exactly what JSON.stringify writes, and stay as taken while later bookings arrive', async () => {
    const n = await fresh();
    const cursor = historyCursor(4);
    await publishHistory(n.bus, cursor, 150);
    const guard = await start(n);
    const taken = {
      schema: 1 as const,
      seq: guard.tail.position,
      streamCreated: 'x',
      writtenAt: 1,
      source: 's',
      ...guard.books.toSnapshot(),
    };
    const whole = JSON.stringify(taken);
    const sliced = stringifySnapshot(taken, 7);
    // Bookings while the slices are made (fills, state changes) do not reach the snapshot taken before them.
    await publishHistory(n.bus, cursor, 40);
    await guard.tail.catchUp();
    expect(await sliced).toBe(whole);
    expect(JSON.stringify(taken)).toBe(whole);
  }, 60_000);

  it('write a snapshot on their own every N messages read', async () => {
    const n = await fresh();
    const cursor = historyCursor(9);
    await publishHistory(n.bus, cursor, 100);
    const guard = await start(n, { everyMessages: 50 });
    guard.snapshots.afterRead();
    await guard.snapshots.stop();
    expect(guard.snapshots.status().writes).toBe(1);
    expect(guard.snapshots.status().lastWritten?.seq).toBe(await lastSeq(n));
    // Fewer than N new: no write until the timer (or the stop) says so.
    await publishHistory(n.bus, cursor, 2);
    await guard.tail.catchUp();
    guard.snapshots.afterRead();
    expect(guard.snapshots.status().writes).toBe(1);
  }, 60_000);

  it('are right from the snapshot after retention dropped the messages it covers', async () => {
    const n = await fresh();
    const cursor = historyCursor(7);
    await publishHistory(n.bus, cursor, 250);
    const first = await start(n);
    await first.snapshots.write();
    const covered = first.tail.position;
    const now = await publishHistory(n.bus, cursor, 100);
    const whole = booksFigures(await fullRebuild(n), now);
    // What ORDERS' limits do: everything up to the snapshot's sequence removed.
    await n.bus.jsm.streams.purge(Streams.orders, { seq: covered + 1 });
    expect((await n.bus.jsm.streams.info(Streams.orders)).state.first_seq).toBe(covered + 1);

    const restarted = await start(n);
    expect(restarted.snapshots.status().restored?.seq).toBe(covered);
    expect(restarted.tail.lost).toBe(0);
    expect(booksFigures(restarted.books, now)).toEqual(whole);
    // Without the snapshot the stream alone no longer gives that book.
    expect(booksFigures(await fullRebuild(n), now)).not.toEqual(whole);
  }, 120_000);

  it('report lost history when ORDERS dropped messages the snapshot never covered, and keep the snapshot', async () => {
    const n = await fresh();
    const cursor = historyCursor(3);
    await publishHistory(n.bus, cursor, 120);
    const first = await start(n);
    await first.snapshots.write();
    const covered = first.tail.position;
    await publishHistory(n.bus, cursor, 60);
    await n.bus.jsm.streams.purge(Streams.orders, { seq: covered + 21 });

    const restarted = await start(n);
    expect(restarted.snapshots.status().restored?.seq).toBe(covered);
    expect(restarted.gaps).toEqual([[covered + 1, covered + 20]]);
    expect(restarted.snapshots.status().lost).toBe(20);
    expect(restarted.logs().some((r) => r.level === 50 && /lost history/.test(String(r.msg)))).toBe(true);
    expect(restarted.tail.read).toBe((await lastSeq(n)) - covered - 20);
  }, 60_000);
});

describe('a snapshot that cannot be believed is ignored for a full rebuild', () => {
  const cases: Array<[string, SnapshotIgnored, (n: TestNats) => Promise<Uint8Array | 'recreate'>]> = [
    ['bytes that are not a snapshot', SnapshotIgnored.undecodable, async () => new TextEncoder().encode('{"schema":1,"seq":')],
    [
      'a snapshot with a field out of its contract',
      SnapshotIgnored.undecodable,
      (n) =>
        edited(n, (j) => {
          (j.ledgers as Array<{ legs: unknown[] }>)[0]?.legs.push([
            'BTC-USDT-SWAP',
            { qty: '1e999', avgPrice: 1, tradeRaw: 0, tradeFees: 0 },
          ]);
        }),
    ],
    ['an older schema', SnapshotIgnored.schema, (n) => edited(n, (j) => Object.assign(j, { schema: 0 }))],
    ['a newer schema', SnapshotIgnored.schema, (n) => edited(n, (j) => Object.assign(j, { schema: 2 }))],
    ['a sequence ORDERS never stored', SnapshotIgnored.ahead, (n) => edited(n, (j) => Object.assign(j, { seq: (j.seq as number) + 1000 }))],
    ['a snapshot of an ORDERS since deleted and created again', SnapshotIgnored.streamRecreated, async () => 'recreate'],
  ];
  for (const [what, reason, make] of cases) {
    it(what, async () => {
      const n = await fresh();
      const cursor = historyCursor(11);
      await publishHistory(n.bus, cursor, 80);
      const first = await start(n);
      await first.snapshots.write();
      const made = await make(n);
      if (made === 'recreate') {
        await n.bus.jsm.streams.delete(Streams.orders);
        await n.bus.provision();
        await publishHistory(n.bus, historyCursor(11), 40);
      } else await writeSnapshotObject(n.bus, made);
      const now = await publishHistory(n.bus, cursor, 20);

      const restarted = await start(n);
      expect(restarted.snapshots.status().ignored?.reason).toBe(reason);
      expect(restarted.snapshots.status().restored).toBeUndefined();
      expect(restarted.logs().some((r) => r.level === 40 && /snapshot ignored/.test(String(r.msg)))).toBe(true);
      // Rebuilt from the start of what the stream holds.
      expect(restarted.tail.read).toBe(await lastSeq(n));
      expect(booksFigures(restarted.books, now)).toEqual(booksFigures(await fullRebuild(n), now));
    }, 60_000);
  }
});

describe('a missing snapshot store', () => {
  it('costs a full rebuild and a failed write, never the start', async () => {
    const n = await fresh();
    const now = await publishHistory(n.bus, historyCursor(2), 60);
    // A deployment provisioned before the store existed.
    await n.bus.jsm.streams.delete(`OBJ_${ObjectStores.books}`);
    const guard = await start(n);
    expect(guard.snapshots.status().ignored?.reason).toBe(SnapshotIgnored.unreadable);
    expect(booksFigures(guard.books, now)).toEqual(booksFigures(await fullRebuild(n), now));
    await guard.snapshots.write();
    expect(guard.snapshots.status()).toMatchObject({ writes: 0, failures: 1 });
  }, 60_000);
});

describe('the snapshot store', () => {
  it('is part of the topology', () => {
    expect(KOKEX_TOPOLOGY.objectStores.map((o) => o.bucket)).toContain(ObjectStores.books);
    const orders = KOKEX_TOPOLOGY.streams.find((s) => s.name === Streams.orders);
    expect(orders?.maxMsgs).toBeGreaterThan(0);
    expect(orders?.maxAgeMs).toBeGreaterThan(0);
  });
});
