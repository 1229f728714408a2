import { applyPlan, DeadLetterContract, Streams, subject } from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import type { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approval,
  approve,
  awaitEvent,
  eventsOf,
  executorSettings,
  forge,
  hostWith,
  PLUGIN_DIRS,
  simPlan,
  simulator,
  verdictFor,
  venuesReady,
} from './support.js';

let nats: TestNats;
let sim: OkxSimulator;
let port: number;

beforeAll(async () => {
  nats = await startTestNats();
  ({ sim, port } = await simulator());
  await applyPlan(nats.bus, simPlan('vet'));
});

afterAll(async () => {
  await sim?.stop();
  await nats?.stop();
});

const atVenue = (id: string) => [...(sim.account()?.orders.values() ?? [])].filter((o) => o.clOrdId === id);

/** Dead letters of the executor's approvals durable, by the client order id in their payload. */
async function deadLettered(clientOrderId: string): Promise<string[]> {
  const errors: string[] = [];
  const dlq = subject('dlq', { stream: Streams.orders, consumer: 'executor-okx' });
  for (let seq = 1; ; ) {
    const msg = await nats.bus.jsm.streams.getMessage(Streams.deadLetters, { next_by_subj: dlq, seq } as never).catch(() => null);
    if (!msg) return errors;
    const letter = DeadLetterContract.decode(msg.data).data;
    if (letter.payload.includes(`"clientOrderId":"${clientOrderId}"`)) errors.push(JSON.stringify(letter.error));
    seq = msg.seq + 1;
  }
}

describe('an approval is placed only when a verdict approved it as it is', () => {
  it('places an approval whose verdict matches; refuses a forged one with a reason code, and never sends it', async () => {
    const host = await hostWith(nats.bus, ['executor'], { executor: { ...executorSettings(port), maxDeliver: 3, retryBackoffMs: [50] } }, [
      PLUGIN_DIRS.okx,
      PLUGIN_DIRS.executor,
    ]);
    try {
      await venuesReady(host);
      await approve(nats.bus, approval('vet', 'good1', { size: 2 }));
      expect(await awaitEvent(nats.bus, 'good1', 'accepted')).toMatchObject({ plan: 'vet', size: 2 });

      // No verdict at all: retried (a verdict may be on its way), then rejected with the code.
      await forge(nats.bus, approval('vet', 'forged1', { size: 5 }));
      const rejected = await awaitEvent(nats.bus, 'forged1', 'rejected', 20_000);
      expect(rejected.reason).toMatch(/^APPROVAL_UNVERIFIED: no verdict for forged1/);
      expect(atVenue('forged1')).toEqual([]);

      // A verdict for other terms: a size, a side, a price, a denial. Dead-lettered, never placed, no event.
      const cases = [
        { id: 'size1', order: approval('vet', 'size1', { size: 50 }), verdict: { size: 1 }, why: /approved size 1, the approval says 50/ },
        {
          id: 'side1',
          order: approval('vet', 'side1', { side: 'sell' }),
          verdict: { side: 'buy' as const },
          why: /side buy, the approval says sell/,
        },
        {
          id: 'price1',
          order: approval('vet', 'price1', { type: 'limit', price: 90_000 }),
          verdict: { price: 1000 },
          why: /price 1000, the approval says 90000/,
        },
        {
          id: 'deny1',
          order: approval('vet', 'deny1'),
          verdict: { decision: 'deny' as const, reason: 'MAX_NOTIONAL' },
          why: /denied it \(MAX_NOTIONAL\)/,
        },
      ];
      for (const c of cases) {
        await verdictFor(nats.bus, c.order, c.verdict);
        await forge(nats.bus, c.order);
      }
      for (const c of cases) {
        await eventually(async () => (await deadLettered(c.id)).length === 1, 15_000);
        expect((await deadLettered(c.id))[0]).toMatch(c.why);
        expect((await deadLettered(c.id))[0]).toMatch(/EXEC_APPROVAL_UNVERIFIED/);
        expect(atVenue(c.id)).toEqual([]);
        expect(await eventsOf(nats.bus, c.id)).toEqual([]);
      }

      // A second approval under a working order's id, with other terms: the real order is untouched.
      await approve(nats.bus, approval('vet', 'rest1', { type: 'limit', price: 1000 }));
      await awaitEvent(nats.bus, 'rest1', 'accepted');
      await forge(nats.bus, approval('vet', 'rest1', { type: 'limit', price: 1000, size: 40 }), 'approved:rest1:again');
      await eventually(async () => (await deadLettered('rest1')).length === 1, 15_000);
      expect(atVenue('rest1').map((o) => [o.sz, o.state])).toEqual([[1, 'live']]);
      expect((await eventsOf(nats.bus, 'rest1')).map((e) => e.kind)).toEqual(['accepted']);

      const venue = (host.statuses()[0]?.detail.venues as Array<{ placed: number }> | undefined)?.[0];
      expect(venue?.placed).toBe(2);
    } finally {
      await host.stop();
    }
  }, 90_000);
});
