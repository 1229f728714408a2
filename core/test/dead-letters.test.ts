import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CandleContract,
  DEAD_LETTER_EXCERPT_BYTES,
  DeadLetterContract,
  DurableWorker,
  KOKEX_TOPOLOGY,
  Streams,
  subject,
  utf8Excerpt,
} from '../src/index.js';
import { eventually, startTestNats, type TestNats } from '../src/testing/index.js';
import { WorkContract } from './fixtures/plugins/counter.js';
import { provisionWork } from './support.js';

const encoder = new TextEncoder();

/** A well-formed work envelope whose payload fails the contract and is ~`bytes` long. */
function oversizedWork(bytes: number): Uint8Array {
  return encoder.encode(
    JSON.stringify({ type: 'test.work', v: 1, id: 'huge', correlationId: 'huge', time: 1, source: 't', data: { n: 'x'.repeat(bytes) } }),
  );
}

describe('oversized and undeliverable messages never stall a consumer', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('cuts excerpts on a character boundary', () => {
    const bytes = encoder.encode('ab€€');
    expect(utf8Excerpt(bytes, 3)).toEqual({ text: 'ab', truncated: true });
    expect(utf8Excerpt(bytes, 5)).toEqual({ text: 'ab€', truncated: true });
    expect(utf8Excerpt(bytes, 100)).toEqual({ text: 'ab€€', truncated: false });
  });

  it('dead-letters a 900 KB message with a bounded excerpt, and the next message is handled', async () => {
    await provisionWork(nats.bus, 'BIG_WORK', ['big.>']);
    const handled: number[] = [];
    const worker = new DurableWorker(
      nats.bus,
      { stream: 'BIG_WORK', durable: 'big', filter: 'big.>', contract: WorkContract, maxInFlight: 1, maxDeliver: 2, backoffMs: [20] },
      async (env) => {
        handled.push(env.data.n);
      },
    );
    await worker.start();
    await nats.bus.js.publish('big.a', oversizedWork(900_000));
    await nats.bus.publish(WorkContract, 'big.a', { n: 7 });
    await eventually(() => handled.length === 1 && worker.stats.deadLettered === 1);
    expect(handled).toEqual([7]);
    const dlq = await nats.bus.js.consumers.get(Streams.deadLetters, { filter_subjects: subject('dlq', { stream: 'BIG_WORK', consumer: 'big' }) });
    const m = await dlq.next({ expires: 2000 });
    const letter = DeadLetterContract.decode(m?.data ?? new Uint8Array()).data;
    expect(letter.truncated).toBe(true);
    expect(letter.payloadBytes).toBeGreaterThan(900_000);
    expect(encoder.encode(letter.payload).length).toBeLessThanOrEqual(DEAD_LETTER_EXCERPT_BYTES);
    expect(letter.error.message.length).toBeLessThanOrEqual(2001);
    expect(m?.data.length ?? 0).toBeLessThan(16_384);
    await worker.drain();
    expect(await worker.lag()).toBe(0);
  });

  it('terminates a message whose dead letter cannot be published, instead of redelivering it forever', async () => {
    await provisionWork(nats.bus, 'NODLQ_WORK', ['nodlq.>']);
    await nats.bus.jsm.streams.delete(Streams.deadLetters);
    const failed: string[] = [];
    const handled: number[] = [];
    const worker = new DurableWorker(
      nats.bus,
      { stream: 'NODLQ_WORK', durable: 'nodlq', filter: 'nodlq.>', contract: WorkContract, maxInFlight: 1, maxDeliver: 2, backoffMs: [20] },
      async (env) => {
        handled.push(env.data.n);
      },
      { onDeadLetterFailed: (subj) => failed.push(subj) },
    );
    try {
      await worker.start();
      await nats.bus.js.publish('nodlq.a', encoder.encode('{"not":"an envelope"}'));
      await nats.bus.publish(WorkContract, 'nodlq.a', { n: 1 });
      await eventually(() => handled.length === 1 && worker.stats.deadLetterFailed === 1);
      expect(failed).toEqual(['nodlq.a']);
      // Nothing comes back: the bad message was terminated, not nak'ed.
      await new Promise((r) => setTimeout(r, 300));
      expect(worker.stats.delivered).toBe(2);
      await worker.drain();
      expect(await worker.lag()).toBe(0);
    } finally {
      await nats.bus.provision(KOKEX_TOPOLOGY);
    }
  });

  it('streams refuse a message above their family bound at publish', async () => {
    const subj = subject('candle', { venue: 'okx', inst: 'BIG-USDT', tf: '1m' });
    const stored = await nats.bus.jsm.streams.info(Streams.candles);
    expect(stored.config.max_msg_size).toBe(16 * 1024);
    await expect(nats.bus.js.publish(subj, new Uint8Array(20_000))).rejects.toThrow(/maximum|size/i);
    // A real candle is far below the bound.
    const bar = { venue: 'okx', inst: 'BIG-USDT', tf: '1m', ts: 1_700_000_040_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 3, confirmed: true };
    expect((await nats.bus.publish(CandleContract, subj, bar)).seq).toBeGreaterThan(0);
  });
});
