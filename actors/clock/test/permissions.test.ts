import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  accessOf,
  ActorHost,
  type Bus,
  buildUsers,
  ClockTickContract,
  connectBus,
  loadPlugin,
  ManualClock,
  NatsServerProcess,
  renderNatsConfig,
  Streams,
} from '@kokex/core';
import { captureLogger, eventually } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The clock under the NATS user `kokex deploy nats` derives from its bus declaration, nothing else. */
const CLOCK_DIR = resolve(__dirname, '..');
let server: NatsServerProcess;
let dir: string;
let passwords: Record<string, string>;
const buses: Bus[] = [];
const hosts: ActorHost[] = [];

async function as(user: string): Promise<Bus> {
  const bus = await connectBus({ url: server.url, user, password: passwords[user], reconnect: false });
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  const kinds = (await loadPlugin(CLOCK_DIR)).definition.actors ?? [];
  const users = buildUsers({ actors: Object.fromEntries(kinds.map((k) => [k.kind, accessOf(k, [])])) });
  passwords = Object.fromEntries(users.map((u) => [u.user, u.password]));
  dir = await mkdtemp(join(tmpdir(), 'kokex-clock-perm-'));
  await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
  server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
  await (await as('admin')).provision();
});

afterAll(async () => {
  for (const h of hosts) await h.stop().catch(() => undefined);
  for (const b of buses) await b.close().catch(() => undefined);
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the clock under its derived NATS user', () => {
  it('ticks with nothing but the access derived from its declaration, and may publish nothing else', async () => {
    const bus = await as('clock');
    const clock = new ManualClock(Date.UTC(2026, 3, 1, 0, 0, 30));
    const host = new ActorHost({ bus, log: captureLogger('warn').log, clock, config: { clock: { timeframes: ['1m'] } } });
    hosts.push(host);
    await host.loadPlugin(CLOCK_DIR);
    await host.start();
    clock.advance(2 * 60_000);
    const admin = await as('admin');
    await eventually(async () => (await admin.jsm.streams.info(Streams.clock)).state.messages === 2);
    const last = await admin.jsm.streams.getMessage(Streams.clock, { last_by_subj: 'kokex.clock.tick.1m' });
    expect(last).not.toBeNull();
    expect(ClockTickContract.decode(last?.data ?? new Uint8Array()).data.boundary).toBe(Date.UTC(2026, 3, 1, 0, 2));
    expect(host.instances()[0]?.state).toBe('running');
    // Its user is the clock's, not an operator's: a plan notice is refused.
    await expect(bus.js.publish('kokex.plan.changed.demo', new TextEncoder().encode('{}'))).rejects.toThrow(/permission|timeout|no responders/i);
  });
});
