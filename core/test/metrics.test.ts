import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorHost, HostMetrics, liveness, readiness } from '../src/index.js';
import { captureLogger, eventually, startTestNats, type TestNats } from '../src/testing/index.js';
import { WorkContract } from './fixtures/plugins/counter.js';
import { provisionWork } from './support.js';

const METERED = resolve(__dirname, 'fixtures/plugins/metered');

/** The value of one sample in Prometheus text, labels matched as a set; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1] as string] = l[2] as string;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

let nats: TestNats;
let host: ActorHost;
let base: string;
const work = { kind: 'metered', stream: 'TEST_WORK', consumer: 'metered' };

async function scrape(): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function publish(from: number, count: number, extra: { boom?: boolean } = {}): Promise<void> {
  for (let n = from; n < from + count; n++)
    await nats.bus.publish(WorkContract, 'test.work.metered.a', { n, ...extra }, { id: `metered:${n}` });
}

beforeAll(async () => {
  nats = await startTestNats();
  await provisionWork(nats.bus);
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('fatal').log,
    health: { port: 0 },
    lifecycle: { backoffBaseMs: 50, maxRestarts: 20 },
    heartbeatMs: 200,
  });
  await host.loadPlugin(METERED);
  await host.start();
  base = host.healthUrl as string;
});
afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

describe('a live host serves /metrics, /healthz and /readyz', () => {
  it('binds 127.0.0.1 by default on the free port it was given', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(base).port)).toBeGreaterThan(0);
  });

  it('answers liveness and readiness with the actors and their states', async () => {
    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { ok: boolean; host: string; actors: Array<{ kind: string; state: string }> };
    expect(body).toMatchObject({ ok: true, host: host.hostId });
    expect(body.actors).toEqual([expect.objectContaining({ kind: 'metered', state: 'running' })]);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('counts handled messages, times the handler and carries the actor’s own families', async () => {
    await publish(1, 10);
    await eventually(async () => sample(await scrape(), 'kokex_messages_handled_total', work) === 10);
    const text = await scrape();
    expect(sample(text, 'kokex_handler_duration_seconds_count', { ...work, outcome: 'ok' })).toBe(10);
    expect(sample(text, 'kokex_handler_duration_seconds_bucket', { ...work, outcome: 'ok', le: '+Inf' })).toBe(10);
    expect(sample(text, 'kokex_handler_duration_seconds_sum', { ...work, outcome: 'ok' })).toBeGreaterThan(0);
    // The actor's family through ctx.metrics, with the kind label added by the host.
    expect(sample(text, 'kokex_test_work_total', { kind: 'metered', parity: 'even' })).toBe(5);
    expect(sample(text, 'kokex_test_work_total', { kind: 'metered', parity: 'odd' })).toBe(5);
    expect(sample(text, 'kokex_test_work_size_sum', { kind: 'metered' })).toBe(55);
    expect(sample(text, 'kokex_actor_instances', { kind: 'metered', state: 'running' })).toBe(1);
    expect(sample(text, 'kokex_actor_instances', { kind: 'metered', state: 'failed' })).toBe(0);
    expect(sample(text, 'kokex_consumer_pending_messages', { stream: 'TEST_WORK', consumer: 'metered' })).toBe(0);
    expect(sample(text, 'kokex_consumer_ack_pending_messages', { stream: 'TEST_WORK', consumer: 'metered' })).toBe(0);
    for (const family of ['kokex_messages_failed_total', 'kokex_messages_dead_lettered_total', 'kokex_actor_restarts_total'])
      expect(text).toContain(`# TYPE ${family} counter`);
    expect(text).toContain('# TYPE kokex_process_resident_memory_bytes gauge');
  });

  it('is not ready while paused, shows the lag building, and catches up after resume', async () => {
    const inst = host.instances()[0];
    inst?.send('PAUSE');
    await inst?.waitFor(['paused']);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { reason: string }).reason).toMatch(/not running: metered-\w+ paused/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // Pausing finishes the fetch already open (at most fetchExpiresMs, 1 s): let it end first.
    await new Promise((r) => setTimeout(r, 1300));
    await publish(11, 3);
    await eventually(
      async () => sample(await scrape(), 'kokex_consumer_pending_messages', { stream: 'TEST_WORK', consumer: 'metered' }) === 3,
    );
    expect(sample(await scrape(), 'kokex_actor_instances', { kind: 'metered', state: 'paused' })).toBe(1);
    inst?.send('RESUME');
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200);
    await eventually(async () => {
      const text = await scrape();
      return (
        sample(text, 'kokex_messages_handled_total', work) === 13 &&
        sample(text, 'kokex_consumer_pending_messages', { stream: 'TEST_WORK', consumer: 'metered' }) === 0
      );
    });
  });

  it('counts failures, dead letters and restarts; a restarted actor keeps counting its family', async () => {
    await publish(100, 1, { boom: true });
    // The second delivery dead-letters (maxDeliver 2), possibly before the faulted run has halted.
    await eventually(async () => {
      const t = await scrape();
      return (
        sample(t, 'kokex_messages_dead_lettered_total', work) === 1 &&
        (sample(t, 'kokex_actor_restarts_total', { kind: 'metered' }) ?? 0) >= 1
      );
    }, 20_000);
    const text = await scrape();
    expect(sample(text, 'kokex_messages_failed_total', work)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'kokex_handler_duration_seconds_count', { ...work, outcome: 'error' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'kokex_actor_restarts_total', { kind: 'metered' })).toBeGreaterThanOrEqual(1);
    await host.instances()[0]?.waitFor(['running']);
    await publish(20, 2);
    await eventually(async () => {
      const t = await scrape();
      return (
        (sample(t, 'kokex_test_work_total', { kind: 'metered', parity: 'even' }) ?? 0) +
          (sample(t, 'kokex_test_work_total', { kind: 'metered', parity: 'odd' }) ?? 0) ===
        15
      );
    });
  });
});

describe('actor metric families', () => {
  it('refuses names outside the conventions and a family redeclared differently', () => {
    const m = new HostMetrics({ processMetrics: false }).forActor('k');
    expect(() => m.counter('forecasts_total', 'x')).toThrow(/kokex_ prefix/);
    expect(() => m.counter('kokex_forecasts', 'x')).toThrow(/must end in _total/);
    expect(() => m.gauge('kokex_messages_handled_total', 'x')).toThrow(/host's own families/);
    const c = m.counter('kokex_forecasts_total', 'x', ['inst']);
    expect(() => m.counter('kokex_forecasts_total', 'x', ['tf'])).toThrow(/already a counter with labels \[inst\]/);
    expect(() => m.gauge('kokex_forecasts_total', 'x', ['inst'])).toThrow(/already a counter/);
    expect(m.counter('kokex_forecasts_total', 'x', ['inst'])).toBeDefined();
    c.inc({ inst: 'BTC' });
  });
});

describe('kokex host --metrics-port', () => {
  const kokex = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('node', [resolve(__dirname, '../bin/kokex.mjs'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, NATS_URL: 'nats://127.0.0.1:1', ...env },
      timeout: 30_000,
    });
  it('refuses a port that is not one, from the flag and from KOKEX_METRICS_PORT, before connecting', () => {
    const flag = kokex(['host', '--actors', 'clock', '--metrics-port', 'abc']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('--metrics-port must be a port number 0-65535, got "abc"');
    const env = kokex(['host', '--actors', 'clock'], { KOKEX_METRICS_PORT: '70000' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('got "70000"');
    const bind = kokex(['host', '--actors', 'clock', '--metrics-bind', '0.0.0.0'], { KOKEX_METRICS_PORT: '' });
    expect(bind.status).toBe(2);
    expect(bind.stderr).toContain('--metrics-bind needs --metrics-port');
  });
});

describe('health reports', () => {
  const src = (over: Partial<Parameters<typeof readiness>[0]>) => ({
    hostId: 'h',
    started: () => true,
    connected: () => true,
    actors: () => [{ kind: 'k', instance: 'k-1', state: 'running' }],
    ...over,
  });
  it('is not ready before the host started, when disconnected or with no actors', () => {
    expect(readiness(src({})).ok).toBe(true);
    expect(readiness(src({ started: () => false }))).toMatchObject({ ok: false, reason: 'host starting' });
    expect(readiness(src({ connected: () => false }))).toMatchObject({ ok: false, reason: 'NATS connection closed' });
    expect(readiness(src({ actors: () => [] }))).toMatchObject({ ok: false, reason: 'no actors' });
    expect(readiness(src({ actors: () => [{ kind: 'k', instance: 'k-1', state: 'restarting' }] })).ok).toBe(false);
  });
  it('is not live once an actor gave up restarting or NATS is gone for good', () => {
    expect(liveness(src({ started: () => false })).ok).toBe(true);
    expect(liveness(src({ actors: () => [{ kind: 'k', instance: 'k-1', state: 'gaveUp' }] }))).toMatchObject({
      ok: false,
      reason: 'gave up restarting: k-1',
    });
    expect(liveness(src({ connected: () => false })).ok).toBe(false);
  });
});
