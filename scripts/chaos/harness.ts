/**
 * The chaos harness (issue 12): the demo plan trading on the OKX simulator, every actor kind in
 * `kokex host` processes of its own against a real nats-server, while the harness kills hosts with
 * SIGKILL, kills nats-server once (restarted on its store), restarts the simulator once, and injects
 * malformed and forged messages. At the end it audits what the streams, buckets and venue hold.
 *
 * `runChaos` is used by `npm run chaos` (scripts/chaos/main.ts) and by the short version in
 * `npm test` (deploy/test/chaos.test.ts). Wall time only: this is infrastructure (schedules of kills,
 * timeouts, latencies), never a trading decision.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApprovedOrderContract,
  applyPlan,
  Buckets,
  type Bus,
  CandleContract,
  connectBus,
  freePort,
  loadPlanFile,
  OrderEventContract,
  OrderIntentContract,
  Streams,
  subject,
} from '@kokex/core';
import { createOkxVenueAdapter } from '@kokex/plugin-okx';
import {
  auditCandles,
  auditOrders,
  type CandleAudit,
  envelopeOf,
  HostProcess,
  logDirOf,
  NatsNode,
  percentile,
  type RawEnvelope,
  ROOT,
  readStream,
  rng,
  simSnapshot,
  sleep,
  streamLag,
  table,
  until,
} from './lib.js';

export const PLAN = 'demo';
export const INST = 'BTC-USDT-SWAP';
const TF = '1m';
export const SIM_KEY = 'okx.BTC-USDT';
const KOKEX = join(ROOT, 'core/bin/kokex.mjs');
/** Bars from here on are the harness's forgeries (dated 2036), never the replay's. */
export const FORGED_AFTER = Date.UTC(2030, 0);
/** Verdicts that say nothing about the price the guard believes: a probe that gets one is sent again. */
const NOT_ABOUT_PRICE = [
  'INTENT_EXPIRED',
  'FUTURE_TIME',
  'RATE_PER_MINUTE',
  'RATE_PER_HOUR',
  'MAX_OPEN_ORDERS',
  'DUPLICATE_CLIENT_ORDER_ID',
];

/**
 * The demo plan (plans/demo.yaml) with order rates and open-order room high enough to trade
 * often, a one-day window (a quicker start), written to the run's temp directory.
 */
export const CHAOS_PLAN = chaosPlan(60);

/** The chaos plan at another replay speed (the scale proof's throughput phase raises it). */
export function chaosPlan(speed: number): string {
  return `apiVersion: kokex/v1
kind: Plan
metadata:
  name: ${PLAN}
  description: the demo plan, trading often, for the chaos harness
spec:
  venue: { name: okx, mode: sim, sim: { speed: ${speed} } }
  instrument: ${INST}
  timeframe: ${TF}
  data: { window: 1d, sources: [venue], scanEvery: 1h }
  model: { name: kronos, preset: shipped, maxAge: 7d, retrain: { schedule: 24h, device: auto } }
  forecast: { lookback: 96, horizon: 24, paths: 32 }
  agent: { provider: offline-policy, triggers: [auto_inference] }
  risk:
    maxNotional: 1000
    maxPositionNotional: 3000
    maxDailyLoss: 150
    maxDrawdown: 0.1
    maxOpenOrders: 10
    orderRate: { perMinute: 120, perHour: 6000 }
    priceBand: 0.05
    maxDataAgeBars: 3
    requireTradeableForecast: false
`;
}

/** The hosts: one per group of kinds (the simulator in its own process, as a venue is). */
export const CHAOS_HOSTS: Record<string, string[]> = {
  sim: ['okx-sim'],
  data: ['feed', 'validator', 'clock'],
  inferencer: ['inferencer'],
  agent: ['agent'],
  guard: ['risk-guard'],
  executor: ['executor'],
};

export interface ChaosOptions {
  /** Length of the chaos phase. */
  minutes: number;
  /** Seed of the kill schedule. Default: the time. */
  seed?: number;
  /** Seconds between host kills. Default: 20 (at most a quarter of the run). */
  killEveryS?: number;
  /** The harness's own manual intents, one per this many ms (beside the agent's). Default 1000. */
  intentEveryMs?: number;
  /** Progress lines. Default: none. */
  print?: (line: string) => void;
  /** Keep the temp directory (logs, stores). Default: removed unless the run failed to start. */
  keep?: boolean;
  /** The forgeries to inject. Default: all of FORGERIES. */
  forge?: readonly Forgery[];
}

/**
 * `liveCandle`: a core-NATS live candle at 0.0001 dated 2036 (what the guard prices from), then a
 * probe intent worth 8x maxNotional; `storedCandle`: the same bar on `kokex.md.candle` (which
 * MD_CANDLES stores when no NATS users stop it); `oversized`: a ~900 KiB intent and raw candle;
 * `approval`: forged approvals (0.1 ct, and 1e999); `fill`: a forged fill of 5 ct.
 */
export const FORGERIES = ['liveCandle', 'storedCandle', 'oversized', 'approval', 'fill'] as const;
export type Forgery = (typeof FORGERIES)[number];

export interface ForgedResult {
  what: string;
  /** True when the system acted on it (see `how`). */
  actedOn: boolean;
  how: string;
}

export interface ChaosReport {
  minutes: number;
  seed: number;
  kills: Record<string, number>;
  natsKills: number;
  simRestarts: number;
  candles: CandleAudit[];
  intents: number;
  harnessIntents: number;
  verdicts: number;
  approvals: number;
  fills: number;
  /** Orders whose fill events were stored twice (pushed, then looked up by a reconciliation): reported, not counted against the run. */
  fillsStoredTwice: number;
  /**
   * What the executor's reconciliations found (kind: client order ids): the venue's truth repairing
   * what a kill left unsaid (a fill the killed executor never reported). Reported: the positions
   * below say whether the books ended agreeing.
   */
  reconcileDifferences: Record<string, string[]>;
  intentsWithoutVerdict: number;
  verdictsWithoutIntent: number;
  approvalsWithoutVerdict: number;
  verdictsTwice: number;
  clientOrderIdsPlacedTwice: number;
  venueOrdersTwice: number;
  positions: Array<{
    inst: string;
    guard: number | null;
    guardRebuilt: number | null;
    executorFills: number;
    executorVenueView: number | null;
    venue: number | null;
  }>;
  forged: ForgedResult[];
  forgedActedOn: number;
  latencyMs: { p50: number; p99: number; max: number; n: number };
  /** Consumer lag left on ORDERS and MD_CANDLES at the end (0 when everything drained). */
  lagAtEnd: Record<string, number>;
  tmp?: string;
}

/** `orders` for the harness's own intents: alternate buys and sells so the position stays small. */
export function manualIntent(n: number, size: number, id: string) {
  return {
    plan: PLAN,
    venue: 'okx',
    inst: INST,
    side: n % 2 === 0 ? ('buy' as const) : ('sell' as const),
    size,
    type: 'market' as const,
    clientOrderId: id,
    origin: { kind: 'manual' as const, who: 'chaos', why: 'chaos harness order flow' },
    basis: { kind: 'manual' as const },
  };
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const print = o.print ?? (() => undefined);
  const seed = o.seed ?? Date.now() % 1_000_000;
  const random = rng(seed);
  const forge = new Set<Forgery>(o.forge ?? FORGERIES);
  const durationMs = Math.round(o.minutes * 60_000);
  const killEveryMs = Math.min((o.killEveryS ?? 20) * 1000, Math.max(10_000, durationMs / 4));
  // The simulator on a free port of its own (KOKEX_SIM_PORT for every host), so a run never meets another demo's.
  const simPort = await freePort();
  const tmp = mkdtempSync(join(tmpdir(), 'kokex-chaos-'));
  const planFile = join(tmp, 'chaos-plan.yaml');
  writeFileSync(planFile, CHAOS_PLAN);
  const nats = new NatsNode('nats', await freePort(), join(tmp, 'js'));
  await nats.start();
  print(`nats-server ${nats.url}, store ${nats.storeDir}; logs in ${logDirOf(tmp)}; seed ${seed}`);
  const bus: Bus = await connectBus({ url: nats.url, name: 'kokex-chaos', reconnect: true });
  const hosts = Object.entries(CHAOS_HOSTS).map(
    ([name, kinds]) =>
      new HostProcess(
        name,
        kinds,
        { NATS_URL: nats.url, KOKEX_HOME: join(tmp, 'home', name), KOKEX_SIM_PORT: String(simPort) },
        logDirOf(tmp),
      ),
  );
  const byName = (name: string) => hosts.find((h) => h.name === name) as HostProcess;
  let failed = true;
  try {
    await bus.provision();
    await applyPlan(bus, await loadPlanFile(planFile), planFile);
    for (const h of hosts) h.start();
    for (const h of hosts) if (!(await h.waitRunning(180_000))) throw new Error(`host ${h.name} did not start:\n${h.tail()}`);
    print(`hosts running: ${hosts.map((h) => `${h.name} (${h.kinds.join(',')})`).join('; ')}`);

    // Verdicts as they pass (core NATS): the harness waits on them; the audit reads the stream.
    const verdicts = new Map<string, { decision: string; reason: string }>();
    const sub = bus.nc.subscribe('kokex.order.verdict.>', {
      callback: (_e, m) => {
        const env = envelopeOf({ seq: 0, subject: m.subject, data: m.data, storedAt: 0 });
        if (env?.data?.clientOrderId) verdicts.set(env.data.clientOrderId, { decision: env.data.decision, reason: env.data.reason });
      },
    });
    // The system trades before the chaos starts: the first verdict of a harness intent.
    const warm = `chaoswarm${seed}`;
    const warmed = await until(
      async () => {
        if (verdicts.has(warm)) return true;
        await publishIntent(bus, manualIntent(0, 0.1, warm));
        return false;
      },
      180_000,
      3000,
    );
    if (!warmed) throw new Error(`no verdict for a first intent within 180 s; guard said:\n${byName('guard').tail()}`);
    print(`trading: first verdict ${JSON.stringify(verdicts.get(warm))}; chaos for ${o.minutes} min`);

    const start = Date.now();
    const at = (f: number) => start + f * durationMs;
    const harnessIds: string[] = [warm];
    const publishedAt = new Map<string, number>();
    const forgedIds = new Set<string>();
    const skipCandleIds = new Set<string>();
    const injected: Record<string, { id: string; at: number }> = {};
    let intents = 0;
    let natsKills = 0;
    let simRestarts = 0;
    let probe: string | undefined;
    const px = async () => (await lastBar(bus))?.close ?? 400;

    const allSteps: Array<{ at: number; kind: string; done: boolean; run: () => Promise<void> }> = [
      {
        at: at(0.15),
        kind: 'candle',
        done: false,
        run: async () => {
          // A crazy price ten years ahead on core NATS: live (what the guard prices from) and closed (MD_CANDLES captures it).
          const ts = Date.UTC(2036, 0, 1);
          const bar = {
            venue: 'okx',
            inst: INST,
            tf: TF,
            ts,
            open: 0.0001,
            high: 0.0001,
            low: 0.0001,
            close: 0.0001,
            volume: 1,
            confirmed: true,
          };
          const live = { id: `chaos-live-${seed}`, time: Date.now() + 10 * 365 * 86_400_000, eventTime: ts + 60_000, source: 'feed' };
          if (forge.has('liveCandle')) bus.emit(CandleContract, subject('live', { venue: 'okx', inst: INST, tf: TF }), bar, live);
          if (forge.has('storedCandle')) {
            const closed = { ...live, id: `chaos-candle-${seed}` };
            bus.emit(CandleContract, subject('candle', { venue: 'okx', inst: INST, tf: TF }), bar, closed);
            skipCandleIds.add(closed.id);
            injected.candle = { id: closed.id, at: Date.now() };
          }
          await bus.nc.flush();
          await sleep(3000);
          // A buy worth ~8x maxNotional at the real price: MAX_NOTIONAL unless the guard believed the crazy
          // one. A probe judged on something else (expired behind a restarting guard) is sent again.
          const size = Math.ceil((8 * 1000) / ((await px()) * 0.01));
          for (let attempt = 0; attempt < 5; attempt++) {
            const id = `chaosprobe${seed}t${attempt}`;
            probe = id;
            await publishIntent(bus, { ...manualIntent(0, size, id), side: 'buy' });
            harnessIds.push(id);
            await until(() => verdicts.has(id), 60_000, 200);
            const reason = verdicts.get(id)?.reason;
            if (reason && !NOT_ABOUT_PRICE.includes(reason)) break;
          }
          print(
            `injected a core-NATS candle at 0.0001 dated 2036 (${[...forge].filter((f) => f.endsWith('Candle')).join(', ')}); probe intent ${probe} buys ${size} ct`,
          );
        },
      },
      {
        at: at(0.25),
        kind: 'oversized',
        done: false,
        run: async () => {
          // Oversized: an intent of ~900 KiB and a raw candle of ~900 KiB on core NATS (under the 1 MiB max_payload).
          const big = 'x'.repeat(900 * 1024);
          const id = `chaosbig${seed}`;
          const { bytes } = OrderIntentContract.encode(
            { ...manualIntent(0, 0.1, id), refs: { pad: big } },
            { id: `intent:${id}`, source: 'chaos' },
          );
          bus.nc.publish(subject('orderIntent', { plan: PLAN, inst: INST }), bytes);
          const raw = { venue: 'okx', inst: INST, tf: TF, ts: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, confirmed: true, pad: big };
          bus.nc.publish(
            subject('rawCandle', { venue: 'okx', inst: INST, tf: TF }),
            new TextEncoder().encode(
              JSON.stringify({
                type: 'md.candle',
                v: 1,
                id: `chaos-bigraw-${seed}`,
                correlationId: 'x',
                time: Date.now(),
                source: 'chaos',
                data: raw,
              }),
            ),
          );
          await bus.nc.flush();
          forgedIds.add(id);
          injected.oversized = { id, at: Date.now() };
          print('injected an oversized intent and an oversized raw candle (~900 KiB each)');
        },
      },
      {
        at: at(0.35),
        kind: 'nats',
        done: false,
        run: async () => {
          nats.kill9();
          natsKills++;
          print('kill -9 nats-server');
          await sleep(2000);
          await nats.start();
          print('nats-server restarted on its store');
        },
      },
      {
        at: at(0.45),
        kind: 'approval',
        done: false,
        run: async () => {
          // Forged approvals (no verdict behind them): a plausible one, and one of size 1e999 (Infinity once parsed).
          const price = await px();
          const a = `chaosforgeda${seed}`;
          const b = `chaosforgedb${seed}`;
          const approved = {
            plan: PLAN,
            venue: 'okx',
            inst: INST,
            side: 'buy' as const,
            size: 0.1,
            type: 'limit' as const,
            price: price * 0.9,
            clientOrderId: a,
            reduceOnly: false,
          };
          await bus.publish(ApprovedOrderContract, subject('orderApproved', { venue: 'okx', inst: INST }), approved, {
            id: `approved:${a}`,
            source: 'risk-guard',
          });
          const { bytes } = ApprovedOrderContract.encode({ ...approved, clientOrderId: b }, { id: `approved:${b}`, source: 'risk-guard' });
          const text = new TextDecoder().decode(bytes).replace('"size":0.1', '"size":1e999');
          await bus.js.publish(subject('orderApproved', { venue: 'okx', inst: INST }), new TextEncoder().encode(text), {
            msgID: `approved:${b}`,
          });
          forgedIds.add(a);
          forgedIds.add(b);
          injected.approval = { id: a, at: Date.now() };
          injected.approvalInf = { id: b, at: Date.now() };
          print(`injected forged approvals ${a} (0.1 ct) and ${b} (1e999)`);
        },
      },
      {
        at: at(0.55),
        kind: 'sim',
        done: false,
        run: async () => {
          await byName('sim').stop();
          byName('sim').start();
          simRestarts++;
          print('simulator restarted');
          await byName('sim').waitRunning(120_000);
        },
      },
      {
        at: at(0.65),
        kind: 'fill',
        done: false,
        run: async () => {
          // A forged fill of 5 contracts for an order nobody approved, as if from the executor.
          const price = await px();
          const id = `chaosforgedfill${seed}`;
          const now = Date.now();
          const event = {
            venue: 'okx',
            inst: INST,
            plan: PLAN,
            clientOrderId: id,
            venueOrderId: '9999999',
            kind: 'filled' as const,
            side: 'buy' as const,
            type: 'market' as const,
            size: 5,
            filledSize: 5,
            avgPrice: price,
            fill: { price, size: 5, fee: 0, tradeId: '9999999' },
            venueTs: now,
            receivedAt: now,
          };
          await bus.publish(OrderEventContract, subject('orderEvent', { venue: 'okx', inst: INST }), event, {
            id: `event:${id}:filled`,
            source: 'executor',
          });
          forgedIds.add(id);
          injected.fill = { id, at: Date.now() };
          print(`injected a forged fill ${id} (buy 5 ct)`);
        },
      },
    ];

    const wanted = (kind: string) =>
      kind === 'nats' ||
      kind === 'sim' ||
      (kind === 'candle' ? forge.has('liveCandle') || forge.has('storedCandle') : forge.has(kind as Forgery));
    const steps = allSteps.filter((s) => wanted(s.kind));
    // The run: kills on their schedule, one step at a time, and the harness's own order flow.
    const kills: Record<string, number> = {};
    let nextKill = start + killEveryMs;
    let nextIntent = start;
    const pool = hosts.filter((h) => h.name !== 'sim');
    while (Date.now() < start + durationMs) {
      const now = Date.now();
      const step = steps.find((s) => !s.done && s.at <= now);
      if (step) {
        step.done = true;
        await step.run();
        continue;
      }
      if (now >= nextKill) {
        nextKill = now + killEveryMs * (0.75 + random() / 2);
        const candidates = pool.filter((h) => h.running);
        const victim = candidates[Math.floor(random() * candidates.length)];
        if (victim) {
          victim.kill9();
          kills[victim.name] = (kills[victim.name] ?? 0) + 1;
          print(`kill -9 host ${victim.name} (${victim.kinds.join(',')}); restarting it`);
          await sleep(1000);
          victim.start();
        }
        continue;
      }
      if (now >= nextIntent) {
        nextIntent = now + (o.intentEveryMs ?? 1000);
        const id = `chaos${seed}n${++intents}`;
        harnessIds.push(id);
        publishedAt.set(id, now);
        await publishIntent(bus, manualIntent(intents, 0.1, id)).catch(() => {
          // Published while nats-server is down: sent again under the same id once it is back.
          harnessIds.pop();
          intents--;
        });
        continue;
      }
      await sleep(100);
    }
    for (const s of steps.filter((x) => !x.done)) await s.run();
    print('chaos over: waiting for every host to run and the backlog to drain');
    for (const h of hosts) if (!h.running && !(await h.waitRunning(180_000))) print(`host ${h.name} did not come back:\n${h.tail()}`);
    // Trading stops before the books are compared (the harness's own intents already have): what
    // must hold is that the books settle on the venue's truth once nothing trades, so the audit
    // reads them after a reconciliation made after the drain (a margin: a reconciliation while a
    // fill is on its way no longer books a stale position, docs/orders.md).
    await byName('agent').stop();
    const drained = await until(
      async () => {
        const lag = { ...(await streamLag(bus, Streams.orders)) };
        return Object.values(lag).every((n) => n === 0) && harnessIds.every((id) => verdicts.has(id) || forgedIds.has(id));
      },
      120_000,
      1000,
    );
    if (!drained) print('the backlog did not drain within 120 s (counted as it stands)');
    const reconcileSubject = subject('orderReconcile', { plan: PLAN, inst: INST });
    const lastReconcile = async () => (await bus.last(reconcileSubject, Streams.orders).catch(() => undefined))?.seq ?? 0;
    const settledAfter = (await bus.jsm.streams.info(Streams.orders)).state.last_seq;
    if (!(await until(async () => (await lastReconcile()) > settledAfter, 150_000, 1000)))
      print('no reconciliation after the drain within 150 s (counted as it stands)');
    // The guard's status, the executor's venue view and the simulator's saved accounts catch up.
    await sleep(8000);
    sub.unsubscribe();

    // ---- audit
    const lagAtEnd = { ...(await streamLag(bus, Streams.orders)), ...(await streamLag(bus, Streams.candles)) };
    const venue = createOkxVenueAdapter({ mode: 'sim', simPort } as never);
    const venueBars = new Map<string, number[]>();
    const candleRecords = await readStream(bus, Streams.candles, 'kokex.md.candle.>');
    for (const tf of ['1m', '1H']) {
      const series = `okx.${INST}.${tf}`;
      const stored = candleRecords
        .filter((r) => r.subject.endsWith(series))
        .map((r) => Number(envelopeOf(r)?.data?.ts))
        .filter((t) => t < FORGED_AFTER);
      if (!stored.length) continue;
      const ts: number[] = [];
      for await (const page of venue.candleHistory({ inst: INST, tf, since: Math.min(...stored), until: Math.max(...stored) + 1 }))
        for (const c of page) if (c.confirmed !== false) ts.push(c.ts);
      venueBars.set(series, ts);
    }
    const candles = auditCandles(candleRecords, (s) => venueBars.get(s), skipCandleIds);
    const orderRecords = await readStream(bus, Streams.orders, 'kokex.order.>');
    const audit = auditOrders(orderRecords, forgedIds);
    const reconcileDifferences: Record<string, string[]> = {};
    for (const r of orderRecords.filter((x) => x.subject.startsWith('kokex.order.reconcile.'))) {
      for (const d of (envelopeOf(r)?.data?.differences ?? []) as Array<{
        kind: string;
        clientOrderId?: string;
        venue: number;
        book: number;
      }>)
        reconcileDifferences[d.kind] = [
          ...(reconcileDifferences[d.kind] ?? []),
          `${d.clientOrderId ?? '-'} (venue ${d.venue}, book ${d.book})`,
        ];
    }
    const snapshot = await simSnapshot(bus, SIM_KEY);
    const venuePositions = await venue.positions().catch(() => undefined);
    await venue.close().catch(() => undefined);
    const guardStatus = await guardPositions(bus);
    const rebuilt = ordersJson(nats.url);
    const executorView = await (await bus.kv(Buckets.positions))
      .get(`${PLAN}.${INST}`)
      .then((e) => (e?.operation === 'PUT' && e.length ? (e.json<{ size: number }>().size ?? 0) : null));
    const positions = [
      {
        inst: INST,
        guard: guardStatus?.get(INST) ?? (guardStatus ? 0 : null),
        guardRebuilt: rebuilt ? (rebuilt.positions?.[INST]?.qty ?? 0) : null,
        executorFills: round(audit.netFilled.get(INST) ?? 0),
        executorVenueView: executorView,
        venue: venuePositions ? round(venuePositions.filter((p) => p.inst === INST).reduce((n, p) => n + p.size, 0)) : null,
      },
    ];

    const forged: ForgedResult[] = [];
    const probeVerdict = probe ? audit.verdictOf.get(probe)?.data : undefined;
    if (forge.has('liveCandle'))
      forged.push({
        what: 'core-NATS live candle, price 0.0001, dated 2036 (probe intent 8x maxNotional)',
        actedOn: probeVerdict?.decision === 'approve' || probeVerdict?.reason === 'STALE_MARKET_DATA',
        how: probeVerdict ? `probe verdict ${probeVerdict.decision} ${probeVerdict.reason}` : 'probe got no verdict',
      });
    const forecasts = await readStream(bus, Streams.forecasts, 'kokex.forecast.>');
    const forecastOnForged = forecasts.filter((r) => Number(envelopeOf(r)?.data?.asOf) >= FORGED_AFTER).length;
    const storedForged = candleRecords.some((r) => skipCandleIds.has(envelopeOf(r)?.id ?? ''));
    const quality = await readStream(bus, Streams.quality, 'kokex.md.quality.>');
    const poisonedScans = quality.filter((r) => Number(envelopeOf(r)?.data?.latest) >= FORGED_AFTER).length;
    if (injected.candle)
      forged.push({
        what: 'the same candle on kokex.md.candle (closed), read downstream',
        actedOn: forecastOnForged > 0 || poisonedScans > 0,
        how: `stored in MD_CANDLES: ${storedForged ? 'yes (no NATS users in this run)' : 'no'}; forecasts made on it: ${forecastOnForged}; validator scans that took it as the latest bar: ${poisonedScans}`,
      });
    // Where each lost bar went missing: never published raw (the feed), or raw but not accepted (the validator).
    const rawTs = new Set(
      (await readStream(bus, Streams.raw, 'kokex.md.raw.>')).map(
        (r) => `${r.subject.split('.').slice(3).join('.')}|${envelopeOf(r)?.data?.ts}`,
      ),
    );
    for (const c of candles) {
      const venueSet = venueBars.get(c.series) ?? [];
      const storedSet = new Set(candleRecords.filter((r) => r.subject.endsWith(c.series)).map((r) => Number(envelopeOf(r)?.data?.ts)));
      const lost = venueSet.filter((ts) => ts >= (c.firstTs ?? 0) && ts <= (c.lastTs ?? 0) && !storedSet.has(ts));
      c.lostDetail = lost
        .slice(0, 20)
        .map((ts) => `${new Date(ts).toISOString()} ${rawTs.has(`${c.series}|${ts}`) ? 'raw only' : 'never raw'}`);
    }
    const bigStored = orderRecords.some((r) => envelopeOf(r)?.data?.clientOrderId === injected.oversized?.id);
    const after = (t: number | undefined) =>
      t === undefined ? 0 : harnessIds.filter((id) => (publishedAt.get(id) ?? 0) > t && !audit.verdictOf.has(id)).length;
    if (injected.oversized)
      forged.push({
        what: 'oversized intent and raw candle (~900 KiB, core NATS)',
        actedOn: bigStored || audit.verdictOf.has(injected.oversized?.id ?? '?'),
        how: `stored: ${bigStored ? 'yes' : 'no'}; verdict: ${audit.verdictOf.has(injected.oversized?.id ?? '?') ? 'yes' : 'no'}; harness intents left without a verdict: ${after(injected.oversized?.at)}`,
      });
    for (const key of ['approval', 'approvalInf'] as const) {
      if (!injected[key]) continue;
      const id = injected[key]?.id ?? '?';
      const atVenue = snapshot?.ordersByClOrdId.get(id) ?? 0;
      const events = (audit.eventsOf.get(id) ?? []).filter((e) => e.data.kind !== 'rejected').length;
      const guardOpen = rebuilt?.openOrders?.some((x: { clientOrderId: string }) => x.clientOrderId === id) ?? false;
      forged.push({
        what: key === 'approval' ? 'forged approval (0.1 ct, no verdict)' : 'forged approval (size 1e999)',
        actedOn: atVenue > 0 || events > 0 || guardOpen,
        how: `at the venue: ${atVenue}; order events other than a rejection: ${events}${rejectionOf(audit.eventsOf.get(id))}; open in the guard's books: ${guardOpen ? 'yes' : 'no'}`,
      });
    }
    const fillId = injected.fill?.id ?? '?';
    const listed = rebuilt?.fills?.some((f: { clientOrderId: string }) => f.clientOrderId === fillId) ?? false;
    const v = positions[0]?.venue;
    const moved = (x: number | null | undefined) =>
      x !== null && x !== undefined && v !== null && v !== undefined && Math.abs(x - v - 5) < 1e-9;
    if (injected.fill)
      forged.push({
        what: 'forged fill (buy 5 ct of an order nobody approved)',
        actedOn: moved(positions[0]?.guard) || moved(positions[0]?.guardRebuilt),
        how: `guard - venue position: ${fmtDiff(positions[0]?.guard, v)} (live), ${fmtDiff(positions[0]?.guardRebuilt, v)} (rebuilt from ORDERS); listed among the fills by kokex orders: ${listed ? 'yes' : 'no'}`,
      });

    const venueOrdersTwice = snapshot ? [...snapshot.ordersByClOrdId.values()].filter((n) => n > 1).length : Number.NaN;
    failed = false;
    return {
      minutes: o.minutes,
      seed,
      kills,
      natsKills,
      simRestarts,
      candles,
      intents: audit.intents,
      harnessIntents: harnessIds.length,
      verdicts: audit.verdicts,
      approvals: audit.approvals,
      fills: audit.fills,
      fillsStoredTwice: audit.fillsStoredTwice.length,
      reconcileDifferences,
      intentsWithoutVerdict: audit.intentsWithoutVerdict.length,
      verdictsWithoutIntent: audit.verdictsWithoutIntent.length,
      approvalsWithoutVerdict: audit.approvalsWithoutVerdict.length,
      verdictsTwice: audit.verdictsTwice.length,
      clientOrderIdsPlacedTwice: audit.placedTwice.length,
      venueOrdersTwice,
      positions,
      forged,
      forgedActedOn: forged.filter((f) => f.actedOn).length,
      latencyMs: {
        p50: percentile(audit.latencies, 0.5),
        p99: percentile(audit.latencies, 0.99),
        max: Math.max(...audit.latencies),
        n: audit.latencies.length,
      },
      lagAtEnd,
      ...(o.keep ? { tmp } : {}),
    };
  } finally {
    await Promise.all(hosts.map((h) => h.stop(10_000).catch(() => undefined)));
    for (const h of hosts) h.close();
    await bus.close().catch(() => undefined);
    await nats.stop();
    if (!o.keep && !failed) rmSync(tmp, { recursive: true, force: true });
    else print(`kept ${tmp}`);
  }
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;
const fmtDiff = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? 'n/a' : String(round(a - b));

/** The positions the running risk guard reports in its status (`kokex-actors`), newest first. */
export async function guardPositions(bus: Bus): Promise<Map<string, number> | undefined> {
  const kv = await bus.kv(Buckets.actors);
  let best: { at: number; positions: Map<string, number> } | undefined;
  for await (const key of await kv.keys('risk-guard.>')) {
    const entry = await kv.get(key);
    if (entry?.operation !== 'PUT' || entry.length === 0) continue;
    const status = entry.json<{
      updatedAt: number;
      detail: { plans?: Array<{ plan: string; positions: Array<{ inst: string; qty: number }> }> };
    }>();
    const plan = status.detail.plans?.find((p) => p.plan === PLAN);
    if (plan && (!best || status.updatedAt > best.at))
      best = { at: status.updatedAt, positions: new Map(plan.positions.map((p) => [p.inst, p.qty])) };
  }
  return best?.positions;
}

/** `kokex orders demo --json`: the plan's books as the guard rebuilds them from ORDERS. */
export function ordersJson(url: string): any {
  const r = spawnSync(process.execPath, [KOKEX, 'orders', PLAN, '--json', '--fills', '1000000'], {
    cwd: ROOT,
    env: { ...process.env, NATS_URL: url },
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return undefined;
  }
}

/** The report as the table issue 12 asks for. */
/** What a run's report fails on, one line each; empty when every loss, duplicate, disagreement and forged-acted-on count is 0. */
export function chaosFailures(report: ChaosReport): string[] {
  const p = report.positions[0];
  // Out of order is in the table, not in the verdict: a bar repaired from the venue after an outage is stored after later ones.
  return [
    ...report.candles
      .filter((c) => c.lost !== 0 || c.duplicated !== 0)
      .map((c) => `candles ${c.series}: lost ${c.lost}, duplicated ${c.duplicated}`),
    ...(report.intentsWithoutVerdict + report.verdictsWithoutIntent + report.approvalsWithoutVerdict + report.clientOrderIdsPlacedTwice !==
    0
      ? ['intents, verdicts, approvals or client order ids unmatched']
      : []),
    ...(report.venueOrdersTwice !== 0 ? ['an order placed twice at the venue'] : []),
    ...(report.forgedActedOn !== 0 ? ['a forged message acted on'] : []),
    ...(p === undefined || p.venue === null ? ['no venue position read'] : []),
    ...(p && p.guard !== p.venue ? [`the running guard's position ${p.guard} is not the venue's ${p.venue}`] : []),
    ...(p && p.executorFills !== p.venue ? [`the executor's fills net ${p.executorFills}, not the venue's ${p.venue}`] : []),
    // The books `kokex orders` rebuilds from ORDERS are what a restarted guard without a snapshot would hold.
    ...(p && p.guardRebuilt !== p.venue ? [`the books rebuilt from ORDERS hold ${p.guardRebuilt}, not the venue's ${p.venue}`] : []),
  ];
}

export function chaosTable(r: ChaosReport): string {
  const rows: Array<[string, string | number]> = [
    [
      'run',
      `${r.minutes} min, seed ${r.seed}; host kills ${
        Object.entries(r.kills)
          .map(([k, n]) => `${k}×${n}`)
          .join(' ') || 'none'
      }; nats-server kills ${r.natsKills}; simulator restarts ${r.simRestarts}`,
    ],
  ];
  for (const c of r.candles) {
    rows.push([`candles ${c.series}`, `${c.stored} stored: lost ${c.lost}, duplicated ${c.duplicated}, out of order ${c.outOfOrder}`]);
    if (c.lostDetail?.length) rows.push(['  lost', c.lostDetail.join(', ')]);
  }
  rows.push(
    [
      'intents',
      `${r.intents} (${r.harnessIntents} from the harness), verdicts ${r.verdicts}, approvals ${r.approvals}, fills ${r.fills} (orders with a fill stored twice: ${r.fillsStoredTwice})`,
    ],
    [
      'reconciliation differences',
      Object.entries(r.reconcileDifferences ?? {})
        .map(([k, l]) => `${k} ${l.length}: ${l.slice(0, 4).join(', ')}${l.length > 4 ? ', …' : ''}`)
        .join('; ') || 'none',
    ],
    ['intents without a verdict', r.intentsWithoutVerdict],
    ['verdicts without an intent', r.verdictsWithoutIntent],
    ['approvals without a verdict', r.approvalsWithoutVerdict],
    ['intents with two verdicts', r.verdictsTwice],
    ['client order ids placed twice', `${r.clientOrderIdsPlacedTwice} (executor events), ${r.venueOrdersTwice} (venue's accounts)`],
  );
  for (const p of r.positions)
    rows.push([
      `position ${p.inst}`,
      `guard ${p.guard ?? 'n/a'} | guard rebuilt ${p.guardRebuilt ?? 'n/a'} | executor fills ${p.executorFills} | executor's venue view ${p.executorVenueView ?? 'n/a'} | venue ${p.venue ?? 'n/a'}`,
    ]);
  rows.push(['forged messages acted on', `${r.forgedActedOn} of ${r.forged.length}`]);
  for (const f of r.forged) rows.push([`  ${f.actedOn ? 'ACTED ON' : 'ignored '}`, `${f.what}: ${f.how}`]);
  rows.push([
    'intent → verdict',
    `p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms (${r.latencyMs.n} pairs)`,
  ]);
  rows.push([
    'consumer lag at the end',
    Object.entries(r.lagAtEnd)
      .map(([k, n]) => `${k} ${n}`)
      .join(', '),
  ]);
  return table(rows);
}

/** The newest real closed bar stored (the harness's own forgeries are dated 2036 and skipped). */
export async function lastBar(bus: Bus): Promise<{ close: number; eventTime: number } | undefined> {
  const m = await bus.last(subject('candle', { venue: 'okx', inst: INST, tf: TF }), Streams.candles).catch(() => undefined);
  const env = m && envelopeOf({ ...m, storedAt: 0 });
  if (!env || Number(env.data?.ts) >= FORGED_AFTER) return undefined;
  return { close: Number(env.data.close), eventTime: env.eventTime ?? Number(env.data.ts) + 60_000 };
}

/** Publishes a manual intent stamped with the market time of the newest bar, as a decision on it would be. */
export async function publishIntent(
  bus: Bus,
  intent: Omit<ReturnType<typeof manualIntent>, 'type'> & { type: 'market' | 'limit'; price?: number },
): Promise<void> {
  const bar = await lastBar(bus);
  await bus.publish(OrderIntentContract, subject('orderIntent', { plan: PLAN, inst: INST }), intent, {
    id: `intent:${intent.clientOrderId}`,
    source: 'chaos',
    ...(bar ? { eventTime: bar.eventTime } : {}),
  });
}

/** `; rejected: CODE` for the executor's rejection of a forged approval. */
function rejectionOf(events: RawEnvelope[] | undefined): string {
  const r = events?.find((e) => e.data.kind === 'rejected');
  return r ? `; rejected: ${String(r.data.reason).split(':')[0]}` : '';
}
