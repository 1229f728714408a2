import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type ActorAccess,
  accessOf,
  BOOKS_SNAPSHOT_OBJECT,
  type Bus,
  buildUsers,
  connectBus,
  discoverPlugins,
  loadPlugin,
  NatsServerProcess,
  ObjectStores,
  permissionsFor,
  renderNatsConfig,
  subjectMatches,
} from '@kokex/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshotObject, writeSnapshotObject } from '../src/index.js';
import { orderPlan } from './support.js';

/**
 * Least privilege for the books snapshot (issue 12 finding 3): the risk guard is the only kind
 * whose NATS user may touch the `kokex-books` object store; another kind's user is refused by the
 * server, so nobody can plant books the guard would start from.
 */
const REPO = resolve(import.meta.dirname, '../../..');
const plan = orderPlan('snap');
const access: Record<string, ActorAccess> = {};
const cleanup: Array<() => Promise<unknown>> = [];
let as: (user: string) => Promise<Bus>;

beforeAll(async () => {
  for (const dir of await discoverPlugins([resolve(REPO, 'actors'), resolve(REPO, 'plugins')])) {
    for (const kind of (await loadPlugin(dir)).definition.actors ?? []) access[kind.kind] = accessOf(kind, [plan]);
  }
  const users = buildUsers({ actors: access });
  const dir = await mkdtemp(join(tmpdir(), 'kokex-books-perm-'));
  await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
  const server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
  cleanup.push(
    () => rm(dir, { recursive: true, force: true }),
    () => server.stop(),
  );
  as = async (user) => {
    const bus = await connectBus({
      url: server.url,
      user,
      password: users.find((u) => u.user === user)?.password,
      reconnect: false,
      timeoutMs: 2000,
    });
    cleanup.push(() => bus.close());
    return bus;
  };
  await (await as('admin')).provision();
}, 120_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('the books snapshot store', () => {
  it('is granted to the risk guard alone', () => {
    expect(Object.keys(access).length).toBeGreaterThan(5);
    const holders = Object.entries(access)
      .filter(([kind, a]) =>
        permissionsFor(kind, a).publish.allow.some(
          (allowed) => subjectMatches(allowed, `$O.${ObjectStores.books}.M.x`) || allowed.includes('kokex-books'),
        ),
      )
      .map(([kind]) => kind);
    expect(holders).toEqual(['risk-guard']);
  });

  it("is written and read by the guard's user and refused to the executor's and the agent's", async () => {
    const guard = await as('risk-guard');
    await writeSnapshotObject(guard, new TextEncoder().encode('books'));
    expect(new TextDecoder().decode((await readSnapshotObject(guard)) as Uint8Array)).toBe('books');
    for (const user of ['executor', 'agent']) {
      const other = await as(user);
      await expect(writeSnapshotObject(other, new TextEncoder().encode('forged'))).rejects.toThrow(/permission|timeout|denied/i);
    }
    // Nothing forged landed.
    expect(new TextDecoder().decode((await readSnapshotObject(guard)) as Uint8Array)).toBe('books');
    expect((await (await guard.objectStore(ObjectStores.books)).info(BOOKS_SNAPSHOT_OBJECT))?.size).toBe(5);
  }, 60_000);
});
