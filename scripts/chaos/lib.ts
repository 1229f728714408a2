/**
 * What the chaos harness (`npm run chaos`) and the local scale proof (`npm run scale`) share: real
 * `kokex host` processes started and killed with SIGKILL, real nats-servers (one, or a cluster on
 * loopback), and the audits run at the end on what the streams, the buckets and the venue hold.
 * Nothing here stands in for a peer: the audits read the streams the actors wrote, the venue's own
 * REST API and its persisted accounts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { Buckets, type Bus, NatsServerProcess, seededRandom } from '@kokex/core';

export const ROOT = resolve(import.meta.dirname, '../..');
const KOKEX = join(ROOT, 'core/bin/kokex.mjs');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile; `q` is a fraction (0.99 for p99). NaN for no values. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** A seeded generator, so a run's kill schedule can be repeated with `--seed`. */
export const rng = seededRandom;

/** Polls `check` until it holds; false when `timeoutMs` passed first. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

/** One `kokex host --actors …` process: started, killed with SIGKILL, started again under the same name. */
export class HostProcess {
  child: ChildProcess | undefined;
  starts = 0;
  kills = 0;
  #log: WriteStream;
  #running = false;
  #out = '';

  constructor(
    readonly name: string,
    readonly kinds: readonly string[],
    readonly env: NodeJS.ProcessEnv,
    logDir: string,
  ) {
    mkdirSync(logDir, { recursive: true });
    this.#log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  }

  /** True once the current process printed `host … running`. */
  get running(): boolean {
    return this.#running;
  }

  get alive(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** The last lines it printed, for a failure message. */
  tail(): string {
    return this.#out.slice(-2000);
  }

  start(): void {
    this.starts++;
    this.#running = false;
    const child = spawn(process.execPath, [KOKEX, 'host', '--actors', this.kinds.join(','), '--quiet'], {
      cwd: ROOT,
      env: { LOG_LEVEL: 'warn', ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const take = (d: Buffer) => {
      const text = d.toString();
      this.#log.write(text);
      this.#out = (this.#out + text).slice(-8000);
      if (/host \S+ running \d+ actor/.test(this.#out)) this.#running = true;
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.once('exit', (code, signal) => this.#log.write(`--- exit ${code ?? signal}\n`));
    this.child = child;
  }

  /** Waits until it runs its actors; false after `timeoutMs`. */
  waitRunning(timeoutMs = 120_000): Promise<boolean> {
    return until(() => this.#running, timeoutMs, 200);
  }

  /** kill -9. */
  kill9(): void {
    this.kills++;
    this.child?.kill('SIGKILL');
    this.#running = false;
  }

  /** A clean stop (SIGTERM: the host drains), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    this.#running = false;
  }

  close(): void {
    if (this.alive) this.child?.kill('SIGKILL');
    this.#log.end();
  }
}

/** A nats-server that can be killed with SIGKILL and started again on its store and port. */
export class NatsNode {
  server: NatsServerProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly storeDir: string,
    readonly args: () => string[] = () => [],
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // A port just freed by a killed server can take a moment to bind again.
    for (let attempt = 0; ; attempt++) {
      try {
        this.server = await NatsServerProcess.start({
          port: this.port,
          storeDir: this.storeDir,
          args: this.args(),
          startTimeoutMs: 30_000,
        });
        return;
      } catch (err) {
        if (attempt >= 10) throw err;
        await sleep(500);
      }
    }
  }

  kill9(): void {
    if (this.server?.pid) process.kill(this.server.pid, 'SIGKILL');
  }

  async stop(): Promise<void> {
    await this.server?.stop().catch(() => undefined);
  }
}

export interface StoredRecord {
  seq: number;
  subject: string;
  data: Uint8Array;
  storedAt: number;
}

/** Every message of `stream` on `filter`, in stream order (the message-get API: no consumer left behind). */
export async function readStream(bus: Bus, stream: string, filter: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for (let seq = 1; ; ) {
    const msg = await bus.jsm.streams.getMessage(stream, { next_by_subj: filter, seq } as any).catch((err: Error) => {
      if (/no message found|not found/i.test(err.message)) return null;
      throw err;
    });
    if (!msg) return out;
    out.push({ seq: msg.seq, subject: msg.subject, data: msg.data, storedAt: msg.time.getTime() });
    seq = msg.seq + 1;
  }
}

const decoder = new TextDecoder();

/** A stored envelope as plain JSON (audits read what is there, even what a contract would refuse). */
export interface RawEnvelope {
  id: string;
  type: string;
  time: number;
  eventTime?: number;
  source?: string;
  correlationId?: string;
  causationId?: string;
  data: any;
}

export function envelopeOf(r: StoredRecord): RawEnvelope | undefined {
  try {
    return JSON.parse(decoder.decode(r.data)) as RawEnvelope;
  } catch {
    return undefined;
  }
}

export interface CandleAudit {
  series: string;
  stored: number;
  /** The same bar stored more than once (extra copies). */
  duplicated: number;
  /** A bar stored after a later one of the same series. */
  outOfOrder: number;
  /** Bars the venue has in the stored range that the stream does not. */
  lost: number;
  firstTs?: number;
  lastTs?: number;
  /** The first lost bars, each with where it went missing (filled in by the harness). */
  lostDetail?: string[];
}

/**
 * Candles in MD_CANDLES per series, against the venue's own history for the stored range. `skip`
 * names envelope ids the harness injected itself (forged messages are reported elsewhere).
 */
export function auditCandles(
  records: StoredRecord[],
  venueTs: (series: string) => readonly number[] | undefined,
  skip: ReadonlySet<string>,
): CandleAudit[] {
  const bySeries = new Map<string, number[]>();
  for (const r of records) {
    const env = envelopeOf(r);
    if (!env || skip.has(env.id)) continue;
    const series = r.subject.split('.').slice(3).join('.');
    const list = bySeries.get(series) ?? [];
    list.push(Number(env.data?.ts));
    bySeries.set(series, list);
  }
  const out: CandleAudit[] = [];
  for (const [series, list] of bySeries) {
    const seen = new Set<number>();
    let duplicated = 0;
    let outOfOrder = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (const ts of list) {
      if (seen.has(ts)) duplicated++;
      else if (ts < max) outOfOrder++;
      seen.add(ts);
      max = Math.max(max, ts);
    }
    const first = Math.min(...seen);
    const last = Math.max(...seen);
    const venue = venueTs(series);
    const lost = venue ? venue.filter((ts) => ts >= first && ts <= last && !seen.has(ts)).length : Number.NaN;
    out.push({ series, stored: list.length, duplicated, outOfOrder, lost, firstTs: first, lastTs: last });
  }
  return out.sort((a, b) => a.series.localeCompare(b.series));
}

export interface OrdersAudit {
  intents: number;
  verdicts: number;
  approvals: number;
  events: number;
  fills: number;
  /** Intents (not injected by the harness as forgeries) with no verdict under their client order id. */
  intentsWithoutVerdict: string[];
  verdictsWithoutIntent: string[];
  /** Approvals with no approving verdict (forged ones excluded: they are counted on their own). */
  approvalsWithoutVerdict: string[];
  /** Client order ids with more than one verdict stored (each under its own message id). */
  verdictsTwice: string[];
  /** Client order ids the venue accepted under more than one venue order id (from the executor's events). */
  placedTwice: string[];
  /** Intent → verdict, envelope time to envelope time, ms. */
  latencies: number[];
  /**
   * Net filled size per instrument from the executor's events (forged ones excluded): per order
   * the largest cumulative `filledSize` its events report, signed by side. Not the sum of the
   * events' `fill` sizes: the same fill can be stored twice under two message ids (the pushed fill
   * and a reconciliation's look-up after a restart), as the executor's OrdersView knows.
   */
  netFilled: Map<string, number>;
  /** Orders whose fill events add up to more than their cumulative filled size (a fill stored twice): reported, not a loss. */
  fillsStoredTwice: string[];
  verdictOf: Map<string, RawEnvelope>;
  eventsOf: Map<string, RawEnvelope[]>;
  approvalOf: Map<string, RawEnvelope>;
}

/** Everything in ORDERS, matched by client order id. `forged` ids are excluded from the counts. */
export function auditOrders(records: StoredRecord[], forged: ReadonlySet<string>): OrdersAudit {
  const intents = new Map<string, RawEnvelope>();
  const verdicts = new Map<string, RawEnvelope[]>();
  const approvals = new Map<string, RawEnvelope>();
  const events = new Map<string, RawEnvelope[]>();
  let fills = 0;
  let approvalCount = 0;
  let eventCount = 0;
  const netFilled = new Map<string, number>();
  /** Per order: instrument, side, the largest cumulative filled size reported, and the sum of its fill events. */
  const filledOf = new Map<string, { inst: string; side: string; filled: number; fillSum: number }>();
  for (const r of records) {
    const env = envelopeOf(r);
    const id = env?.data?.clientOrderId as string | undefined;
    if (!env || !id) continue;
    const family = r.subject.split('.')[2];
    if (family === 'intent') intents.set(id, env);
    else if (family === 'verdict') verdicts.set(id, [...(verdicts.get(id) ?? []), env]);
    else if (family === 'approved') {
      approvalCount++;
      approvals.set(id, env);
    } else if (family === 'event') {
      eventCount++;
      events.set(id, [...(events.get(id) ?? []), env]);
      const fill = env.data.fill as { size: number } | undefined;
      if (!forged.has(id)) {
        if (fill) fills++;
        const o = filledOf.get(id) ?? { inst: env.data.inst, side: env.data.side, filled: 0, fillSum: 0 };
        o.filled = Math.max(o.filled, Number(env.data.filledSize ?? 0) || 0);
        o.fillSum += fill ? Number(fill.size) : 0;
        filledOf.set(id, o);
      }
    }
  }
  const fillsStoredTwice: string[] = [];
  for (const [id, o] of filledOf) {
    netFilled.set(o.inst, (netFilled.get(o.inst) ?? 0) + (o.side === 'sell' ? -o.filled : o.filled));
    if (o.fillSum > o.filled + 1e-9) fillsStoredTwice.push(id);
  }
  const latencies: number[] = [];
  for (const [id, intent] of intents) {
    const v = verdicts.get(id)?.[0];
    if (v) latencies.push(v.time - intent.time);
  }
  const placedTwice: string[] = [];
  for (const [id, list] of events) {
    if (forged.has(id)) continue;
    const venueIds = new Set(list.filter((e) => e.data.venueOrderId).map((e) => e.data.venueOrderId as string));
    if (venueIds.size > 1) placedTwice.push(id);
  }
  return {
    intents: intents.size,
    verdicts: [...verdicts.values()].reduce((n, l) => n + l.length, 0),
    approvals: approvalCount,
    events: eventCount,
    fills,
    intentsWithoutVerdict: [...intents.keys()].filter((id) => !forged.has(id) && !verdicts.has(id)),
    verdictsWithoutIntent: [...verdicts.keys()].filter((id) => !forged.has(id) && !intents.has(id)),
    approvalsWithoutVerdict: [...approvals.keys()].filter(
      (id) => !forged.has(id) && !(verdicts.get(id) ?? []).some((v) => v.data.decision === 'approve'),
    ),
    verdictsTwice: [...verdicts].filter(([, l]) => l.length > 1).map(([id]) => id),
    placedTwice,
    latencies,
    netFilled,
    fillsStoredTwice,
    verdictOf: new Map([...verdicts].map(([id, l]) => [id, l[0] as RawEnvelope])),
    eventsOf: events,
    approvalOf: approvals,
  };
}

/** What the simulator persisted (its accounts outlive its process): orders per client order id, positions. */
export async function simSnapshot(
  bus: Bus,
  key: string,
): Promise<{ ordersByClOrdId: Map<string, number>; positions: Map<string, number> } | undefined> {
  const entry = await (await bus.kv(Buckets.simVenues)).get(key);
  if (entry?.operation !== 'PUT' || entry.length === 0) return undefined;
  const snap = entry.json<{
    accounts: Array<{ orders: Array<[string, { clOrdId: string }]>; positions: Array<[string, { instId: string; pos: number }]> }>;
  }>();
  const ordersByClOrdId = new Map<string, number>();
  const positions = new Map<string, number>();
  for (const a of snap.accounts) {
    for (const [, o] of a.orders) if (o.clOrdId) ordersByClOrdId.set(o.clOrdId, (ordersByClOrdId.get(o.clOrdId) ?? 0) + 1);
    for (const [, p] of a.positions) positions.set(p.instId, (positions.get(p.instId) ?? 0) + Number(p.pos ?? 0));
  }
  return { ordersByClOrdId, positions };
}

/** Pending plus unacknowledged messages of every consumer of `stream` (its lag). */
export async function streamLag(bus: Bus, stream: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // Durables only: ordered consumers of readers that come and go are not anyone's backlog.
  for await (const c of bus.jsm.consumers.list(stream)) if (c.config.durable_name) out[c.name] = c.num_pending + c.num_ack_pending;
  return out;
}

/** A two-column table, one row per line. */
export function table(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : v}`).join('\n');
}

/** `--name value` and `--flag` from argv. */
export function flags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}

/** Where a run's logs go: `logDir/<host>.log`. */
export function logDirOf(tmp: string): string {
  return join(tmp, 'logs');
}
