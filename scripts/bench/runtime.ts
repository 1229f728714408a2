/**
 * Runtime benchmark: prints figures, asserts nothing.
 *  1. throughput of JetStream publish → handler → ack, through the actor host vs the raw
 *     @nats-io/jetstream client, same server, same run (target: host ≥ 0.8× raw);
 *  2. hot-reload pause and loss under a steady 2,000 msg/s (target: < 250 ms, 0 lost);
 *  3. resident memory of an idle host process.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AckPolicy } from '@nats-io/jetstream';
import { ActorHost, type Bus, createLogger } from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { BenchContract, type BenchProbe } from './plugin/index.js';
import { machine } from './lib/report.js';

const N = Number(process.env.BENCH_MESSAGES ?? 20_000);
const PLUGIN = resolve(import.meta.dirname, 'plugin');
const holder = globalThis as { __kokexBench?: BenchProbe };
holder.__kokexBench ??= { handled: [] };
const probe = holder.__kokexBench;
const log = createLogger({ level: 'error' });

async function publishAll(bus: Bus, subject: string, count: number, tag: string): Promise<void> {
  const window = 512;
  let inFlight: Promise<unknown>[] = [];
  for (let n = 0; n < count; n++) {
    inFlight.push(bus.publish(BenchContract, subject, { n }, { id: `${tag}-${n}` }));
    if (inFlight.length >= window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
}

async function rawRun(bus: Bus, stream: string): Promise<number> {
  await bus.jsm.consumers.add(stream, {
    durable_name: 'raw',
    ack_policy: AckPolicy.Explicit,
    filter_subject: 'bench.raw',
    max_ack_pending: 256,
  });
  const consumer = await bus.js.consumers.get(stream, 'raw');
  const started = performance.now();
  let handled = 0;
  const done = (async () => {
    const messages = await consumer.consume({ max_messages: 256 });
    for await (const m of messages) {
      JSON.parse(new TextDecoder().decode(m.data));
      m.ack();
      if (++handled === N) break;
    }
  })();
  await publishAll(bus, 'bench.raw', N, 'raw');
  await done;
  return N / ((performance.now() - started) / 1000);
}

async function hostRun(bus: Bus, stream: string): Promise<number> {
  probe.handled.length = 0;
  const host = new ActorHost({ bus, log, config: { 'bench-sink': { stream, filter: 'bench.host', durable: 'host' } } });
  await host.loadPlugin(PLUGIN);
  await host.start();
  const started = performance.now();
  await publishAll(bus, 'bench.host', N, 'host');
  while (probe.handled.length < N) await new Promise((r) => setTimeout(r, 1));
  const rate = N / ((performance.now() - started) / 1000);
  await host.stop();
  return rate;
}

async function reloadRun(bus: Bus, stream: string): Promise<{ pauseMs: number; lost: number; duplicated: number; reloadMs: number }> {
  probe.handled.length = 0;
  const host = new ActorHost({ bus, log, config: { 'bench-sink': { stream, filter: 'bench.reload', durable: 'reload' } } });
  await host.loadPlugin(PLUGIN);
  await host.start();
  const total = 8000;
  let reloadAt = 0;
  let reloadMs = 0;
  let reload: Promise<unknown> | undefined;
  for (let tick = 0; tick < total / 20; tick++) {
    const t0 = performance.now();
    const batch = [];
    for (let i = 0; i < 20; i++) {
      const n = tick * 20 + i;
      batch.push(bus.publish(BenchContract, 'bench.reload', { n }, { id: `reload-${n}` }));
    }
    await Promise.all(batch);
    if (tick === 150) {
      reloadAt = performance.now();
      reload = host.reloadPlugin('kokex-bench-sink').then(() => {
        reloadMs = performance.now() - reloadAt;
      });
    }
    const spent = performance.now() - t0;
    if (spent < 10) await new Promise((r) => setTimeout(r, 10 - spent));
  }
  await reload;
  const deadline = Date.now() + 15_000;
  while (new Set(probe.handled.map((h) => h.n)).size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await host.stop();
  // The pause: the longest gap between handled messages from just before the reload to its end.
  const times = probe.handled
    .map((h) => h.at)
    .filter((t) => t >= reloadAt - 100 && t <= reloadAt + reloadMs + 100)
    .sort((a, b) => a - b);
  let pauseMs = 0;
  for (let i = 1; i < times.length; i++) pauseMs = Math.max(pauseMs, times[i]! - times[i - 1]!);
  const unique = new Set(probe.handled.map((h) => h.n));
  return { pauseMs, lost: total - unique.size, duplicated: probe.handled.length - unique.size, reloadMs };
}

async function idleRss(url: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [resolve(import.meta.dirname, '../../core/bin/kokex.mjs'), 'host', '--actors', 'clock', '--quiet'],
    {
      env: { ...process.env, NATS_URL: url, LOG_LEVEL: 'error' },
      stdio: 'ignore',
    },
  );
  await new Promise((r) => setTimeout(r, 8000));
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  return kb / 1024;
}

const nats = await startTestNats();
try {
  await nats.bus.provision({ streams: [{ name: 'BENCH', subjects: ['bench.>'], duplicateWindowMs: 60_000 }], kv: [], objectStores: [] });
  console.log(`machine: ${machine()}`);
  const raw = await rawRun(nats.bus, 'BENCH');
  const viaHost = await hostRun(nats.bus, 'BENCH');
  console.log(
    `throughput (publish → handler → ack, ${N} msgs): raw client ${raw.toFixed(0)} msg/s, actor host ${viaHost.toFixed(0)} msg/s, ratio ${(viaHost / raw).toFixed(2)} (target ≥ 0.80)`,
  );
  const r = await reloadRun(nats.bus, 'BENCH');
  console.log(
    `hot reload at 2,000 msg/s: pause ${r.pauseMs.toFixed(1)} ms (target < 250), lost ${r.lost}, duplicated ${r.duplicated}, reload took ${r.reloadMs.toFixed(0)} ms`,
  );
  console.log(`idle host RSS (kokex host --actors clock): ${(await idleRss(nats.url)).toFixed(1)} MiB`);
} finally {
  await nats.stop();
}
process.exit(0);
