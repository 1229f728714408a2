import { KOKEX_TOPOLOGY, Streams } from '@kokex/core';
import { startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersTail } from '../src/index.js';

let nats: TestNats;

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  await nats?.stop();
});

const publish = async (from: number, count: number) => {
  const seqs: number[] = [];
  for (let i = from; i < from + count; i += 250) {
    const acks = await Promise.all(
      Array.from({ length: Math.min(250, from + count - i) }, (_, k) =>
        nats.bus.js.publish(`kokex.order.event.okx.X${(i + k) % 3}`, new TextEncoder().encode(String(i + k))),
      ),
    );
    seqs.push(...acks.map((a) => a.seq));
  }
  return seqs;
};

describe('the guard reads ORDERS in batches', () => {
  it('rebuilds from thousands of messages in a handful of requests, in order, skipping its own and removed ones', async () => {
    const seqs = await publish(0, 3000);
    // One removed by the stream (as its age limit would) and two of the guard's own.
    await nats.bus.jsm.streams.deleteMessage(Streams.orders, seqs[10] as number);
    const seen: number[] = [];
    const tail = new OrdersTail(nats.bus, (_subject, _data, seq) => void seen.push(seq));
    tail.markOwn(seqs[20] as number);
    tail.markOwn(seqs[2999] as number);
    await tail.catchUp();
    const expected = seqs.filter((_, i) => i !== 10 && i !== 20 && i !== 2999);
    expect(seen).toEqual(expected);
    expect(tail.read).toBe(2997);
    expect(tail.position).toBe(seqs[2999]);
    // One request per 1,000 messages (and one for the stream's last sequence), not one per message.
    expect(tail.requests).toBeLessThanOrEqual(8);

    const more = await publish(3000, 5);
    const before = tail.requests;
    await tail.catchUp();
    expect(seen.slice(-5)).toEqual(more);
    expect(tail.requests - before).toBeLessThanOrEqual(3);
    // Nothing new: no pull at all.
    const idle = tail.requests;
    await tail.catchUp();
    expect(tail.requests - idle).toBe(1);
    await tail.close();
  }, 60_000);

  it('keeps ORDERS 30 days: positions come back from the newest reconciliation, not from the whole history', () => {
    expect(KOKEX_TOPOLOGY.streams.find((s) => s.name === Streams.orders)?.maxAgeMs).toBe(30 * 24 * 3_600_000);
  });
});
