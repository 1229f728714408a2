import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActorHost, Buckets, ErrorCode, type Bus } from '../src/index.js';
import { captureLogger, eventually, startTestNats, type TestNats } from '../src/testing/index.js';
import { WorkContract } from './fixtures/plugins/counter.js';
import { COUNTER_V1, COUNTER_V2, collectReports, duplicatesOf, provisionWork, publishWork } from './support.js';

let nats: TestNats;
const hosts: ActorHost[] = [];
let durableSeq = 0;

/** A host serving the counter fixture on its own durable, so tests do not share work. */
async function counterHost(
  bus: Bus,
  opts: {
    durable: string;
    report: string;
    lifecycle?: object;
    apiKey?: string;
    maxDeliver?: number;
    capture?: ReturnType<typeof captureLogger>;
  } = { durable: 'x', report: 'x' },
) {
  const log = (opts.capture ?? captureLogger('warn')).log;
  const host = new ActorHost({
    bus,
    log,
    heartbeatMs: 200,
    config: {
      counter: {
        durable: opts.durable,
        report: opts.report,
        filter: `test.work.${opts.durable}`,
        ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
        ...(opts.maxDeliver ? { maxDeliver: opts.maxDeliver } : {}),
      },
    },
    ...(opts.lifecycle ? { lifecycle: opts.lifecycle } : {}),
  });
  hosts.push(host);
  await host.loadPlugin(COUNTER_V1);
  await host.start();
  return host;
}

function fresh() {
  durableSeq++;
  return { durable: `counter-${durableSeq}`, report: `test.report.${durableSeq}` };
}

beforeAll(async () => {
  nats = await startTestNats();
  await provisionWork(nats.bus);
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(async () => {
  await nats?.stop();
});

describe('actor host on a real nats-server', () => {
  it('processes work, publishes status to KV and removes it when drained', async () => {
    const ids = fresh();
    const reports = collectReports(nats.bus, ids.report);
    const host = await counterHost(nats.bus, ids);
    await publishWork(nats.bus, 0, 50, `test.work.${ids.durable}`);
    await eventually(() => reports.reports.length === 50);
    const inst = host.instances()[0]!;
    const kv = await nats.bus.kv(Buckets.actors);
    await eventually(async () => (await kv.get(`counter.${inst.instanceId}`))?.json<{ processed: number }>()?.processed === 50);
    inst.send('PAUSE');
    expect(inst.state).toBe('paused');
    expect(() => inst.send('PAUSE')).toThrow(expect.objectContaining({ code: ErrorCode.LifecycleTransition }));
    inst.send('RESUME');
    await host.stop();
    expect(await kv.get(`counter.${inst.instanceId}`)).toSatisfy((e: { operation: string } | null) => e?.operation !== 'PUT');
    reports.stop();
  });

  it('restarts with growing backoff after a handler throws, and gives up after the bound', async () => {
    const ids = fresh();
    // maxDeliver is high so the poison message is not dead-lettered before the actor gives up.
    const host = await counterHost(nats.bus, {
      ...ids,
      maxDeliver: 50,
      lifecycle: { maxRestarts: 2, backoffBaseMs: 100, stableAfterMs: 60_000 },
    });
    const inst = host.instances()[0]!;
    // The poison message throws on every delivery; each throw faults the actor.
    await nats.bus.publish(WorkContract, `test.work.${ids.durable}`, { n: 1, boom: true }, { id: `boom-${ids.durable}` });
    await inst.waitFor(['gaveUp'], 20_000);
    const states = inst.history.map((h) => h.state);
    expect(states).toEqual([
      'starting',
      'running',
      'failed',
      'restarting',
      'starting',
      'running',
      'failed',
      'restarting',
      'starting',
      'running',
      'failed',
      'gaveUp',
    ]);
    const at = (i: number) => inst.history[i]!.at;
    const firstWait = at(4) - at(3);
    const secondWait = at(8) - at(7);
    expect(firstWait).toBeGreaterThanOrEqual(95);
    expect(secondWait).toBeGreaterThanOrEqual(195);
    expect(inst.status()).toMatchObject({ state: 'gaveUp', attempts: 2, lastError: { message: 'boom at 1' } });
  });

  it('hot reload under a steady 2,000 msg/s loses nothing and repeats nothing', async () => {
    const ids = fresh();
    const reports = collectReports(nats.bus, ids.report);
    const host = await counterHost(nats.bus, ids);
    const total = 6000;
    let reloaded: Promise<unknown> | undefined;
    let reloadDoneAt = 0;
    // 20 messages every 10 ms = 2,000 msg/s for 3 s; reload one second in.
    for (let tick = 0; tick < total / 20; tick++) {
      const started = Date.now();
      await publishWork(nats.bus, tick * 20, 20, `test.work.${ids.durable}`);
      if (tick === 100) {
        reloaded = host.reloadPlugin('test-counter', COUNTER_V2).then((r) => {
          reloadDoneAt = reports.reports.length;
          return r;
        });
      }
      const spent = Date.now() - started;
      if (spent < 10) await new Promise((r) => setTimeout(r, 10 - spent));
    }
    const result = (await reloaded) as { from: string; to: string; replaced: number };
    expect(result).toMatchObject({ from: '1.0.0', to: '2.0.0', replaced: 1 });
    await eventually(() => reports.reports.length >= total, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    const idsSeen = reports.reports.map((r) => r.id);
    expect(duplicatesOf(idsSeen)).toEqual([]);
    expect(new Set(idsSeen).size).toBe(total);
    const byVersion = (v: string) => reports.reports.filter((r) => r.version === v).length;
    expect(byVersion('1.0.0')).toBeGreaterThan(0);
    expect(byVersion('2.0.0')).toBeGreaterThan(0);
    expect(reloadDoneAt).toBeGreaterThan(0);
    // After the reload returned, only the new version works.
    expect(reports.reports.slice(reloadDoneAt + 64).every((r) => r.version === '2.0.0')).toBe(true);
    expect(host.instances().map((i) => [i.plugin.version, i.state])).toEqual([['2.0.0', 'running']]);
    reports.stop();
  });

  it('two hosts of one kind split one durable consumer with no overlap and nothing missed', async () => {
    const ids = fresh();
    const reports = collectReports(nats.bus, ids.report);
    const busA = await nats.connect('host-a');
    const busB = await nats.connect('host-b');
    const a = await counterHost(busA, ids);
    const b = await counterHost(busB, ids);
    const total = 3000;
    for (let i = 0; i < total; i += 100) await publishWork(nats.bus, i, 100, `test.work.${ids.durable}`);
    await eventually(() => reports.reports.length >= total, 20_000);
    await new Promise((r) => setTimeout(r, 200));
    const idsSeen = reports.reports.map((r) => r.id);
    expect(duplicatesOf(idsSeen)).toEqual([]);
    expect(new Set(idsSeen).size).toBe(total);
    const fromA = reports.reports.filter((r) => r.host === a.hostId).length;
    const fromB = reports.reports.filter((r) => r.host === b.hostId).length;
    expect(fromA + fromB).toBe(total);
    expect(fromA).toBeGreaterThan(0);
    expect(fromB).toBeGreaterThan(0);
    reports.stop();
  });

  it('lists every actor through $SRV.PING and $SRV.INFO as the NATS CLI does', async () => {
    const ids = fresh();
    const h1 = await counterHost(nats.bus, ids);
    const h2 = await counterHost(await nats.connect('h2'), ids);
    const gather = async (subject: string) => {
      const replies: Array<Record<string, any>> = [];
      for await (const m of await nats.bus.nc.requestMany(subject, undefined, { strategy: 'stall', stall: 300, maxWait: 2000 })) {
        replies.push(JSON.parse(new TextDecoder().decode(m.data)));
      }
      return replies;
    };
    const pings = await gather('$SRV.PING');
    const infos = await gather('$SRV.INFO.kokex-counter');
    const instances = [...h1.instances(), ...h2.instances()].map((i) => i.instanceId).sort();
    expect(
      pings
        .filter((p) => p.name === 'kokex-counter')
        .map((p) => p.metadata.instance)
        .sort(),
    ).toEqual(instances);
    expect(
      pings
        .filter((p) => p.name === 'kokex-host')
        .map((p) => p.metadata.host)
        .sort(),
    ).toEqual([h1.hostId, h2.hostId].sort());
    expect(infos).toHaveLength(2);
    for (const info of infos) {
      expect(info.type).toBe('io.nats.micro.v1.info_response');
      expect(info.endpoints.map((e: { name: string }) => e.name).sort()).toEqual([
        'drain',
        'pause',
        'reload',
        'restart',
        'resume',
        'status',
      ]);
      expect(info.endpoints[0].subject).toMatch(new RegExp(`^kokex\\.ctl\\.counter\\.${info.metadata.instance}\\.`));
    }
    // The control endpoints work: pause one instance by its subject.
    const reply = await nats.bus.nc.request(`kokex.ctl.counter.${instances[0]}.pause`, undefined, { timeout: 2000 });
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({ ok: true, status: { state: 'paused' } });
    const again = await nats.bus.nc.request(`kokex.ctl.counter.${instances[0]}.pause`, undefined, { timeout: 2000 });
    expect(JSON.parse(new TextDecoder().decode(again.data))).toMatchObject({ ok: false, error: { code: 'KOKEX_LIFECYCLE_TRANSITION' } });
  });

  it('never writes a secret from actor config into the logs', async () => {
    const ids = fresh();
    const capture = captureLogger('debug');
    const secret = 'sk-live-7f3a9c1e5b';
    await counterHost(nats.bus, { ...ids, apiKey: secret, capture });
    capture.log.info(
      {
        okx: { apiKey: secret, secretKey: secret, passphrase: secret },
        headers: { Authorization: `Bearer ${secret}`, 'OK-ACCESS-PASSPHRASE': secret },
        llm: { token: secret, maxTokens: 256 },
      },
      'credentials in nested config',
    );
    capture.log.info({ password: secret }, 'top-level password');
    await new Promise((r) => setTimeout(r, 100));
    const text = capture.lines().join('\n');
    expect(text).toContain('actor starting');
    expect(text).toContain('[redacted]');
    expect(text).toContain('"maxTokens":256');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('7f3a9c1e5b');
  });
});
