import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AckPolicy } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunStream, newRunNamespace } from '../src/backtest/namespace.js';
import { buildReport, reportJson } from '../src/backtest/report.js';
import { runBacktest } from '../src/backtest/run.js';
import type { Bus } from '../src/bus/bus.js';
import { subject } from '../src/bus/subjects.js';
import { Buckets, Streams } from '../src/bus/topology.js';
import { createLogger } from '../src/log/logger.js';
import { parsePlan } from '../src/plan/load.js';
import { applyPlan } from '../src/plan/store.js';
import { discoverPlugins } from '../src/plugin/loader.js';
import { startTestNats } from '../src/testing/index.js';
import { RUN_T0, tinyPlan, walkBars, writeData } from './fixtures/backtest-data.js';

/**
 * `kokex backtest --nats URL` on a server where a live plan of the same name keeps its state: the
 * run's streams, buckets and consumers carry its run id, the live plan's streams, KV entries and
 * consumers are byte-identical before and after, the run's are gone at the end, and the report is
 * the embedded server's, byte for byte.
 */
const REPO = resolve(__dirname, '../..');
const HISTORY = 60;
const REPLAY = 12;
let root: string | undefined;

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Everything the server holds that a run must not touch: every stream's config, state and messages, every consumer's state. */
async function snapshot(bus: Bus): Promise<string> {
  const streams: unknown[] = [];
  for await (const s of bus.jsm.streams.list()) {
    const name = s.config.name;
    const messages: unknown[] = [];
    for (let seq = s.state.first_seq; seq <= s.state.last_seq && s.state.messages > 0; seq++) {
      const m = await bus.jsm.streams.getMessage(name, { seq }).catch(() => undefined);
      if (m)
        messages.push({
          seq: m.seq,
          subject: m.subject,
          time: m.time.toISOString(),
          data: Buffer.from(m.data).toString('base64'),
          headers: m.header ? [...m.header.keys()].map((k) => [k, m.header?.values(k)]) : [],
        });
    }
    const consumers: unknown[] = [];
    for await (const c of bus.jsm.consumers.list(name)) {
      const { ts: _ts, cluster: _cluster, ...stable } = c as typeof c & { ts?: string };
      consumers.push(stable);
    }
    const { cluster: _cluster, ts: _ts, ...info } = s as typeof s & { ts?: string };
    streams.push({ ...info, messages, consumers });
  }
  streams.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return JSON.stringify(streams);
}

async function streamNames(bus: Bus): Promise<string[]> {
  const names: string[] = [];
  for await (const s of bus.jsm.streams.list()) names.push(s.config.name);
  return names.sort();
}

describe('kokex backtest --nats URL', () => {
  it('runs in streams of its own run id and leaves a live plan of the same name byte-identical', { timeout: 300_000 }, async () => {
    root = await mkdtemp(join(tmpdir(), 'kokex-bt-given-'));
    const dataDir = join(root, 'data');
    await writeData(
      dataDir,
      'okx_BTC-USDT-SWAP_1m_2026-01.csv',
      walkBars({ start: RUN_T0, count: HISTORY + REPLAY, price: 43_000, seed: 31 }),
    );
    const from = RUN_T0 + HISTORY * 60_000;
    const to = from + REPLAY * 60_000;
    const pluginDirs = await discoverPlugins([join(REPO, 'actors'), join(REPO, 'plugins')]);
    const options = async (dir: string) => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'plan.yaml'), tinyPlan('bt'));
      return {
        planFile: join(dir, 'plan.yaml'),
        dataDir,
        from,
        to,
        log: createLogger({ level: 'error' }),
        pluginDirs,
        codeVersion: 'test',
      };
    };

    const embedded = await runBacktest(await options(join(root, 'embedded')));
    const embeddedJson = reportJson(buildReport(embedded, embedded.contractValue));

    const nats = await startTestNats();
    try {
      const live = nats.bus;
      // A live plan named like the backtest's, with state in its streams, KV and consumers.
      await applyPlan(live, parsePlan(tinyPlan('bt'), 'plan.yaml'), 'plan.yaml');
      const enc = new TextEncoder();
      const candleSubject = subject('candle', { venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m' });
      for (let i = 0; i < 3; i++) await live.js.publish(candleSubject, enc.encode(`{"live":${i}}`), { msgID: `live-${i}` });
      await live.js.publish(subject('orderIntent', { plan: 'bt', inst: 'BTC-USDT-SWAP' }), enc.encode('{"live":"intent"}'));
      await (await live.kv(Buckets.risk)).put('bt', enc.encode('{"state":"halted","by":"operator"}'));
      await (await live.kv(Buckets.positions)).put('bt.BTC-USDT-SWAP', enc.encode('{"size":0.02}'));
      // The live inferencer's durable, one candle read and acknowledged.
      const durable = 'inferencer-okx-BTC-USDT-SWAP-1m';
      await live.jsm.consumers.add(Streams.candles, {
        durable_name: durable,
        filter_subject: candleSubject,
        ack_policy: AckPolicy.Explicit,
      });
      const first = await (await live.js.consumers.get(Streams.candles, durable)).next({ expires: 2000 });
      await first?.ackAck();
      const liveNames = await streamNames(live);
      const before = await snapshot(live);

      // Watch the server's stream list while the run goes: what it creates, under which names.
      const seen = new Set<string>();
      let watching = true;
      const watcher = (async () => {
        const watchBus = await nats.connect('watcher');
        while (watching) {
          for (const n of await streamNames(watchBus)) if (!liveNames.includes(n)) seen.add(n);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const ns = newRunNamespace('t1e57');
      let given: Awaited<ReturnType<typeof runBacktest>>;
      try {
        given = await runBacktest({ ...(await options(join(root, 'given'))), nats: { url: nats.url, run: ns.run } });
      } finally {
        watching = false;
        await watcher;
      }

      // The same report as on the embedded server, byte for byte.
      expect(reportJson(buildReport(given, given.contractValue))).toBe(embeddedJson);
      expect(given.replayed).toBe(REPLAY);
      expect(given.collected.verdicts.length).toBeGreaterThan(0);
      // Every stream, bucket and object store it made carried the run id, and all are gone.
      expect(seen.size).toBeGreaterThan(0);
      for (const n of seen) expect(isRunStream(ns, n), n).toBe(true);
      expect(seen).toContain(`kxbt-${ns.run}-${Streams.candles}`);
      expect(seen).toContain(`KV_kxbt-${ns.run}-${Buckets.plans}`);
      expect(given.given?.deleted).toEqual([...seen].sort());
      expect(await streamNames(live)).toEqual(liveNames);
      // The live plan's streams, KV entries and consumers: byte-identical.
      expect(await snapshot(live)).toBe(before);
      const risk = await (await live.kv(Buckets.risk)).get('bt');
      expect(new TextDecoder().decode(risk?.value)).toBe('{"state":"halted","by":"operator"}');
    } finally {
      await nats.stop();
    }
  });
});
