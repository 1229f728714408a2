import { DeadLetterContract, type OrderEvent, OrderEventContract, Streams, subject } from '@kokex/core';
import { eventually } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanSummary } from '../src/index.js';
import { eventOf, type Fixture, intentOf, marketTime, orderPlan, PRICE, SWAP, sendIntent, startFixture, verdictOf } from './support.js';

/**
 * Issue 12 finding 4: the guard booked order events for orders it never approved (a forged fill
 * moved its position) and dropped events it could not decode. Its books now hold only what it
 * approved and what the executor reported about those orders; everything else is dead-lettered
 * on `kokex.dlq.ORDERS.risk-guard-books`.
 */
let f: Fixture;

beforeAll(async () => {
  f = await startFixture([orderPlan('book', { requireTradeableForecast: 'false' })]);
}, 60_000);
afterAll(() => f?.stop());

const summary = () => (f.path.status('risk-guard')?.detail.plans as PlanSummary[] | undefined)?.find((p) => p.plan === 'book');
const position = () => summary()?.positions.find((p) => p.inst === SWAP)?.qty ?? 0;

function forgedFill(clientOrderId: string, size: number, price: number): OrderEvent {
  const t = marketTime();
  return {
    venue: 'okx',
    inst: SWAP,
    plan: 'book',
    clientOrderId,
    kind: 'filled',
    side: 'buy',
    type: 'market',
    size,
    filledSize: size,
    avgPrice: price,
    fill: { price, size, fee: 0 },
    venueTs: t,
    receivedAt: t,
  };
}

const eventSubject = subject('orderEvent', { venue: 'okx', inst: SWAP });

async function deadLetters() {
  const out: Array<{ subject: string; streamSeq: number; refusal: unknown; code: string }> = [];
  for (let seq = 1; ; ) {
    const msg = await f.bus.jsm.streams
      .getMessage(Streams.deadLetters, { next_by_subj: 'kokex.dlq.ORDERS.risk-guard-books', seq } as never)
      .catch(() => null);
    if (!msg) return out;
    const d = DeadLetterContract.decode(msg.data).data;
    out.push({ subject: d.subject, streamSeq: d.streamSeq, refusal: d.error.data?.refusal, code: d.error.code });
    seq = msg.seq + 1;
  }
}

describe('the guard books only what it approved, as the executor reported it', () => {
  it('moves no position on forged fills, and dead-letters each of them and an event it cannot decode', async () => {
    // A fill of 5,000 contracts for a client order id the guard never approved, "from the executor".
    await f.bus.publish(OrderEventContract, eventSubject, forgedFill('forged1', 5000, 0.0001), { source: 'executor-0badf00d' });
    // An order the guard did approve (a resting limit), and a fill for it published by someone else.
    const resting = intentOf('book', { type: 'limit', price: PRICE * 0.97 });
    await sendIntent(f.bus, resting);
    expect(await verdictOf(f.bus, resting.clientOrderId)).toMatchObject({ decision: 'approve' });
    await eventOf(f.bus, resting.clientOrderId, 'accepted');
    await f.bus.publish(OrderEventContract, eventSubject, forgedFill(resting.clientOrderId, 1, PRICE * 0.97), { source: 'agent-12345678' });
    // The executor's rejection with `size: null` (finding 4): the contract refuses it.
    const broken = { ...OrderEventContract.envelope(forgedFill('broken1', 1, PRICE), { source: 'executor-0badf00d' }) };
    (broken.data as unknown as Record<string, unknown>).size = null;
    await f.bus.js.publish(eventSubject, new TextEncoder().encode(JSON.stringify(broken)));

    await eventually(async () => (await deadLetters()).length >= 3, 15_000);
    const letters = await deadLetters();
    expect(letters.map((l) => l.refusal).sort()).toEqual(['not-approved', 'not-from-executor', 'undecodable']);
    expect(letters.every((l) => l.code === 'RISK_UNBOOKED' && l.subject === eventSubject && l.streamSeq > 0)).toBe(true);
    expect(position()).toBe(0);
    expect(summary()?.fills).toBe(0);
    expect(summary()?.openOrders).toBe(1);
  }, 60_000);

  it('still books the executor’s fill of an approved order, by exactly its size', async () => {
    const buy = intentOf('book', { size: 2 });
    await sendIntent(f.bus, buy);
    expect(await verdictOf(f.bus, buy.clientOrderId)).toMatchObject({ decision: 'approve' });
    // (Waiting on the venue, not the stored events: one of those no longer decodes.)
    await eventually(() => [...(f.sim.account()?.orders.values() ?? [])].some((o) => o.clOrdId === buy.clientOrderId), 15_000);
    f.sim.step();
    await eventually(() => position() === 2, 15_000);
    expect(summary()?.fills).toBe(1);
    expect((await deadLetters()).length).toBe(3);
  }, 60_000);
});
