import { resolve } from 'node:path';
import {
  ActorHost,
  ApprovedOrderContract,
  applyPlan,
  type Bus,
  createLogger,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
  parsePlan,
  Streams,
  subject,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { OrdersTail, PlanBooks } from '@kokex/actor-risk-guard';
import { machine } from './lib/report.js';

/**
 * How long the risk guard takes to rebuild its books from ORDERS (issue 12 finding 3): a store of
 * `BENCH_ORDERS_MESSAGES` (50,000) messages as the order path writes them (intent, verdict,
 * approval, accepted, filled per order), read the old way (one `next_by_subj` request per message,
 * each waiting for the last) and the new way (`OrdersTail`: requests by sequence, 256 in flight),
 * then a whole guard started in a host on that store (its start includes the rebuild).
 */
const REPO = resolve(import.meta.dirname, '../..');
const MESSAGES = Number(process.env.BENCH_ORDERS_MESSAGES ?? 50_000);
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

async function fill(bus: Bus, orders: number): Promise<void> {
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
    const { envelope } = await bus.publish(OrderIntentContract, subject('orderIntent', { plan: 'rebuild', inst: SWAP }), intent, {
      ...meta,
      id: `intent:${clientOrderId}`,
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
  for (let i = 0; i < orders; i += PARALLEL) {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, orders - i) }, (_, k) => one(i + k)));
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

const nats = await startTestNats();
try {
  await applyPlan(nats.bus, plan);
  const t0 = performance.now();
  await fill(nats.bus, Math.ceil(MESSAGES / 5));
  const stored = (await nats.bus.jsm.streams.info(Streams.orders)).state.messages;
  console.log(`machine: ${machine()}`);
  console.log(`ORDERS filled with ${stored} messages in ${seconds(performance.now() - t0)}`);

  let books = new PlanBooks();
  let t = performance.now();
  const before = await oneByOne(nats.bus, books);
  const beforeMs = performance.now() - t;
  const beforeQty = books.ledgerOf('rebuild').position(SWAP).qty;

  books = new PlanBooks();
  const tail = new OrdersTail(nats.bus, (s, d) => books.apply(s, d));
  t = performance.now();
  await tail.catchUp();
  const afterMs = performance.now() - t;
  const afterQty = books.ledgerOf('rebuild').position(SWAP).qty;
  if (tail.read !== before || afterQty !== beforeQty)
    throw new Error(`the two reads disagree: ${before} vs ${tail.read} messages, position ${beforeQty} vs ${afterQty}`);
  console.log(
    `guard book rebuild from ${before} ORDERS messages: one request at a time ${seconds(beforeMs)} (${(before / (beforeMs / 1000)).toFixed(0)} msg/s); ` +
      `ordered consumer, 1,000 a pull: ${seconds(afterMs)} (${(tail.read / (afterMs / 1000)).toFixed(0)} msg/s), ${tail.requests} requests; same book (${books.ledgerOf('rebuild').orders.size} orders)`,
  );

  const host = new ActorHost({ bus: nats.bus, log, kinds: ['risk-guard'], config: { 'risk-guard': { pollMs: 1000 } }, heartbeatMs: 1000 });
  await host.loadPlugin(resolve(REPO, 'actors/risk-guard'));
  t = performance.now();
  await host.start();
  const started = performance.now() - t;
  const status = host.statuses().find((s) => s.kind === 'risk-guard');
  console.log(
    `risk guard start in a host on that store (rebuild included): ${seconds(started)}, state ${status?.state}, stream position ${status?.detail.streamPosition}`,
  );
  await host.stop();
} finally {
  await nats.stop();
}
