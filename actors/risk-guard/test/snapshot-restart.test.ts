import { ActorHost, type ActorStatus, BOOKS_SNAPSHOT_OBJECT, ObjectStores, Streams } from '@kokex/core';
import { captureLogger, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotStatus } from '../src/index.js';
import { historyCursor, publishHistory } from './orders-history.js';
import { applyPlans, DIRS, orderPlan } from './support.js';

/**
 * The whole guard in a host (issue 12 finding 3): it writes its books snapshot at stop, the next
 * start reads only what followed it, and ends with the same books a start without any snapshot
 * rebuilds from the whole stream.
 */
let nats: TestNats;

beforeAll(async () => {
  nats = await startTestNats();
  await applyPlans(nats.bus, [orderPlan('alpha'), orderPlan('beta')]);
});

afterAll(() => nats?.stop());

async function guardRun(): Promise<ActorStatus['detail']> {
  const host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    kinds: ['risk-guard'],
    config: { 'risk-guard': { pollMs: 200 } },
    heartbeatMs: 1000,
  });
  await host.loadPlugin(DIRS.guard);
  await host.start();
  const detail = host.statuses().find((s) => s.kind === 'risk-guard')?.detail ?? {};
  await host.stop();
  return detail;
}

const books = (detail: ActorStatus['detail']) => ({ plans: detail.plans, unbooked: (detail.totals as { unbooked: unknown }).unbooked });
const lastSeq = async () => (await nats.bus.jsm.streams.info(Streams.orders)).state.last_seq;

describe('the risk guard restarted on its books snapshot', () => {
  it('reads only what followed the snapshot and holds the books of a full rebuild', async () => {
    const cursor = historyCursor(21);
    await publishHistory(nats.bus, cursor, 200, { requests: false });
    const first = await guardRun();
    expect((first.snapshot as SnapshotStatus).restored).toBeUndefined();
    const stoppedAt = first.streamPosition as number;
    expect(stoppedAt).toBe(await lastSeq());
    // Stopping wrote the books as they were.
    const written = await (await nats.bus.objectStore(ObjectStores.books)).info(BOOKS_SNAPSHOT_OBJECT);
    expect(written?.size).toBeGreaterThan(0);

    await publishHistory(nats.bus, cursor, 100, { requests: false });
    const restarted = await guardRun();
    expect((restarted.snapshot as SnapshotStatus).restored?.seq).toBe(stoppedAt);
    expect(restarted.streamPosition).toBe(await lastSeq());

    // Without a snapshot: the whole stream, the same books.
    await (await nats.bus.objectStore(ObjectStores.books)).delete(BOOKS_SNAPSHOT_OBJECT);
    const rebuilt = await guardRun();
    expect((rebuilt.snapshot as SnapshotStatus).restored).toBeUndefined();
    expect(books(restarted)).toEqual(books(rebuilt));
    expect((books(rebuilt).plans as Array<{ openOrders: number }>).some((p) => p.openOrders > 0)).toBe(true);
  }, 120_000);
});
