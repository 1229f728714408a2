import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActorAccess,
  ActorHost,
  applyPlan,
  type Bus,
  buildUsers,
  connectBus,
  loadPlugin,
  NatsServerProcess,
  RawCandleContract,
  renderNatsConfig,
  subject,
} from '@kokex/core';
import { captureLogger, eventually } from '@kokex/core/testing';
import { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterSettings, DIRS, MIN, minuteBars, seriesShape, testPlan } from './support.js';

/** Feed and validator each under the NATS user `kokex deploy nats` writes from their declared access. */
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const EMPTY: ActorAccess = { publish: [], subscribe: [], consume: [], kv: [], objectStores: [] };

describe('market-data actors under per-actor NATS permissions', () => {
  it('stream, validate, backfill, quarantine and scan with nothing but what they declare', async () => {
    const plan = testPlan('perm', 'PERM-USDT', '1d', '1s');
    const actors: Record<string, ActorAccess> = {};
    for (const dir of [DIRS.feed, DIRS.validator]) {
      for (const kind of (await loadPlugin(dir)).definition.actors ?? [])
        actors[kind.kind] = { ...EMPTY, ...(kind.access?.([plan]) ?? {}) };
    }
    const users = buildUsers({ actors });
    const password = (user: string) => users.find((u) => u.user === user)?.password;
    const dir = await mkdtemp(join(tmpdir(), 'kokex-md-perm-'));
    await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
    const server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
    cleanup.push(
      () => rm(dir, { recursive: true, force: true }),
      () => server.stop(),
    );
    const as = async (user: string): Promise<Bus> => {
      const bus = await connectBus({ url: server.url, user, password: password(user), reconnect: false });
      cleanup.push(() => bus.close());
      return bus;
    };
    const admin = await as('admin');
    await admin.provision();
    await applyPlan(admin, plan);

    const { bars } = await minuteBars(400);
    const sim = new OkxSimulator({ data: bars, startAt: (bars[0]?.ts as number) + 60 * MIN, instId: 'PERM-USDT', idleTimeoutMs: 0 });
    const { port } = await sim.start({ port: 0 });
    cleanup.push(() => sim.stop());
    const adapters = adapterSettings(port);
    for (const [kind, dirOf, own] of [
      ['feed', DIRS.feed, {}],
      ['validator', DIRS.validator, { gapGraceMs: 200, firstScanMs: 500 }],
    ] as const) {
      const host = new ActorHost({
        bus: await as(kind),
        log: captureLogger('error').log,
        kinds: [kind],
        config: { [kind]: { adapters, contextTimeframes: [], ...own } },
      });
      await host.loadPlugin(DIRS.okx);
      await host.loadPlugin(dirOf);
      await host.start();
      cleanup.push(() => host.stop());
    }
    const key = { venue: 'okx', inst: 'PERM-USDT', tf: '1m' };
    await eventually(async () => (await seriesShape(admin, key)).count === 60);
    sim.setFaults({ skipPushes: 0.1 });
    for (let i = 0; i < 200; i += 20) {
      sim.stepBars(20);
      await new Promise((r) => setTimeout(r, 5));
    }
    // A producer's bad bar on the raw subject: the validator quarantines it, MD_CANDLES never sees it.
    await admin.publish(
      RawCandleContract,
      subject('rawCandle', key),
      { ...(await seriesShape(admin, key)).candles[5]!, high: 1, low: 2 },
      { id: 'bad-bar' },
    );
    await eventually(async () => {
      const shape = await seriesShape(admin, key);
      return shape.count === 260 && shape.messages === 260 && shape.gaps === 0;
    }, 20_000);
    expect(sim.stats().pushesSkipped).toBeGreaterThan(5);
  });
});
