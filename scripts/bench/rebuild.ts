import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { BooksSnapshots, OrdersTail, PlanBooks, readSnapshotObject, writeSnapshotObject } from '@kokex/actor-risk-guard';
import {
  ActorHost,
  ApprovedOrderContract,
  applyPlan,
  BOOKS_SNAPSHOT_OBJECT,
  type Bus,
  connectBus,
  createLogger,
  NatsServerProcess,
  ObjectStores,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
  parsePlan,
  Streams,
  subject,
  systemClock,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { machine } from './lib/report.js';

/**
 * How long the risk guard takes to rebuild its books from ORDERS (issue 12 finding 3): a store of
 * `BENCH_ORDERS_MESSAGES` (50,000) messages as the order path writes them (intent, verdict,
 * approval, accepted, filled per order), read the old way (one `next_by_subj` request per message,
 * each waiting for the last), the batched way (`OrdersTail`, the whole stream) and from a books
 * snapshot taken `BENCH_SNAPSHOT_TAIL` (5,000) messages before the end plus that tail; then a
 * whole guard started in a host on that store, without and with the snapshot; then `kokex up`
 * (the CLI, every actor of plans/demo.yaml, an embedded nats-server) on a store holding those
 * messages, its first start (no snapshot) and its second, beside one on an empty store
 * (`BENCH_SKIP_UP=1` skips that part, `BENCH_UP_ONLY=1` runs only it; `--dist` runs the CLI from
 * the compiled build, `npm run build` first).
 * `--json` prints the figures as JSON too.
 */
const REPO = resolve(import.meta.dirname, '../..');
const UP_FROM_DIST = process.argv.includes('--dist');
const MESSAGES = Number(process.env.BENCH_ORDERS_MESSAGES ?? 50_000);
const TAIL = Number(process.env.BENCH_SNAPSHOT_TAIL ?? 5_000);
const SWAP = 'BTC-USDT-SWAP';
const GUARD = 'risk-guard-0badc0de';
const EXECUTOR = 'executor-0badc0de';
const log = createLogger({ level: 'error' });

const plan = parsePlan(
  `apiVersion: kokex/v1
kind: Plan
metadata: { name: rebuild }
spec:
  venue: { name: okx, mode: sim }
  instrument: ${SWAP}
  timeframe: 1m
  risk: { maxNotional: 1000, maxPositionNotional: 1000000, maxDailyLoss: 1000, requireTradeableForecast: false }`,
  'rebuild.yaml',
);

/** `orders` orders from number `from` on: five messages each, four without the intents (`intents: false`). */
async function fill(bus: Bus, orders: number, from = 0, options: { intents?: boolean } = {}): Promise<void> {
  const intents = options.intents ?? true;
  const t0 = Date.UTC(2026, 0, 5);
  const one = async (i: number) => {
    const clientOrderId = `rb${i}`;
    const at = t0 + i * 1000;
    const meta = { time: at, eventTime: at };
    const side = i % 2 === 0 ? ('buy' as const) : ('sell' as const);
    const intent = {
      plan: 'rebuild',
      venue: 'okx',
      inst: SWAP,
      side,
      size: 1,
      type: 'market' as const,
      clientOrderId,
      origin: { kind: 'manual' as const, who: 'bench', why: 'rebuild' },
      basis: { kind: 'manual' as const },
    };
    // The envelope id is the message id, which the verdict names as its cause.
    const envelope = { id: `intent:${clientOrderId}` };
    if (intents)
      await bus.publish(OrderIntentContract, subject('orderIntent', { plan: 'rebuild', inst: SWAP }), intent, {
        ...meta,
        id: envelope.id,
        source: 'agent-0badc0de',
      });
    const verdict = {
      plan: 'rebuild',
      inst: SWAP,
      clientOrderId,
      side,
      decision: 'approve' as const,
      reason: 'OK',
      rule: 'all',
      message: 'ok',
      size: 1,
    };
    await bus.publish(OrderVerdictContract, subject('orderVerdict', { plan: 'rebuild', inst: SWAP }), verdict, {
      ...meta,
      id: `verdict:${envelope.id}`,
      causationId: envelope.id,
      source: GUARD,
    });
    const approved = {
      plan: 'rebuild',
      venue: 'okx',
      inst: SWAP,
      side,
      size: 1,
      type: 'market' as const,
      clientOrderId,
      reduceOnly: false,
    };
    await bus.publish(ApprovedOrderContract, subject('orderApproved', { venue: 'okx', inst: SWAP }), approved, {
      ...meta,
      id: `approved:${clientOrderId}`,
      source: GUARD,
    });
    const event = (kind: 'accepted' | 'filled', filledSize: number) => ({
      venue: 'okx',
      inst: SWAP,
      plan: 'rebuild',
      clientOrderId,
      venueOrderId: `v${i}`,
      kind,
      side,
      type: 'market' as const,
      size: 1,
      filledSize,
      ...(kind === 'filled' ? { avgPrice: 43_000, fill: { price: 43_000, size: 1, fee: 0.01, tradeId: `t${i}` } } : {}),
      venueTs: at,
      receivedAt: at,
    });
    for (const [kind, size] of [
      ['accepted', 0],
      ['filled', 1],
    ] as const) {
      await bus.publish(OrderEventContract, subject('orderEvent', { venue: 'okx', inst: SWAP }), event(kind, size), {
        ...meta,
        id: `okx:${clientOrderId}:${kind}`,
        source: EXECUTOR,
      });
    }
  };
  const PARALLEL = 64;
  for (let i = from; i < from + orders; i += PARALLEL) {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, from + orders - i) }, (_, k) => one(i + k)));
  }
}

/** The way the guard read before: one `next_by_subj` request per stored message, each after the last. */
async function oneByOne(bus: Bus, books: PlanBooks): Promise<number> {
  let read = 0;
  for (let seq = 1; ; ) {
    const msg = await bus.jsm.streams.getMessage(Streams.orders, { next_by_subj: 'kokex.order.>', seq } as never).catch(() => null);
    if (!msg) return read;
    books.apply(msg.subject, msg.data);
    read++;
    seq = msg.seq + 1;
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const figures: Record<string, unknown> = {};

/** A guard in a host on `bus`: how long its start took, and what its status says of the rebuild. */
async function hostStart(bus: Bus): Promise<{ ms: number; detail: Record<string, unknown> }> {
  const host = new ActorHost({ bus, log, kinds: ['risk-guard'], config: { 'risk-guard': { pollMs: 1000 } }, heartbeatMs: 1000 });
  await host.loadPlugin(resolve(REPO, 'actors/risk-guard'));
  const t = performance.now();
  await host.start();
  const ms = performance.now() - t;
  const detail = host.statuses().find((s) => s.kind === 'risk-guard')?.detail ?? {};
  await host.stop();
  return { ms, detail };
}

interface UpStart {
  /** Spawn to the "host … running" line. */
  ms: number;
  /** Spawn to the guard's "risk guard ready" log line (its start, rebuild included). */
  guardMs?: number;
  /** What the guard's ready line says it read: the sequence it started from (the snapshot's) and the messages read. */
  guard?: string;
  /** Each line on stdout with its time since the spawn: where the start spends its time. */
  timeline: Array<[number, string]>;
  /** Per actor kind, ms since the spawn of its 'actor starting' and 'actor running' log lines. */
  actors: Record<string, { starting?: number; running?: number }>;
}

/**
 * `kokex up plans/demo.yaml` as a user runs it (the CLI through tsx, every actor, the embedded
 * server on `home`'s store): from the spawn to its "host … running" line, then Ctrl-C.
 */
async function kokexUp(home: string): Promise<UpStart> {
  const env: NodeJS.ProcessEnv = { ...process.env, KOKEX_HOME: home, KOKEX_SIM_PORT: '0', LOG_LEVEL: 'info', KOKEX_LOG_FORMAT: 'json' };
  delete env.NATS_URL;
  // --dist: the compiled build (`npm run build` first), as an installed package runs, instead of tsx.
  if (UP_FROM_DIST) env.KOKEX_RUN = 'dist';
  const t = performance.now();
  const child = spawn(process.execPath, [resolve(REPO, 'core/bin/kokex.mjs'), 'up', 'plans/demo.yaml'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const start: UpStart = { ms: 0, timeline: [], actors: {} };
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`kokex up did not start in 180 s:\n${(out + err).slice(-3000)}`)), 180_000);
    // JSON log lines (pino writes them to stdout) and the CLI's own lines, whichever stream they come on.
    let partial = '';
    const seen = (chunk: Buffer) => {
      const at = Math.round(performance.now() - t);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        if (!line.startsWith('{')) {
          start.timeline.push([at, line.slice(0, 100)]);
          out += `${line}\n`;
        } else {
          err += `${line}\n`;
          const actor = /"actor":"([^"]+)"/.exec(line)?.[1];
          const phase = line.includes('"msg":"actor starting"')
            ? 'starting'
            : line.includes('"msg":"actor running"')
              ? 'running'
              : undefined;
          if (actor && phase) {
            start.actors[actor] ??= {};
            start.actors[actor][phase] ??= at;
          }
        }
        if (start.guardMs === undefined && line.includes('risk guard ready')) {
          start.guardMs = at;
          try {
            const r = JSON.parse(line) as { rebuiltFrom?: number; read?: number; snapshot?: number };
            start.guard = `snapshot ${r.snapshot ?? 'none'}, read ${r.read}, position ${r.rebuiltFrom}`;
          } catch {
            start.guard = line.slice(0, 200);
          }
        }
        if (/host \S+ running/.test(line)) {
          clearTimeout(timer);
          start.ms = at;
          done();
        }
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => fail(new Error(`kokex up exited (${code}) before it started:\n${(out + err).slice(-3000)}`)));
  });
  child.removeAllListeners('exit');
  const exited = new Promise((done) => child.on('exit', done));
  child.kill('SIGINT');
  await Promise.race([exited, new Promise((done) => setTimeout(done, 60_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
  return start;
}

const upLine = (what: string, s: UpStart) => {
  const guard = s.actors['risk-guard'];
  const own = guard?.starting !== undefined && s.guardMs !== undefined ? ` (its own start ${seconds(s.guardMs - guard.starting)})` : '';
  const last = Object.entries(s.actors)
    .filter(([, a]) => a.running !== undefined)
    .sort(([, a], [, b]) => (b.running ?? 0) - (a.running ?? 0))
    .slice(0, 3)
    .map(([kind, a]) => `${kind} ${seconds(a.running ?? 0)}`)
    .join(', ');
  return `  ${what}: ${seconds(s.ms)} to "host … running"; the guard ready at ${s.guardMs === undefined ? '?' : seconds(s.guardMs)}${own} (${s.guard ?? 'no ready line'}); last kinds running: ${last}`;
};

if (process.env.BENCH_UP_ONLY !== '1') {
  const nats = await startTestNats();
  try {
    await applyPlan(nats.bus, plan);
    const before = Math.ceil((MESSAGES - TAIL) / 5);
    const after = Math.ceil(TAIL / 5);
    let t = performance.now();
    await fill(nats.bus, before);
    // The snapshot a running guard would have written TAIL messages before the end.
    let books = new PlanBooks();
    let tail = new OrdersTail(nats.bus, (s, d, q) => books.apply(s, d, q));
    let snapshots = new BooksSnapshots({ bus: nats.bus, books, tail, log, clock: systemClock, source: GUARD });
    await snapshots.restore();
    await tail.catchUp();
    await snapshots.write();
    const written = snapshots.status().lastWritten;
    const snapshotBytes = (await readSnapshotObject(nats.bus)) as Uint8Array;
    await fill(nats.bus, after, before);
    const stored = (await nats.bus.jsm.streams.info(Streams.orders)).state.messages;
    console.log(`machine: ${machine()}`);
    console.log(`load average at start: ${load()}`);
    console.log(`ORDERS filled with ${stored} messages in ${seconds(performance.now() - t)}`);
    console.log(
      `books snapshot at sequence ${written?.seq}: ${((written?.bytes ?? 0) / 1024).toFixed(0)} KiB gzip-compressed JSON, written in ${written?.ms} ms, of which ${written?.blockedMs} ms on the event loop (${books.ledgerOf('rebuild').orders.size} orders)`,
    );
    figures.machine = machine();
    figures.messages = stored;
    figures.snapshot = { seq: written?.seq, bytes: written?.bytes, writeMs: written?.ms, blockedMs: written?.blockedMs };

    books = new PlanBooks();
    t = performance.now();
    const read = await oneByOne(nats.bus, books);
    const oneByOneMs = performance.now() - t;
    const oneByOneQty = books.ledgerOf('rebuild').position(SWAP).qty;

    books = new PlanBooks();
    tail = new OrdersTail(nats.bus, (s, d) => books.apply(s, d));
    t = performance.now();
    await tail.catchUp();
    const fullMs = performance.now() - t;
    // As data (a snapshot's objects come back with their keys in the contract's order).
    const asData = (b: PlanBooks) => JSON.parse(JSON.stringify(b.toSnapshot())) as unknown;
    const full = asData(books);
    if (tail.read !== read || books.ledgerOf('rebuild').position(SWAP).qty !== oneByOneQty)
      throw new Error(`the two reads disagree: ${read} vs ${tail.read} messages`);
    await tail.close();

    books = new PlanBooks();
    tail = new OrdersTail(nats.bus, (s, d, q) => books.apply(s, d, q));
    snapshots = new BooksSnapshots({ bus: nats.bus, books, tail, log, clock: systemClock, source: GUARD });
    t = performance.now();
    await snapshots.restore();
    const restoreMs = performance.now() - t;
    await tail.catchUp();
    const snapMs = performance.now() - t;
    if (!isDeepStrictEqual(asData(books), full)) throw new Error('the books from the snapshot and its tail differ from the full rebuild');
    await tail.close();
    console.log(`guard books from ${read} ORDERS messages (same books every way):`);
    console.log(
      `  one next_by_subj request per message (before): ${seconds(oneByOneMs)} (${(read / (oneByOneMs / 1000)).toFixed(0)} msg/s)`,
    );
    console.log(`  ordered consumer, 1,000 a pull, whole stream: ${seconds(fullMs)} (${(read / (fullMs / 1000)).toFixed(0)} msg/s)`);
    console.log(
      `  snapshot + tail of ${tail.read}: ${seconds(snapMs)} (snapshot loaded, unzipped, validated and restored in ${seconds(restoreMs)})`,
    );
    figures.read = { messages: read, oneByOneMs, fullMs, snapshotTotalMs: snapMs, snapshotRestoreMs: restoreMs, tailRead: tail.read };

    // A whole guard in a host: the start without a snapshot (the whole stream), then with the one TAIL messages back.
    await (await nats.bus.objectStore(ObjectStores.books)).delete(BOOKS_SNAPSHOT_OBJECT);
    const noSnapshot = await hostStart(nats.bus);
    await writeSnapshotObject(nats.bus, snapshotBytes);
    const withSnapshot = await hostStart(nats.bus);
    const restored = (withSnapshot.detail.snapshot as { restored?: { seq: number } } | undefined)?.restored?.seq;
    if (restored !== written?.seq) throw new Error(`the host's guard did not start from the snapshot (${restored})`);
    console.log(
      `risk guard start in a host on that store: no snapshot ${seconds(noSnapshot.ms)}; from the snapshot at ${restored} ${seconds(withSnapshot.ms)}; stream position ${withSnapshot.detail.streamPosition}`,
    );
    figures.host = { noSnapshotMs: noSnapshot.ms, snapshotMs: withSnapshot.ms };
  } finally {
    await nats.stop();
  }
}

if (process.env.BENCH_SKIP_UP !== '1') {
  // `kokex up` on an empty store, then on one with MESSAGES ORDERS messages (filled through a plain server on that store first).
  const empty = await mkdtemp(join(tmpdir(), 'kokex-bench-up-'));
  const home = await mkdtemp(join(tmpdir(), 'kokex-bench-up-'));
  try {
    const server = await NatsServerProcess.start({ storeDir: join(home, 'nats') });
    const bus = await connectBus({ url: server.url });
    await bus.provision();
    // Orders decided long ago: no intent waits for the guard's durable, and no plan of theirs is applied.
    await fill(bus, Math.ceil(MESSAGES / 4), 0, { intents: false });
    const stored = (await bus.jsm.streams.info(Streams.orders)).state.messages;
    await bus.close();
    await server.stop();
    console.log(`load average before kokex up: ${load()}`);
    const none = await kokexUp(empty);
    const first = await kokexUp(home);
    const second = await kokexUp(home);
    console.log(
      `kokex up plans/demo.yaml (every actor, embedded nats-server; ${UP_FROM_DIST ? 'compiled build, KOKEX_RUN=dist' : 'sources through tsx'}), from the spawn:`,
    );
    console.log(upLine('empty store', none));
    console.log(upLine(`${stored} ORDERS messages, first start (no snapshot)`, first));
    console.log(upLine(`${stored} ORDERS messages, second start (the snapshot the first wrote at its stop)`, second));
    console.log(
      `  where the time goes (second start, stdout lines): ${second.timeline.map(([ms, line]) => `${(ms / 1000).toFixed(1)} s ${line}`).join(' | ')}`,
    );
    console.log(`load average after: ${load()}`);
    figures.up = { run: UP_FROM_DIST ? 'dist' : 'source', messages: stored, empty: none, first, second };
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(empty, { recursive: true, force: true });
  }
}
figures.loadAverage = loadavg();
if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
